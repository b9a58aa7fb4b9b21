"""Landmark model pre/post-processing (pure functions, no model).

Mirrors MediaPipe's ``pose_landmark_by_roi_cpu`` + ``tensors_to_pose_landmarks_and_segmentation``:
the ROI is warped into a 256x256 RGB crop in [0, 1] (replicated border); the model gives 39 landmarks
x, y, z, visibility, presence (pixels of the crop, logits for the last two), a pose-presence probability,
a 256x256 segmentation logit map, a 64x64x39 heatmap and 39 world landmarks (metres). Landmarks are
refined on the heatmap (7x7 window, confidence >= 0.5), projected back through the ROI; z is scaled like
x; world landmarks are rotated by the ROI rotation. Landmarks 33 and 34 are auxiliary: the centre and
scale/rotation point of the next frame's ROI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.pose.geometry import Roi, crop_to_image, roi_to_affine, rotate_xy

LANDMARK_INPUT = 256
NUM_MODEL_LANDMARKS = 39
NUM_POSE = 33

__all__ = [
    "LANDMARK_INPUT",
    "RawLandmarks",
    "decode_landmarks",
    "preprocess_landmarks",
    "refine_from_heatmap",
    "sigmoid",
    "warp_segmentation",
]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


@dataclass(frozen=True, eq=False)
class RawLandmarks:
    """Decoded landmarks of one ROI, in frame pixels.

    ``xyz`` (33, 3), ``visibility``/``presence`` (33,), ``aux`` (2, 2) auxiliary points (ROI centre and
    scale point), ``world`` (33, 3) metres rotated into the frame's orientation, ``score`` the pose flag.
    """

    xyz: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    aux: np.ndarray
    world: np.ndarray
    score: float


def preprocess_landmarks(image_bgr: np.ndarray, roi: Roi, size: int = LANDMARK_INPUT) -> np.ndarray:
    """Warp the ROI of a BGR frame into the landmark tensor (1, size, size, 3) RGB float32 in [0, 1]."""
    import cv2

    m = roi_to_affine(roi, size)
    crop = cv2.warpAffine(image_bgr, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)
    x *= 1.0 / 255.0
    return x[None]


def refine_from_heatmap(xy_norm: np.ndarray, heatmap: np.ndarray, kernel: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """MediaPipe's RefineLandmarksFromHeatmap: move each landmark to the confidence-weighted mean of the
    ``kernel`` x ``kernel`` heatmap window around it, when the window's best confidence is at least
    ``min_confidence``. ``xy_norm`` (K, 2) in [0, 1] of the crop; ``heatmap`` (H, W, >=K) logits."""
    hm = np.asarray(heatmap, np.float32).reshape(heatmap.shape[-3], heatmap.shape[-2], heatmap.shape[-1])
    hh, hw, _ = hm.shape
    k = xy_norm.shape[0]
    out = np.array(xy_norm, np.float64, copy=True)
    col = np.floor(xy_norm[:, 0] * hw).astype(int)
    row = np.floor(xy_norm[:, 1] * hh).astype(int)
    inside = (col >= 0) & (col < hw) & (row >= 0) & (row < hh)
    off = (kernel - 1) // 2
    d = np.arange(-off, off + 1)
    rr = row[:, None, None] + d[None, :, None]  # (K, k, 1)
    cc = col[:, None, None] + d[None, None, :]  # (K, 1, k)
    valid = (rr >= 0) & (rr < hh) & (cc >= 0) & (cc < hw) & inside[:, None, None]
    conf = sigmoid(hm[np.clip(rr, 0, hh - 1), np.clip(cc, 0, hw - 1), np.arange(k)[:, None, None]])
    conf = np.where(valid, conf, 0.0)
    total = conf.sum(axis=(1, 2))
    best = conf.max(axis=(1, 2))
    ok = inside & (best >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    wx = (conf * np.broadcast_to(cc, conf.shape)).sum(axis=(1, 2)) / safe / hw
    wy = (conf * np.broadcast_to(rr, conf.shape)).sum(axis=(1, 2)) / safe / hh
    out[ok, 0] = wx[ok]
    out[ok, 1] = wy[ok]
    return out


def decode_landmarks(raw: np.ndarray, pose_flag: np.ndarray | float, world: np.ndarray, roi: Roi,
                     heatmap: np.ndarray | None = None, size: int = LANDMARK_INPUT) -> RawLandmarks:
    """Turn the landmark model's outputs for ``roi`` into frame-pixel landmarks (see module doc)."""
    r = np.asarray(raw, np.float32).reshape(NUM_MODEL_LANDMARKS, 5)
    xy = r[:, :2] / size
    if heatmap is not None:
        xy = refine_from_heatmap(xy, heatmap)
    pts = crop_to_image(xy, roi)
    z = r[:, 2] / size * roi.size
    vis = sigmoid(r[:, 3])
    pres = sigmoid(r[:, 4])
    w = np.asarray(world, np.float32).reshape(NUM_MODEL_LANDMARKS, 3)[:NUM_POSE]
    w_rot = rotate_xy(w, roi.rotation)
    xyz = np.concatenate([pts[:NUM_POSE], z[:NUM_POSE, None]], axis=1)
    score = float(np.asarray(pose_flag, np.float32).reshape(-1)[0])  # the model already applies a sigmoid
    return RawLandmarks(xyz.astype(np.float32), vis[:NUM_POSE].astype(np.float32),
                        pres[:NUM_POSE].astype(np.float32), pts[NUM_POSE:NUM_POSE + 2].astype(np.float32),
                        w_rot.astype(np.float32), score)


def warp_segmentation(seg_logits: np.ndarray, roi: Roi, image_size: tuple[int, int]) -> np.ndarray:
    """Warp the 256x256 segmentation logits of ``roi`` back into a (H, W) probability mask of the frame
    (0 outside the ROI)."""
    import cv2

    s = np.asarray(seg_logits, np.float32).reshape(seg_logits.shape[-3], seg_logits.shape[-2])
    prob = sigmoid(s).astype(np.float32)
    m = roi_to_affine(roi, s.shape[0])
    w, h = image_size
    return cv2.warpAffine(prob, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
