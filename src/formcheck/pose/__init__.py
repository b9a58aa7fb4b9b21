"""BlazePose (MediaPipe's models converted to ONNX) on onnxruntime, CPU only, nothing downloaded.

Public API::

    from formcheck.pose import PoseEngine, PoseOptions, estimate_video
    engine = PoseEngine()                      # sessions created once
    frame = engine.update(image_bgr, t)        # -> formcheck.keypoints.PoseFrame (NaN if nobody)
    seq = estimate_video("clip.mp4")           # -> formcheck.keypoints.PoseSequence

Pure pre/post-processing lives in ``anchors``, ``geometry``, ``detector``, ``landmarks_model`` and
``smoothing`` and is testable without a model.
"""

from formcheck.pose.engine import EngineStats, PoseEngine, estimate_video
from formcheck.pose.options import PoseOptions

__all__ = ["EngineStats", "PoseEngine", "PoseOptions", "estimate_video"]
