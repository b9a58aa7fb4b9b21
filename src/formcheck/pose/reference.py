"""Reference backend: legacy ``mediapipe.solutions.pose`` (mediapipe 0.10.21) behind PoseEngine's interface.

For comparison only (``make bench`` parity and speed). mediapipe 0.10.21 needs numpy < 2, so it lives in
its own environment (``.venv-ref``, the ``reference`` extra); importing this module elsewhere works, but
constructing :class:`MediaPipeReference` raises :class:`~formcheck.errors.ModelError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from formcheck.errors import ModelError
from formcheck.keypoints import PoseFrame

__all__ = ["MediaPipeReference"]


class MediaPipeReference:
    """``update(frame_bgr, t) -> PoseFrame`` and ``reset()`` on legacy MediaPipe Pose (full model,
    smoothing on, tracking on, confidences 0.5): the same settings formcheck's engine mirrors.

    Note: the legacy solution clocks its smoothing with a fixed 30 frames/s, whatever ``t`` is."""

    def __init__(self, model_complexity: int = 1, smooth: bool = True, segmentation: bool = False) -> None:
        try:
            import mediapipe as mp
        except ImportError as exc:
            raise ModelError("the reference backend needs mediapipe==0.10.21 (numpy<2), e.g. in .venv-ref: "
                             f"{exc}") from exc
        if not hasattr(mp, "solutions"):
            raise ModelError(f"mediapipe {mp.__version__} has no legacy solutions API; install mediapipe==0.10.21")
        self._mp = mp
        self._kwargs = {"static_image_mode": False, "model_complexity": model_complexity,
                        "smooth_landmarks": smooth, "enable_segmentation": segmentation,
                        "min_detection_confidence": 0.5, "min_tracking_confidence": 0.5}
        self._pose: Any = None
        self.reset()

    def reset(self) -> None:
        if self._pose is not None:
            self._pose.close()
        self._pose = self._mp.solutions.pose.Pose(**self._kwargs)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def update(self, frame_bgr: np.ndarray, t: float) -> PoseFrame:
        h, w = frame_bgr.shape[:2]
        res = self._pose.process(np.ascontiguousarray(frame_bgr[:, :, ::-1]))
        if res.pose_landmarks is None:
            return PoseFrame.empty(t, (w, h))
        lm = res.pose_landmarks.landmark
        xyz = np.array([[p.x * w, p.y * h, p.z * w] for p in lm], np.float32)
        vis = np.array([p.visibility for p in lm], np.float32)
        pres = np.array([p.presence for p in lm], np.float32)
        if res.pose_world_landmarks is not None:
            world = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark], np.float32)
        else:
            world = np.full((33, 3), np.nan, np.float32)
        mask = None
        if getattr(res, "segmentation_mask", None) is not None:
            mask = np.asarray(res.segmentation_mask, np.float32)
        return PoseFrame(xyz, world, vis, pres, float(t), (w, h), segmentation=mask)
