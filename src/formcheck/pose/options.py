"""Typed, validated options of the pose engine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import ModelError, OptionsError

__all__ = ["DETECTOR_FILE", "LANDMARK_FILE", "SEGMENTATION_FILE", "PoseOptions", "resolve_models_dir"]

DETECTOR_FILE = "pose_detection.onnx"
LANDMARK_FILE = "pose_landmark_full.onnx"
SEGMENTATION_FILE = "pose_landmark_full_segmentation.onnx"
_REPO_MODELS = Path(__file__).resolve().parents[3] / "models"


@dataclass(frozen=True)
class PoseOptions:
    """Options of :class:`~formcheck.pose.PoseEngine` (validated at construction).

    * ``models_dir``: folder holding ``pose_detection.onnx`` and ``pose_landmark_full.onnx``; default the
      ``FORMCHECK_MODELS`` environment variable, else the repository's ``models/``.
    * ``min_detection_confidence``: detector score needed to start following a person (0.5 as MediaPipe).
    * ``min_tracking_confidence``: landmark model's pose-presence score needed to keep following; below it
      the detector runs again (0.5 as MediaPipe).
    * ``tracking``: derive each frame's crop from the previous landmarks (the detector runs only when the
      person is lost). False runs the detector on every frame (independent images).
    * ``smooth``: One-Euro landmark smoothing across frames (switch off for single images/measurement of
      raw jitter).
    * ``refine_heatmap``: refine landmark positions on the model's heatmap (as MediaPipe).
    * ``segmentation``: also return the person's segmentation mask (costs a warp per frame).
    * ``lumbar_curve``: compute the lumbar curve of the back contour per frame
      (:func:`formcheck.contour.lumbar_curve`, ``PoseFrame.lumbar_curve``) from the segmentation mask,
      which is dropped afterwards unless ``segmentation`` is also true (~+10 ms per frame).
    * ``nms_iou``: IoU above which detections are merged by weighted NMS.
    * ``relock_s``: for this long after losing the person, first look for them where they were, then
      prefer the detection overlapping that place (keeps the patient when someone else is in view);
      afterwards start afresh with the largest, most central person.
    * ``threads``: onnxruntime intra-op threads (default: 2, but one core is left free for video
      decoding and the UI: 1 on a 2-core machine).
    """

    models_dir: Path | None = None
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    tracking: bool = True
    smooth: bool = True
    refine_heatmap: bool = True
    segmentation: bool = False
    lumbar_curve: bool = False
    nms_iou: float = 0.3
    relock_s: float = 2.0
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("min_detection_confidence", "min_tracking_confidence", "nms_iou"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.0 <= float(v) <= 1.0:
                raise OptionsError(name, "a number in [0, 1]", v, where="PoseOptions")
        for name in ("tracking", "smooth", "refine_heatmap", "segmentation", "lumbar_curve"):
            if not isinstance(getattr(self, name), bool):
                raise OptionsError(name, "true or false", getattr(self, name), where="PoseOptions")
        if not isinstance(self.relock_s, (int, float)) or isinstance(self.relock_s, bool) or self.relock_s < 0:
            raise OptionsError("relock_s", "a number of seconds >= 0", self.relock_s, where="PoseOptions")
        if self.threads is not None and (not isinstance(self.threads, int) or isinstance(self.threads, bool)
                                         or self.threads < 1):
            raise OptionsError("threads", "an integer >= 1 or None", self.threads, where="PoseOptions")
        if self.models_dir is not None:
            object.__setattr__(self, "models_dir", Path(self.models_dir))

    @property
    def num_threads(self) -> int:
        """Intra-op threads: as given, else 2 but leaving one core free for decoding/UI (1 on 2 cores;
        measured on a busy 2-core machine, 1 thread ran the landmark model as fast as 2)."""
        return self.threads or max(1, min(2, (os.cpu_count() or 1) - 1))


def resolve_models_dir(models_dir: Path | None = None) -> Path:
    """The folder holding the ONNX pose models; raises :class:`ModelError` if it or a model is missing."""
    candidates = [Path(models_dir)] if models_dir is not None else []
    if models_dir is None:
        env = os.environ.get("FORMCHECK_MODELS")
        if env:
            candidates.append(Path(env))
        candidates += [_REPO_MODELS, Path.cwd() / "models"]
    for d in candidates:
        if (d / DETECTOR_FILE).is_file() and (d / LANDMARK_FILE).is_file():
            return d
    where = ", ".join(str(c) for c in candidates)
    raise ModelError(f"pose models ({DETECTOR_FILE}, {LANDMARK_FILE}) not found in {where}; "
                     "set FORMCHECK_MODELS or PoseOptions(models_dir=...) to the folder holding them")
