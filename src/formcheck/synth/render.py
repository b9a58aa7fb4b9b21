"""A small deterministic rasterizer: a ray-cast room (floor, walls, mat, bed) and a depth-sorted,
Lambert-shaded body drawn with ``cv2.fillConvexPoly``, then mild blur and sensor noise.

The same inputs (and the same seed) give the same pixels: numpy and OpenCV only, no threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from formcheck.synth.body import Body
from formcheck.synth.camera import Camera

# -- palettes (BGR, 0-1) ------------------------------------------------------------------------
SKIN_TONES = [(0.62, 0.74, 0.93), (0.50, 0.64, 0.86), (0.40, 0.54, 0.78), (0.30, 0.42, 0.64),
              (0.20, 0.30, 0.47), (0.55, 0.68, 0.90)]
SHIRTS = [(0.75, 0.35, 0.20), (0.25, 0.25, 0.70), (0.30, 0.55, 0.25), (0.85, 0.85, 0.85), (0.20, 0.20, 0.22),
          (0.55, 0.30, 0.55), (0.20, 0.60, 0.80), (0.65, 0.50, 0.35)]
TROUSERS = [(0.25, 0.18, 0.12), (0.15, 0.15, 0.15), (0.45, 0.40, 0.35), (0.50, 0.30, 0.15), (0.30, 0.30, 0.45)]
HAIR = [(0.08, 0.10, 0.12), (0.15, 0.22, 0.35), (0.30, 0.45, 0.60), (0.55, 0.55, 0.58), (0.10, 0.15, 0.25)]
SOCKS = [(0.90, 0.90, 0.90), (0.15, 0.15, 0.15), (0.40, 0.40, 0.60)]
WALLS = [(0.80, 0.84, 0.86), (0.70, 0.80, 0.85), (0.78, 0.78, 0.70), (0.85, 0.82, 0.80), (0.60, 0.68, 0.70)]
FLOORS = [(0.30, 0.45, 0.60), (0.45, 0.55, 0.62), (0.40, 0.42, 0.45), (0.25, 0.35, 0.45)]
MATS = [(0.55, 0.30, 0.25), (0.35, 0.45, 0.20), (0.50, 0.25, 0.50), (0.25, 0.25, 0.25), (0.60, 0.45, 0.20)]
BEDS = [(0.75, 0.75, 0.78), (0.55, 0.60, 0.70), (0.60, 0.70, 0.60)]


@dataclass
class Appearance:
    """Colours of one person and the room; drawn from the clip's seed."""

    skin: tuple[float, float, float]
    shirt: tuple[float, float, float]
    trousers: tuple[float, float, float]
    hair: tuple[float, float, float]
    socks: tuple[float, float, float]
    wall: tuple[float, float, float]
    floor: tuple[float, float, float]
    mat: tuple[float, float, float]
    bed: tuple[float, float, float]
    shorts: bool
    long_sleeves: bool
    light_dir: np.ndarray  # world, unit, pointing *towards* the light
    light: float  # diffuse strength
    ambient: float
    noise_sigma: float  # sensor noise, 0-255 scale
    blur_sigma: float
    floor_kind: str  # "wood" | "tiles" | "carpet"

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "Appearance":
        def pick(p):
            return tuple(float(c) for c in p[int(rng.integers(len(p)))])

        az = rng.uniform(0, 2 * np.pi)
        el = rng.uniform(np.radians(35), np.radians(75))
        light_dir = np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])
        return cls(
            skin=pick(SKIN_TONES), shirt=pick(SHIRTS), trousers=pick(TROUSERS), hair=pick(HAIR), socks=pick(SOCKS),
            wall=pick(WALLS), floor=pick(FLOORS), mat=pick(MATS), bed=pick(BEDS),
            shorts=bool(rng.random() < 0.3), long_sleeves=bool(rng.random() < 0.5),
            light_dir=light_dir, light=float(rng.uniform(0.55, 0.8)), ambient=float(rng.uniform(0.3, 0.45)),
            noise_sigma=float(rng.uniform(1.0, 2.5)), blur_sigma=float(rng.uniform(0.5, 0.9)),
            floor_kind=str(rng.choice(["wood", "tiles", "carpet"])),
        )

    def to_dict(self) -> dict:
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        d["light_dir"] = self.light_dir.tolist()
        return d


@dataclass
class Room:
    """Static scene elements (world frame, metres, floor y = 0)."""

    back_wall: tuple[np.ndarray, np.ndarray]  # (point, unit normal facing the camera)
    extra_walls: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    mat: tuple[float, float, float, float] | None = None  # x0, x1, z0, z1
    bed: tuple[float, float, float, float, float] | None = None  # x0, x1, z0, z1, height


def _region_colours(body: Body, look: Appearance) -> np.ndarray:
    """(V, 3) BGR albedo per vertex from the bone that moves it most (clothing by body region)."""
    labels = body.bone_labels
    rest = body.rest_vertices
    V = rest.shape[0]
    col = np.empty((V, 3))
    vb = body.vertex_bone
    names = np.array(labels, dtype=object)[vb]
    head_top = body.rest_head("eye.L")[2]
    for i in range(V):
        n = names[i]
        if n.startswith(("finger", "metacarpal", "wrist")):
            c = look.skin
        elif n.startswith("lowerarm"):
            c = look.shirt if look.long_sleeves else look.skin
        elif n.startswith(("upperarm", "shoulder", "clavicle", "spine")):
            c = look.shirt
        elif n.startswith(("foot", "toe")):
            c = look.socks
        elif n.startswith("lowerleg"):
            c = look.skin if look.shorts else look.trousers
        elif n.startswith(("upperleg", "pelvis", "root")):
            c = look.trousers
        elif n.startswith("eye"):
            c = (0.12, 0.12, 0.12)
        else:  # neck, head
            c = look.skin
        col[i] = c
    # waistband: spine vertices below the iliac crest belong to the trousers
    hip_z = body.rest_head("spine04")[2]
    spine = np.array([n.startswith("spine") for n in names])
    col[spine & (rest[:, 2] < hip_z)] = look.trousers
    # hair: head vertices above the eyes and behind the face, and the back of the skull
    head = np.array([n in ("head", "neck03") for n in names])
    ear_y = body.rest_head("head")[1]
    hair = head & (((rest[:, 2] > head_top + 0.035) & (rest[:, 1] > ear_y - 0.085))
                   | ((rest[:, 2] > head_top - 0.03) & (rest[:, 1] > ear_y + 0.02)))
    col[hair] = look.hair
    return col


class Renderer:
    """Renders frames of one clip: one camera, one room, one body appearance."""

    def __init__(self, camera: Camera, room: Room, body: Body, look: Appearance, seed: int) -> None:
        self.camera = camera
        self.room = room
        self.look = look
        self.faces = body.faces
        self.vertex_colour = _region_colours(body, look)
        self.face_colour = self.vertex_colour[self.faces[:, 0]]
        self.rng = np.random.default_rng(seed)
        self.background = self._background()

    # -- room ---------------------------------------------------------------------------------
    def _background(self) -> np.ndarray:
        cam, look = self.camera, self.look
        w, h = cam.size
        u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        dirs_c = np.stack([(u - cam.K[0, 2]) / cam.K[0, 0], (v - cam.K[1, 2]) / cam.K[1, 1], np.ones_like(u)], -1)
        d = dirs_c @ cam.R  # camera -> world directions (R^T applied row-wise)
        o = cam.center
        best_t = np.full((h, w), np.inf)
        img = np.zeros((h, w, 3))
        L = look.light_dir

        def shade(normal: np.ndarray) -> float:
            return look.ambient + 0.9 * look.light * max(0.0, float(normal @ L)) + 0.15

        def plane_hit(p: np.ndarray, n: np.ndarray) -> np.ndarray:
            denom = d @ n
            with np.errstate(divide="ignore", invalid="ignore"):
                t = ((p - o) @ n) / denom
            t[~np.isfinite(t) | (t <= 1e-6)] = np.inf
            return t

        # floor
        t = plane_hit(np.zeros(3), np.array([0.0, 1.0, 0.0]))
        hit = t < best_t
        P = o + d * np.where(np.isfinite(t), t, 0)[..., None]
        base = np.array(look.floor) * shade(np.array([0.0, 1.0, 0.0]))
        if look.floor_kind == "wood":
            tex = 0.9 + 0.1 * np.sin(P[..., 0] * 45.0 + 3 * np.sin(P[..., 2] * 3)) \
                * (0.6 + 0.4 * np.sign(np.sin(P[..., 2] * 6.0)))
        elif look.floor_kind == "tiles":
            tex = np.where((np.abs((P[..., 0] % 0.4) - 0.2) > 0.192) | (np.abs((P[..., 2] % 0.4) - 0.2) > 0.192),
                           0.7, 1.0)
        else:
            tex = 0.95 + 0.05 * np.sin(P[..., 0] * 80) * np.sin(P[..., 2] * 70)
        img[hit] = (base[None, None, :] * tex[..., None])[hit]
        best_t[hit] = t[hit]
        # mat
        if self.room.mat is not None:
            x0, x1, z0, z1 = self.room.mat
            inside = hit & (P[..., 0] >= x0) & (P[..., 0] <= x1) & (P[..., 2] >= z0) & (P[..., 2] <= z1)
            edge = np.minimum.reduce([P[..., 0] - x0, x1 - P[..., 0], P[..., 2] - z0, z1 - P[..., 2]])
            mt = np.array(look.mat) * shade(np.array([0.0, 1.0, 0.0])) * np.where(edge < 0.02, 0.8, 1.0)[..., None]
            img[inside] = mt[inside]
        # walls (behind the person, facing the camera) and extra walls
        for k, (p, n) in enumerate([self.room.back_wall, *self.room.extra_walls]):
            t = plane_hit(p, n)
            hit = t < best_t
            P = o + d * np.where(np.isfinite(t), t, 0)[..., None]
            colour = np.array(look.wall) * (0.97 if k else 1.0)
            base = colour * shade(n)
            skirting = P[..., 1] < 0.08
            wc = np.where(skirting[..., None], base * 0.75, base[None, None, :] * (1 - 0.05 * P[..., 1:2]))
            img[hit] = wc[hit]
            best_t[hit] = t[hit]
        # bed (a box)
        if self.room.bed is not None:
            x0, x1, z0, z1, bh = self.room.bed
            lo, hi = np.array([x0, 0.0, z0]), np.array([x1, bh, z1])
            with np.errstate(divide="ignore", invalid="ignore"):
                t0 = (lo - o) / d
                t1 = (hi - o) / d
            tmin = np.nanmax(np.minimum(t0, t1), axis=-1)
            tmax = np.nanmin(np.maximum(t0, t1), axis=-1)
            hit = (tmax >= tmin) & (tmin > 0) & (tmin < best_t)
            P = o + d * np.where(hit, tmin, 0)[..., None]
            top = np.abs(P[..., 1] - bh) < 1e-3
            base_top = np.array(self.look.bed) * shade(np.array([0.0, 1.0, 0.0]))
            base_side = np.array(self.look.bed) * 0.75 * (look.ambient + 0.3)
            bc = np.where(top[..., None], base_top, base_side)
            img[hit] = bc[hit]
            best_t[hit] = tmin[hit]
        # a little vignetting, as webcams have
        r2 = ((u - w / 2) / w) ** 2 + ((v - h / 2) / h) ** 2
        img *= (1 - 0.35 * r2)[..., None]
        return np.clip(img, 0, 1).astype(np.float32)

    # -- body ---------------------------------------------------------------------------------
    def render(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (V, 3) world -> (BGR uint8 image, body depth map in metres, inf where no body)."""
        cam, look = self.camera, self.look
        w, h = cam.size
        Xc = cam.to_camera(vertices)
        z = Xc[:, 2]
        uv = Xc[:, :2] / np.maximum(z, 1e-6)[:, None] * np.array([cam.K[0, 0], cam.K[1, 1]]) + cam.K[:2, 2]
        F = self.faces
        a, b, c = vertices[F[:, 0]], vertices[F[:, 1]], vertices[F[:, 2]]
        n = np.cross(b - a, c - a)
        nn = np.linalg.norm(n, axis=1)
        n = n / np.maximum(nn, 1e-12)[:, None]
        centre = (a + b + c) / 3
        view = cam.center - centre
        facing = np.einsum("ij,ij->i", n, view) > 0
        zf = z[F]
        keep = facing & (zf.min(1) > 0.05) & (nn > 1e-12)
        uvf = uv[F]
        keep &= (uvf[..., 0].max(1) >= 0) & (uvf[..., 0].min(1) < w) & (uvf[..., 1].max(1) >= 0) \
            & (uvf[..., 1].min(1) < h)
        idx = np.flatnonzero(keep)
        depth = zf[idx].mean(1)
        order = idx[np.argsort(-depth, kind="stable")]
        lam = np.clip(n[order] @ look.light_dir, 0, 1)
        # soft fill light from the camera so that unlit sides are not black
        vdir = view[order] / np.linalg.norm(view[order], axis=1, keepdims=True)
        fill = np.clip(np.einsum("ij,ij->i", n[order], vdir), 0, 1)
        shade = look.ambient + look.light * lam + 0.25 * fill
        colours = np.clip(self.face_colour[order] * shade[:, None], 0, 1)
        buf = np.empty((h, w, 4), np.float32)
        buf[..., :3] = self.background
        buf[..., 3] = np.inf
        pts = np.round(uvf[order] * 16).astype(np.int32)
        fz = zf[order].mean(1)
        fill_poly = cv2.fillConvexPoly
        for i in range(len(order)):
            col = colours[i]
            fill_poly(buf, pts[i], (float(col[0]), float(col[1]), float(col[2]), float(fz[i])), cv2.LINE_8, 4)
        img = buf[..., :3]
        if look.blur_sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), look.blur_sigma)
        img = img * 255.0 + self.rng.normal(0.0, look.noise_sigma, img.shape).astype(np.float32)
        return np.clip(np.round(img), 0, 255).astype(np.uint8), buf[..., 3]
