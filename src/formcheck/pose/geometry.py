"""Region-of-interest geometry: pure functions, pixels of the (rotation-corrected) frame, y down.

A :class:`Roi` is a rotated square: centre, side and rotation (radians). MediaPipe's convention: a vector
``(u, v)`` in the crop (u right, v down, in units of the side) maps to the image as ``R(rotation) @ (u, v)``
with ``R = [[cos, -sin], [sin, cos]]``; rotation 0 is an upright person. The crop of size ``n`` maps the
ROI's corners to the tensor's corners ``(0, 0)`` .. ``(n, n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Roi",
    "crop_to_image",
    "image_to_crop",
    "letterbox_roi",
    "normalize_radians",
    "roi_from_alignment",
    "roi_iou",
    "roi_to_affine",
    "rotate_xy",
]


@dataclass(frozen=True)
class Roi:
    cx: float
    cy: float
    size: float  # side of the square, pixels
    rotation: float = 0.0  # radians

    def corners(self) -> np.ndarray:
        """(4, 2) image points of the crop corners: top-left, top-right, bottom-right, bottom-left."""
        u = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * self.size
        return rotate_xy(u, self.rotation) + (self.cx, self.cy)


def normalize_radians(a: float | np.ndarray) -> float | np.ndarray:
    """Wrap an angle to [-pi, pi)."""
    return a - 2 * np.pi * np.floor((a + np.pi) / (2 * np.pi))


def rotate_xy(p: np.ndarray, angle: float) -> np.ndarray:
    """Rotate points ``(..., 2)`` (or the first two columns of ``(..., k)``) by ``angle`` radians, y down."""
    c, s = np.cos(angle), np.sin(angle)
    p = np.asarray(p, dtype=np.float64)
    out = p.copy()
    out[..., 0] = c * p[..., 0] - s * p[..., 1]
    out[..., 1] = s * p[..., 0] + c * p[..., 1]
    return out


def letterbox_roi(width: int, height: int) -> Roi:
    """The square, unrotated ROI that letterboxes a whole ``width x height`` frame (padding centred)."""
    return Roi(width / 2.0, height / 2.0, float(max(width, height)), 0.0)


def roi_from_alignment(center: np.ndarray, scale_point: np.ndarray, scale: float = 1.25,
                       target_angle: float = np.pi / 2) -> Roi:
    """MediaPipe's AlignmentPointsRects + RectTransformation(square_long, scale).

    ``center`` and ``scale_point`` are pixel points (the detector's keypoints 0 and 1, or the auxiliary
    landmarks 33 and 34): the box is centred on ``center``, its side is twice their distance times
    ``scale``, and it is rotated so that ``center -> scale_point`` points up in the crop.
    """
    c = np.asarray(center, np.float64)
    d = np.asarray(scale_point, np.float64) - c
    side = 2.0 * float(np.hypot(d[0], d[1])) * scale
    rotation = float(normalize_radians(target_angle - np.arctan2(-d[1], d[0])))
    return Roi(float(c[0]), float(c[1]), side, rotation)


def roi_to_affine(roi: Roi, out_size: int) -> np.ndarray:
    """2x3 affine matrix (for ``cv2.warpAffine``) mapping image pixels into the ``out_size`` crop."""
    k = out_size / roi.size
    c, s = np.cos(roi.rotation), np.sin(roi.rotation)
    # crop = k * R^T (p - centre) + out/2
    a = np.array([[c, s], [-s, c]]) * k
    b = -a @ np.array([roi.cx, roi.cy]) + out_size / 2.0
    return np.hstack([a, b[:, None]])


def crop_to_image(pts: np.ndarray, roi: Roi) -> np.ndarray:
    """Map points normalised to the crop (``(..., 2)`` in [0, 1]) to image pixels."""
    p = (np.asarray(pts, np.float64)[..., :2] - 0.5) * roi.size
    return rotate_xy(p, roi.rotation) + (roi.cx, roi.cy)


def image_to_crop(pts: np.ndarray, roi: Roi) -> np.ndarray:
    """Inverse of :func:`crop_to_image`: image pixels -> crop coordinates normalised to [0, 1]."""
    p = np.asarray(pts, np.float64)[..., :2] - (roi.cx, roi.cy)
    return rotate_xy(p, -roi.rotation) / roi.size + 0.5


def roi_iou(a: Roi, b: Roi) -> float:
    """IoU of the two ROIs' axis-aligned bounding boxes (enough for choosing whom to follow)."""
    def box(r: Roi) -> np.ndarray:
        c = r.corners()
        return np.concatenate([c.min(0), c.max(0)])

    ba, bb = box(a), box(b)
    iw = max(0.0, min(ba[2], bb[2]) - max(ba[0], bb[0]))
    ih = max(0.0, min(ba[3], bb[3]) - max(ba[1], bb[1]))
    inter = iw * ih
    union = (ba[2] - ba[0]) * (ba[3] - ba[1]) + (bb[2] - bb[0]) * (bb[3] - bb[1]) - inter
    return float(inter / union) if union > 0 else 0.0
