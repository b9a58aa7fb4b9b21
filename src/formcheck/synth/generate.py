"""From (exercise, variant, view, seed) to a rendered MP4 and its ground-truth JSON sidecar.

The whole pipeline is deterministic: every random choice (body shape, clothes, room, light, tempo,
tremor, camera jitter, sensor noise) comes from one ``numpy`` generator seeded by
(seed, exercise, variant, view); torch runs single-threaded; x264 runs single-threaded with fixed
parameters. Same arguments -> same bytes.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from formcheck.errors import OptionsError
from formcheck.landmarks import Landmark as LM
from formcheck.synth.body import ANNY_TO_WORLD, Body, Phenotype
from formcheck.synth.camera import VIEWS, Camera, place_camera
from formcheck.synth.exercises import SCRIPTS, Ctx, check
from formcheck.synth.landmark_map import LandmarkMap
from formcheck.synth.motion import Script, intervals
from formcheck.synth.render import Appearance, Renderer, Room
from formcheck.synth.rig import bone_rotations, rot_x, rot_z
from formcheck.synth.truth import UNITS, measures_from_landmarks

log = logging.getLogger(__name__)

SCHEMA = "formcheck.synth/1"
#: frames per second: long holds are filmed at 10 fps to keep the clips small, the rest at 15
HOLD_FPS, REP_FPS = 10.0, 15.0
LONG_HOLD = {"single_knee_to_chest", "hamstring_stretch", "hip_flexor_stretch", "piriformis_stretch", "plank",
             "wall_squat", "heel_raises", "abdominal_contraction", "pelvic_tilt"}

#: joint command -> measure name it should equal (for the agreement test and the sidecar)
COMMANDED_MEASURES = {
    **{f"knee_flex_{s}": f"knee_flexion_{side}" for s, side in (("l", "left"), ("r", "right"))},
    **{f"elbow_flex_{s}": f"elbow_flexion_{side}" for s, side in (("l", "left"), ("r", "right"))},
}

_ANCHORS = {
    "feet": [LM.LEFT_ANKLE, LM.RIGHT_ANKLE, LM.LEFT_HEEL, LM.RIGHT_HEEL],
    "toes": [LM.LEFT_FOOT_INDEX, LM.RIGHT_FOOT_INDEX],
    "pelvis": [LM.LEFT_HIP, LM.RIGHT_HIP],
    "hands_knees": [LM.LEFT_WRIST, LM.RIGHT_WRIST, LM.LEFT_KNEE, LM.RIGHT_KNEE],
    "elbows": [LM.LEFT_ELBOW, LM.RIGHT_ELBOW],
}


@dataclass(frozen=True)
class ClipSpec:
    exercise: str
    variant: str = "correct"
    view: str = "side"
    seed: int = 0
    size: tuple[int, int] = (480, 360)
    fps: float | None = None
    placement: str | None = None
    side: str | None = None
    distance_scale: float = 1.0
    crop: float = 0.0  # > 0: aim off-centre so that this fraction of the frame width of the body is cut off
    crf: int = 26

    def __post_init__(self) -> None:
        check(self.exercise, self.variant)
        if self.view not in VIEWS:
            raise OptionsError("view", f"one of {', '.join(VIEWS)}", self.view)
        if self.side not in (None, "left", "right"):
            raise OptionsError("side", "left, right or None", self.side)
        w, h = self.size
        if not (64 <= w <= 1920 and 64 <= h <= 1080) or w % 2 or h % 2:
            raise OptionsError("size", "even width/height between 64x64 and 1920x1080", self.size)
        if self.fps is not None and not (1 <= self.fps <= 60):
            raise OptionsError("fps", "between 1 and 60", self.fps)

    @property
    def stem(self) -> str:
        return f"{self.exercise}__{self.variant}__{self.view}"

    def rng(self, stream: str) -> np.random.Generator:
        key = [self.seed, *(zlib.crc32(s.encode()) for s in (self.exercise, self.variant, self.view, stream))]
        return np.random.default_rng(np.random.SeedSequence(key))


@dataclass
class Clip:
    """A clip ready to render: the posed body in the world, the camera, the room and the truth."""

    spec: ClipSpec
    script: Script
    body: Body
    vertices: np.ndarray  # (T, V, 3) world
    landmarks_3d: np.ndarray  # (T, 33, 3) world
    camera: Camera
    room: Room
    look: Appearance
    side: str | None


def _world(script: Script, verts: np.ndarray, marks: np.ndarray, body: Body) -> tuple[np.ndarray, np.ndarray]:
    R = rot_x(script.pitch) @ ANNY_TO_WORLD @ rot_z(script.roll)  # (T, 3, 3)
    V = np.einsum("tij,tvj->tvi", R, verts)
    M = np.einsum("tij,tvj->tvi", R, marks)
    # support: the lowest supporting vertex touches the floor (or the bed)
    if script.ground in ("torso", "legs"):
        names = np.array(body.bone_labels, dtype=object)[body.vertex_bone]
        parts = ("spine", "pelvis", "root", "clavicle", "shoulder") if script.ground == "torso" else \
            ("pelvis", "root", "upperleg", "lowerleg", "foot", "toe", "spine05")
        sel = np.array([n.startswith(parts) for n in names])
        low = V[:, sel, 1].min(1)
    else:
        low = V[:, :, 1].min(1)
    dy = script.support_height - low
    V[..., 1] += dy[:, None]
    M[..., 1] += dy[:, None]
    # anchor: the supporting landmarks keep their horizontal position (no sliding)
    idx = _ANCHORS[script.anchor]
    c = M[:, idx][:, :, [0, 2]].mean(1)
    shift = c[0] - c
    V[..., 0] += shift[:, 0, None]
    V[..., 2] += shift[:, 1, None]
    M[..., 0] += shift[:, 0, None]
    M[..., 2] += shift[:, 1, None]
    return V, M


def build_clip(spec: ClipSpec) -> Clip:
    """Pose the body for ``spec`` and set up the camera and room (no rendering yet)."""
    import torch

    torch.set_num_threads(1)
    rng_body, rng_look, rng_motion, rng_cam = (spec.rng(s) for s in ("body", "look", "motion", "camera"))
    body = Body.create(Phenotype.sample(rng_body))
    lmap = LandmarkMap(body)
    # neutral geometry for the scripts (anny frame: x left, y back, z up)
    G0 = bone_rotations(body, {"knee_flex_l": np.zeros(1)})
    v0, h0 = body.skin(G0)
    m0 = lmap(v0, h0)[0]
    hip = h0[0, body.bone("upperleg01.L")]
    heel = m0[LM.LEFT_HEEL]
    side = spec.side or ("left" if rng_motion.random() < 0.5 else "right")
    fps = spec.fps or (HOLD_FPS if spec.exercise in LONG_HOLD else REP_FPS)
    names = np.array(body.bone_labels, dtype=object)[body.vertex_bone]
    pelvic = np.array([n.startswith(("pelvis", "upperleg", "root", "spine05")) for n in names])
    rest = {"heads": {lab: (float(h0[0, i, 1]), float(h0[0, i, 2])) for i, lab in enumerate(body.bone_labels)},
            # prone: hip joint height above the floor = how far the front of the pelvis/thighs lies ahead of it
            "hip_depth": float(hip[1] - v0[0, pelvic, 1].min())}
    ctx = Ctx(rng=rng_motion, fps=fps, variant=spec.variant, side=side, lens=body.segment_lengths(),
              heel_r=float(hip[2] - heel[2]), heel_drop=float(heel[1] - hip[1]), rest=rest)
    script = SCRIPTS[spec.exercise](ctx)
    for attempt in range(4):
        G = bone_rotations(body, script.pose)
        verts, heads = body.skin(G)
        marks = lmap(verts, heads)
        V, M = _world(script, verts, marks, body)
        new = script.refine(measures_from_landmarks(M), M) if script.refine and attempt < 3 else None
        if new is None:
            break
        script.pose = new
    look = Appearance.sample(rng_look)
    # camera: on the working side (bilateral exercises: the side drawn above)
    side_dir = np.array([1.0 if side == "left" else -1.0, 0.0, 0.0])
    lying = abs(float(np.median(script.pitch))) > 45
    forward = np.array([0.0, 0.0, 1.0]) if not lying else np.array([0.0, 0.0, 1.0 if script.pitch[0] < 0 else -1.0])
    pts = V[:, ::37].reshape(-1, 3)
    placement = spec.placement or script.placement
    hfov = float(rng_cam.uniform(60, 72))
    cam = place_camera(pts, forward=forward, side_dir=side_dir, view=spec.view, placement=placement,
                       size=spec.size, hfov_deg=hfov, margin=0.08 if spec.crop == 0 else 0.0,
                       distance_scale=spec.distance_scale * float(rng_cam.uniform(1.0, 1.25)),
                       yaw_jitter_deg=float(rng_cam.uniform(-5, 5)),
                       offset=(spec.crop, 0.0))
    room = _room(script, V, M, cam, rng_look)
    return Clip(spec, script, body, V, M, cam, room, look,
                script.side if script.side else None)


def _room(script: Script, V: np.ndarray, M: np.ndarray, cam: Camera, rng: np.random.Generator) -> Room:
    lo, hi = V.reshape(-1, 3).min(0), V.reshape(-1, 3).max(0)
    centre = (lo + hi) / 2
    view = centre - cam.center
    view[1] = 0
    view /= np.linalg.norm(view)
    far = max(float(((V.reshape(-1, 3)[::17] - cam.center) @ view).max()), 1.0)
    back = (cam.center + view * (far + float(rng.uniform(0.8, 2.0))), -view)
    env = script.environment
    walls = []
    if env.get("wall"):
        # the wall the patient leans on: just behind the back (the body faces +z)
        zb = float(np.min(V[0, :, 2]))
        walls.append((np.array([0.0, 0.0, zb - 0.005]), np.array([0.0, 0.0, 1.0])))
    mat = None
    if env.get("mat"):
        mat = (float(lo[0]) - 0.25, float(hi[0]) + 0.25, float(lo[2]) - 0.15, float(hi[2]) + 0.15)
        mat = (min(mat[0], -0.35), max(mat[1], 0.35), mat[2], mat[3])
    bed = None
    if env.get("bed"):
        # bed under the torso: from beyond the head to the buttocks; the legs hang off its end
        head_z = float(V[0, :, 2].min())
        hip_z = float(M[:, [LM.LEFT_HIP, LM.RIGHT_HIP], 2].mean())
        bed = (-0.55, 0.55, head_z - 0.3, hip_z + 0.12, script.support_height)
    return Room(back_wall=back, extra_walls=walls, mat=mat, bed=bed)


def sidecar(clip: Clip, visible: np.ndarray) -> dict:
    s, sc, cam = clip.spec, clip.script, clip.camera
    T = sc.T
    uv, z = cam.project(clip.landmarks_3d)
    w, h = cam.size
    inside = (z > 0) & (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
    uv = np.where(inside[..., None], uv, np.nan)
    measures = measures_from_landmarks(clip.landmarks_3d)
    faults = list(sc.faults)
    extra: dict = {}
    if sc.exercise == "straight_leg_raise":
        side = sc.side or "left"
        hy = clip.landmarks_3d[:, LM[f"{side.upper()}_HEEL"], 1]
        lift = hy - hy.min()
        extra["heel_lift_m"] = _r(lift, 4)
        extra["stated_heel_lift_m"] = getattr(sc, "heel_lift_m", None)
        if sc.variant == "lift_too_high":
            faults = [{"id": "lift_too_high", "start_s": round(a, 4), "end_s": round(b, 4)}
                      for a, b in intervals(lift > 0.305, sc.fps)]
    if sc.variant == "too_deep":
        knee = np.maximum(measures["knee_flexion_left"], measures["knee_flexion_right"])
        faults = [{"id": "too_deep", "start_s": round(a, 4), "end_s": round(b, 4)}
                  for a, b in intervals(knee > 90.0, sc.fps)]
    if sc.variant == "knees_past_toes":
        X = clip.landmarks_3d
        ahead = np.maximum(X[:, LM.LEFT_KNEE, 2] - X[:, LM.LEFT_FOOT_INDEX, 2],
                           X[:, LM.RIGHT_KNEE, 2] - X[:, LM.RIGHT_FOOT_INDEX, 2])
        faults = [{"id": "knees_past_toes", "start_s": round(a, 4), "end_s": round(b, 4)}
                  for a, b in intervals(ahead > 0.0, sc.fps)]
    reps, holds = [], []
    target = sc.hold_target_s
    for i, r in enumerate(sc.tl.reps):
        m = sc.tl.rep_index == i
        complete = bool(r.amplitude >= 0.95 and (target == 0 or r.hold_s >= target - 1e-6))
        rep = {"index": i, "start_s": round(r.start_s, 4), "end_s": round(r.end_s, 4), "peak_s": round(r.peak_s, 4),
               "complete": complete, "amplitude": round(r.amplitude, 3), "hold_s": round(r.hold_s, 4),
               "side": r.side or clip.side,
               "peak": {k: round(float(np.nanmax(v[m])) if k.startswith(("knee", "hip_f", "shoulder", "elbow"))
                                 else float(v[m][np.argmax(np.abs(v[m] - v[m][0]))]), 2)
                        for k, v in measures.items() if np.isfinite(v[m]).all()}}
        reps.append(rep)
        if target > 0:
            holds.append({"start_s": round(r.hold_start_s, 4), "end_s": round(r.hold_end_s, 4),
                          "duration_s": round(r.hold_s, 4), "completed": bool(r.hold_s >= target - 1e-6),
                          "target_s": target})
    commanded = {k: _r(v, 2) for k, v in sc.pose.items()}
    return {
        "schema": SCHEMA,
        "exercise": s.exercise, "variant": s.variant, "view": s.view, "seed": s.seed,
        "fps": sc.fps, "frame_count": T, "image_size": list(cam.size),
        "side": clip.side,
        "camera": cam.to_dict(),
        "phenotype": clip.body.phenotype.as_dict(),
        "appearance": clip.look.to_dict(),
        "notes": sc.notes,
        "landmark_names": [m.name.lower() for m in LM],
        "landmarks_2d": _r(uv, 1),
        "landmarks_3d": _r(clip.landmarks_3d, 3),
        "visible": visible.astype(int).tolist(),
        "angles": {k: _r(v, 2) for k, v in measures.items()},
        "units": {k: UNITS.get(k, "deg") for k in measures},
        "commanded": commanded,
        "pelvis_pitch": _r(sc.pitch, 2),
        "reps": reps,
        "holds": holds,
        "hold_target_s": target,
        "faults": faults,
        "rep_count": int(sum(r["complete"] for r in reps)),
        **extra,
        "generator": {"frame_time": "t = index / fps", "landmark_map": "formcheck.synth.landmark_map",
                      "measures": "formcheck.synth.truth", "world": "metres, y up, floor y=0"},
    }


def _r(a: np.ndarray, nd: int):
    a = np.asarray(a, dtype=np.float64)
    out = np.round(a, nd).tolist()
    return _nan_to_none(out)


def _nan_to_none(x):
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def render_clip(spec: ClipSpec, out_dir: str | Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Render ``spec`` to ``out_dir/<stem>.mp4`` plus ``<stem>.json``; returns the MP4 path."""
    from formcheck.synth.video import VideoWriter

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clip = build_clip(spec)
    renderer = Renderer(clip.camera, clip.room, clip.body, clip.look, seed=int(spec.rng("noise").integers(2 ** 31)))
    T = clip.script.T
    visible = np.zeros((T, 33), bool)
    path = out_dir / f"{spec.stem}.mp4"
    tmp = path.with_suffix(".part.mp4")
    w, h = spec.size
    with VideoWriter(tmp, spec.size, clip.script.fps, crf=spec.crf) as vw:
        for i in range(T):
            img, depth = renderer.render(clip.vertices[i])
            vw.write(img)
            uv, z = clip.camera.project(clip.landmarks_3d[i])
            ok = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
            ui = np.clip(uv[:, 0].astype(int), 0, w - 1)
            vi = np.clip(uv[:, 1].astype(int), 0, h - 1)
            # self-occlusion: a landmark lies a few cm under the skin; hidden if the body surface seen at
            # its pixel is more than 8 cm nearer
            d = depth[vi, ui]
            visible[i] = ok & ((~np.isfinite(d)) | (z <= d + 0.08))
            if progress:
                progress(i + 1, T)
    tmp.replace(path)
    data = sidecar(clip, visible)
    path.with_suffix(".json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
    return path
