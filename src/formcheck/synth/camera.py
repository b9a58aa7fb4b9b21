"""Pinhole cameras placed where a patient really puts a laptop (OpenCV convention: x right, y down, z forward)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.errors import OptionsError

#: camera views: azimuth of the camera around the body, measured from the body's *working side*
#: (0 = pure side view, 30 = oblique, turned 30 deg towards the body's front, 90 = front view)
VIEWS: dict[str, float] = {"side": 0.0, "oblique": 30.0, "oblique_back": -30.0, "front": 90.0}

#: where the laptop stands: camera height (m) above the floor
PLACEMENTS: dict[str, float] = {"table": 0.95, "chair": 0.55, "floor": 0.22}


@dataclass(frozen=True)
class Camera:
    K: np.ndarray  # (3, 3)
    R: np.ndarray  # (3, 3) world -> camera
    t: np.ndarray  # (3,)
    size: tuple[int, int]  # (width, height)
    placement: str = "table"
    view: str = "side"

    @property
    def center(self) -> np.ndarray:
        return -self.R.T @ self.t

    def to_camera(self, X: np.ndarray) -> np.ndarray:
        return X @ self.R.T + self.t

    def project(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> pixels (..., 2) and camera depth (...,)."""
        Xc = self.to_camera(X)
        z = Xc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (Xc[..., :2] / z[..., None]) * np.array([self.K[0, 0], self.K[1, 1]]) + self.K[:2, 2]
        return uv, z

    def to_dict(self) -> dict:
        w, h = self.size
        fov = 2 * np.degrees(np.arctan(w / 2 / self.K[0, 0]))
        return {
            "K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist(),
            "center": self.center.tolist(), "image_size": [w, h], "hfov_deg": float(fov),
            "placement": self.placement, "view": self.view,
            "convention": "x_cam = R @ X_world + t; OpenCV axes (x right, y down, z forward); world y up, metres",
        }


def intrinsics(size: tuple[int, int], hfov_deg: float) -> np.ndarray:
    w, h = size
    f = (w / 2) / np.tan(np.radians(hfov_deg) / 2)
    return np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 1.0, 0.0])) -> tuple[np.ndarray, np.ndarray]:
    f = target - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, up)  # camera x (right) = forward x up
    r = r / np.linalg.norm(r)
    d = np.cross(f, r)  # camera y (down)
    R = np.stack([r, d, f])
    return R, -R @ eye


def place_camera(points: np.ndarray, *, forward: np.ndarray, side_dir: np.ndarray, view: str, placement: str,
                 size: tuple[int, int], hfov_deg: float, margin: float = 0.12, distance_scale: float = 1.0,
                 yaw_jitter_deg: float = 0.0, offset: tuple[float, float] = (0.0, 0.0)) -> Camera:
    """Put a camera at ``placement`` height looking at ``points`` (N,3 world, all frames of the clip)
    from ``view``, far enough that all points fit with ``margin`` (fraction of the frame) on each side.

    ``side_dir``: horizontal unit vector from the body towards the camera for the side view;
    ``forward``: horizontal unit vector of the body's front (towards which oblique/front views turn).
    ``offset`` shifts the aim point by fractions of the frame (to put the person off-centre).
    """
    if view not in VIEWS:
        raise OptionsError("view", f"one of {sorted(VIEWS)}", view)
    if placement not in PLACEMENTS:
        raise OptionsError("placement", f"one of {sorted(PLACEMENTS)}", placement)
    az = np.radians(VIEWS[view] + yaw_jitter_deg)
    d = np.cos(az) * side_dir + np.sin(az) * forward
    d = d / np.linalg.norm(d)
    lo, hi = points.min(0), points.max(0)
    target = (lo + hi) / 2
    K = intrinsics(size, hfov_deg)
    w, h = size
    height = PLACEMENTS[placement]
    dist = 1.0
    for _ in range(60):  # grow the distance until everything fits
        eye = target + d * dist
        eye = np.array([eye[0], height, eye[2]])
        aim = target.copy()
        R, t = look_at(eye, aim)
        cam = Camera(K, R, t, size)
        uv, z = cam.project(points)
        if np.all(z > 0.3):
            span_u = (uv[:, 0].max() - uv[:, 0].min()) / w
            span_v = (uv[:, 1].max() - uv[:, 1].min()) / h
            if span_u <= 1 - 2 * margin and span_v <= 1 - 2 * margin:
                break
        dist *= 1.06
    dist *= distance_scale
    eye = target + d * dist
    eye = np.array([eye[0], height, eye[2]])
    R, t = look_at(eye, target)
    cam = Camera(K, R, t, size, placement, view)
    # re-centre the projected bounding box (the look-at point is not the projected centre)
    uv, _ = cam.project(points)
    du = (uv[:, 0].min() + uv[:, 0].max()) / 2 - w / 2 - offset[0] * w
    dv = (uv[:, 1].min() + uv[:, 1].max()) / 2 - h / 2 - offset[1] * h
    ray = np.array([du / K[0, 0], dv / K[1, 1], 1.0])
    f = R.T @ (ray / np.linalg.norm(ray))  # new forward axis, towards the box centre
    R3, t3 = look_at(eye, eye + f)
    return Camera(K, R3, t3, size, placement, view)
