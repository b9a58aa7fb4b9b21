"""Person detector pre/post-processing (pure functions, no model).

Mirrors MediaPipe's ``pose_detection_cpu`` graph: letterbox the frame into 224x224 RGB in [-1, 1]
(zero border), decode the 2254 SSD boxes (``TensorsToDetections``: x/y/w/h then 4 keypoints, scale 224,
sigmoid scores clipped at +-100, threshold 0.5), weighted non-max suppression (IoU 0.3), and map back
through the letterbox to frame pixels.

Keypoints of a detection: 0 hip centre, 1 a point fixing the full-body size and rotation, 2 shoulder
centre, 3 the upper-body size/rotation point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.pose.anchors import DETECTOR_INPUT, default_anchors
from formcheck.pose.geometry import Roi, crop_to_image, letterbox_roi, roi_to_affine

__all__ = ["Detections", "decode_detections", "detections_to_image", "preprocess_detector", "weighted_nms"]


@dataclass(frozen=True, eq=False)
class Detections:
    """N detections: ``boxes`` (N, 4) xmin, ymin, xmax, ymax; ``keypoints`` (N, 4, 2); ``scores`` (N,).

    Coordinates are normalised to the detector input ([0, 1]) until :func:`detections_to_image` turns them
    into frame pixels.
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32))

    def take(self, idx: np.ndarray | list[int]) -> Detections:
        return Detections(self.boxes[idx], self.keypoints[idx], self.scores[idx])


def preprocess_detector(image_bgr: np.ndarray, size: int = DETECTOR_INPUT) -> tuple[np.ndarray, Roi]:
    """Letterbox a BGR frame into the detector tensor (1, size, size, 3) RGB float32 in [-1, 1].

    Returns the tensor and the letterbox ROI (to map detections back with :func:`detections_to_image`).
    """
    import cv2

    h, w = image_bgr.shape[:2]
    roi = letterbox_roi(w, h)
    m = roi_to_affine(roi, size)
    crop = cv2.warpAffine(image_bgr, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)
    x *= 2.0 / 255.0
    x -= 1.0
    return x[None], roi


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray | None = None,
                      min_score: float = 0.5, scale: float = float(DETECTOR_INPUT),
                      clip: float = 100.0) -> Detections:
    """Decode raw model outputs (2254, 12) and (2254,) or (1, 2254, 12)/(1, 2254, 1) into detections
    with a score of at least ``min_score``, sorted by decreasing score."""
    anchors = default_anchors() if anchors is None else anchors
    rb = np.asarray(raw_boxes, np.float32).reshape(-1, 12)
    rs = np.asarray(raw_scores, np.float32).reshape(-1)
    if rb.shape[0] != anchors.shape[0] or rs.shape[0] != anchors.shape[0]:
        raise ValueError(f"expected {anchors.shape[0]} boxes, got {rb.shape[0]} boxes / {rs.shape[0]} scores")
    scores = 1.0 / (1.0 + np.exp(-np.clip(rs.astype(np.float64), -clip, clip)))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return Detections.empty()
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    rb, a, sc = rb[keep], anchors[keep], scores[keep]
    # fixed anchor size: w = h = 1
    cx = rb[:, 0] / scale + a[:, 0]
    cy = rb[:, 1] / scale + a[:, 1]
    w = rb[:, 2] / scale
    h = rb[:, 3] / scale
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kp = rb[:, 4:12].reshape(-1, 4, 2) / scale + a[:, None, :]
    return Detections(boxes.astype(np.float32), kp.astype(np.float32), sc.astype(np.float32))


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(det: Detections, iou_threshold: float = 0.3) -> Detections:
    """MediaPipe's WEIGHTED non-max suppression.

    Repeatedly takes the best remaining detection and every remaining detection overlapping it by more
    than ``iou_threshold``; the cluster becomes one detection whose box and keypoints are the
    score-weighted mean of the cluster and whose score is the best one. Output is sorted by score.
    """
    if len(det) == 0:
        return det
    order = np.argsort(-det.scores, kind="stable")
    boxes, kps, scores = det.boxes[order], det.keypoints[order], det.scores[order]
    remaining = np.arange(len(scores))
    out_b, out_k, out_s = [], [], []
    while remaining.size:
        top = remaining[0]
        iou = _iou_one_to_many(boxes[top], boxes[remaining])
        cluster = remaining[iou > iou_threshold]
        if cluster.size == 0 or cluster[0] != top:  # top always belongs to its own cluster
            cluster = np.concatenate([[top], cluster[cluster != top]])
        wts = scores[cluster][:, None]
        total = float(wts.sum())
        out_b.append((boxes[cluster] * wts).sum(0) / total)
        out_k.append((kps[cluster] * wts[:, :, None]).sum(0) / total)
        out_s.append(scores[top])
        remaining = remaining[~np.isin(remaining, cluster)]
    return Detections(np.array(out_b, np.float32), np.array(out_k, np.float32), np.array(out_s, np.float32))


def detections_to_image(det: Detections, letterbox: Roi) -> Detections:
    """Map detections normalised to the letterboxed detector input back to frame pixels."""
    if len(det) == 0:
        return det
    corners = det.boxes.reshape(-1, 2, 2)
    boxes = crop_to_image(corners, letterbox).reshape(-1, 4)
    kps = crop_to_image(det.keypoints, letterbox)
    return Detections(boxes.astype(np.float32), kps.astype(np.float32), det.scores)
