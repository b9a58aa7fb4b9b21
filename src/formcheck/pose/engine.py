"""The BlazePose engine on onnxruntime: detector -> ROI -> landmarks -> tracking -> smoothing."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from formcheck.errors import InputError, ModelError
from formcheck.keypoints import PoseFrame, PoseSequence
from formcheck.pose.detector import (
    Detections,
    decode_detections,
    detections_to_image,
    preprocess_detector,
    weighted_nms,
)
from formcheck.pose.geometry import Roi, roi_from_alignment, roi_iou
from formcheck.pose.landmarks_model import (
    RawLandmarks,
    decode_landmarks,
    preprocess_landmarks,
    warp_segmentation,
)
from formcheck.pose.options import (
    DETECTOR_FILE,
    LANDMARK_FILE,
    SEGMENTATION_FILE,
    PoseOptions,
    resolve_models_dir,
)
from formcheck.pose.smoothing import LandmarkSmoother

log = logging.getLogger(__name__)

__all__ = ["EngineStats", "PoseEngine", "estimate_video", "load_session", "prefetch"]

T_ = TypeVar("T_")
ROI_SCALE = 1.25  # MediaPipe's margin around the alignment box (detection and tracking alike)


@dataclass
class EngineStats:
    """Cumulative counters and wall-clock seconds of a :class:`PoseEngine` (for benchmarks)."""

    frames: int = 0
    found: int = 0
    detector_runs: int = 0
    landmark_runs: int = 0
    detector_s: float = 0.0
    landmarks_s: float = 0.0
    total_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def load_session(path: Path, threads: int) -> Any:
    """Create an onnxruntime CPU session (once per model), with a clear error for a bad file."""
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(f"{path}: model file missing")
    head = path.open("rb").read(64)
    if head.startswith(b"version https://git-lfs"):
        raise ModelError(f"{path}: is a Git LFS pointer, not the model; run `git lfs pull`")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    # no busy-waiting between ops: on a shared 2-core machine (video decoding, the UI, other processes)
    # spinning threads steal the CPU from the work they wait for
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{path}: cannot load the ONNX model ({str(exc).splitlines()[0][:200]})") from exc


class PoseEngine:
    """Finds one person's 33 landmarks per frame, following the same person from frame to frame.

    ``update(frame_bgr, t)`` takes a BGR uint8 image and its time in seconds (increasing) and returns a
    :class:`~formcheck.keypoints.PoseFrame` (NaN everywhere when nobody is found — never an error).
    ``reset()`` forgets the person (call it between unrelated videos). Sessions are created once.
    """

    def __init__(self, options: PoseOptions | None = None) -> None:
        self.options = options or PoseOptions()
        d = resolve_models_dir(self.options.models_dir)
        n = self.options.num_threads
        self._det = load_session(d / DETECTOR_FILE, n)
        self._lmk = load_session(d / LANDMARK_FILE, n)
        self._det_in = self._det.get_inputs()[0].name
        self._lmk_in = self._lmk.get_inputs()[0].name
        outs = ["landmarks", "pose_flag", "world_landmarks"]
        if self.options.refine_heatmap:
            outs.append("heatmap")
        self._seg = None
        if self.options.segmentation or self.options.lumbar_curve:  # a separate (small but 256x256) network
            self._seg = load_session(d / SEGMENTATION_FILE, n)
            self._seg_in = [i.name for i in self._seg.get_inputs()]
            outs += self._seg_in
        have = {o.name for o in self._lmk.get_outputs()}
        if not set(outs) <= have or {o.name for o in self._det.get_outputs()} != {"boxes", "scores"}:
            raise ModelError(f"{d}: unexpected model outputs {sorted(have)}; regenerate with models/convert")
        self._lmk_outs = outs
        self._smoother = LandmarkSmoother()
        self.stats = EngineStats()
        self.reset()

    # -- state ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the followed person and the smoothing history."""
        self._roi: Roi | None = None  # crop for the next frame (tracking)
        self._last_roi: Roi | None = None  # where the person was last seen
        self._last_seen_t: float | None = None
        self._last_t: float | None = None
        self._smoother.reset()

    @property
    def tracking(self) -> bool:
        """True when the next frame will be cropped from the previous landmarks (no detector run)."""
        return self._roi is not None

    # -- model steps (public so benchmarks and tools can time or reuse them) ------------------------------
    def detect(self, image_bgr: np.ndarray) -> Detections:
        """Run the detector on a whole frame: detections in frame pixels, best first."""
        tic = time.perf_counter()
        x, letterbox = preprocess_detector(image_bgr)
        boxes, scores = self._det.run(["boxes", "scores"], {self._det_in: x})
        det = decode_detections(boxes, scores, min_score=self.options.min_detection_confidence)
        det = detections_to_image(weighted_nms(det, self.options.nms_iou), letterbox)
        self.stats.detector_runs += 1
        self.stats.detector_s += time.perf_counter() - tic
        return det

    def landmarks(self, image_bgr: np.ndarray, roi: Roi) -> tuple[RawLandmarks, np.ndarray | None]:
        """Run the landmark model on ``roi``: landmarks in frame pixels and the optional mask logits."""
        tic = time.perf_counter()
        x = preprocess_landmarks(image_bgr, roi)
        out = dict(zip(self._lmk_outs, self._lmk.run(self._lmk_outs, {self._lmk_in: x})))
        raw = decode_landmarks(out["landmarks"], out["pose_flag"], out["world_landmarks"], roi,
                               heatmap=out.get("heatmap"))
        seg = None
        if self._seg is not None and raw.score >= self.options.min_tracking_confidence and self._mask_wanted(raw):
            seg = self._seg.run(["segmentation"], {k: out[k] for k in self._seg_in})[0]
        self.stats.landmark_runs += 1
        self.stats.landmarks_s += time.perf_counter() - tic
        return raw, seg

    def _mask_wanted(self, raw: RawLandmarks) -> bool:
        """The mask is asked for, or the lumbar curve is and the back can be seen (side view)."""
        if self.options.segmentation:
            return True
        from formcheck.contour import back_visible

        return back_visible(raw.xyz, raw.visibility)

    # -- person choice -----------------------------------------------------------------------------------
    def _recently_seen(self, t: float) -> bool:
        return (self._last_roi is not None and self._last_seen_t is not None
                and 0.0 <= t - self._last_seen_t <= self.options.relock_s)

    def _choose(self, det: Detections, t: float, size: tuple[int, int]) -> Roi | None:
        if len(det) == 0:
            return None
        rois = [roi_from_alignment(det.keypoints[i, 0], det.keypoints[i, 1], ROI_SCALE) for i in range(len(det))]
        if len(rois) == 1:
            return rois[0]
        if self._recently_seen(t):
            assert self._last_roi is not None
            ious = np.array([roi_iou(r, self._last_roi) for r in rois])
            if ious.max() > 0.1:
                return rois[int(ious.argmax())]
        # a fresh start: the largest, most central person
        w, h = size
        half_diag = 0.5 * float(np.hypot(w, h))
        def rank(r: Roi) -> float:
            dist = float(np.hypot(r.cx - w / 2, r.cy - h / 2)) / half_diag
            return r.size / max(w, h) * (1.0 - 0.5 * min(dist, 1.0))
        return max(rois, key=rank)

    # -- the verb --------------------------------------------------------------------------------------
    def update(self, frame_bgr: np.ndarray, t: float) -> PoseFrame:
        """Estimate the followed person's landmarks in one frame taken at ``t`` seconds."""
        tic = time.perf_counter()
        img = _as_bgr(frame_bgr)
        h, w = img.shape[:2]
        t = float(t)
        if self._last_t is not None and t <= self._last_t:
            log.debug("non-increasing timestamp %.4f after %.4f: smoothing restarts", t, self._last_t)
            self._smoother.reset()
        self._last_t = t
        self.stats.frames += 1

        lm: RawLandmarks | None = None
        seg = None
        roi = self._roi if self.options.tracking else None
        if roi is not None:
            lm, seg = self.landmarks(img, roi)
            if lm.score < self.options.min_tracking_confidence:
                lm = None  # lost: look for the person again in this very frame
        if lm is None and roi is None and self.options.tracking and self._recently_seen(t):
            # lost a moment ago: look where the person was first (brief occlusion, a detector that
            # misses a small person next to a larger one)
            roi = self._last_roi
            assert roi is not None
            lm, seg = self.landmarks(img, roi)
            if lm.score < self.options.min_tracking_confidence:
                lm = None
        if lm is None:
            roi = self._choose(self.detect(img), t, (w, h))
            if roi is not None:
                lm, seg = self.landmarks(img, roi)
                if lm.score < self.options.min_tracking_confidence:
                    lm = None
        if lm is None or roi is None:
            self._roi = None
            self._smoother.reset()
            self.stats.total_s += time.perf_counter() - tic
            return PoseFrame.empty(t, (w, h))

        xyz, world, vis, aux = lm.xyz, lm.world, lm.visibility, lm.aux
        if self.options.smooth:
            xyz, world, vis, aux = self._smoother.update(t, xyz, world, vis, aux)
        next_roi = roi_from_alignment(aux[0], aux[1], ROI_SCALE)
        self._roi = next_roi if next_roi.size >= 8 and np.isfinite(next_roi.size) else None
        self._last_roi, self._last_seen_t = roi, t
        mask = warp_segmentation(seg, roi, (w, h)) if seg is not None else None
        curve = float("nan")
        if self.options.lumbar_curve and mask is not None:
            from formcheck.contour import lumbar_curve

            curve = lumbar_curve(mask, xyz, vis)
        if not self.options.segmentation:
            mask = None  # only the scalar is kept (a mask per frame would fill the memory)
        self.stats.found += 1
        self.stats.total_s += time.perf_counter() - tic
        return PoseFrame(xyz, world, vis, lm.presence, t, (w, h), segmentation=mask, lumbar_curve=curve)


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise InputError(f"frame: expected a numpy image array, got {type(frame).__name__}")
    if frame.ndim == 2:
        import cv2

        frame = cv2.cvtColor(_as_uint8(frame), cv2.COLOR_GRAY2BGR)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        import cv2

        frame = cv2.cvtColor(_as_uint8(frame), cv2.COLOR_BGRA2BGR)
    elif not (frame.ndim == 3 and frame.shape[2] == 3):
        raise InputError(f"frame: expected an (H, W, 3) BGR image, got shape {frame.shape}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise InputError(f"frame: image too small {frame.shape[:2]}")
    return _as_uint8(frame)


def _as_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    if np.issubdtype(frame.dtype, np.floating) and np.nanmax(frame) <= 1.0:
        return np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.clip(frame, 0, 255).astype(np.uint8)


def estimate_video(path: str | Path, engine: PoseEngine | None = None, progress: bool = True,
                   max_side: int | None = None, info: dict[str, Any] | None = None) -> PoseSequence:
    """Landmarks of the person in a video file, one row per decoded frame (NaN where not found).

    ``engine`` is reset first (a new one is made if None); ``max_side`` downscales frames before pose
    estimation (landmarks are then in the downscaled pixels, ``image_size`` says which). If ``info`` is
    a dict it receives: frames, found, truncated, error, fps, rotation, image_size, decode_s,
    detector_s, landmarks_s, detector_runs, wall_s. A truncated/corrupt stream keeps what was readable.
    """
    from formcheck.video import open_video

    engine = engine or PoseEngine()
    engine.reset()
    frames: list[PoseFrame] = []
    start = time.perf_counter()
    s0 = EngineStats(**engine.stats.as_dict())
    with open_video(path, max_side=max_side) as video:
        bar = _progress(progress, video.frame_count, Path(path).name)
        try:
            if bar is not None:
                bar.start()
                task = bar.add_task("pose", total=video.frame_count or None)
            # decoding runs in a second thread, overlapped with inference (both release the GIL)
            for vf in prefetch(video):
                frames.append(engine.update(vf.image_bgr, vf.t))
                if bar is not None:
                    bar.advance(task)
        finally:
            if bar is not None:
                bar.stop()
        seq = PoseSequence.from_frames(frames, image_size=video.size, fps=video.fps)
        if video.truncated:
            log.warning("%s: video is truncated/corrupt after %d frames; landmarks cover only those",
                        path, len(frames))
        if info is not None:
            st = engine.stats
            info.update(frames=len(seq), found=int(seq.found.sum()), truncated=video.truncated,
                        error=video.error, fps=video.fps, rotation=video.rotation, image_size=video.size,
                        decode_s=video.decode_s, detector_s=st.detector_s - s0.detector_s,
                        landmarks_s=st.landmarks_s - s0.landmarks_s,
                        detector_runs=st.detector_runs - s0.detector_runs,
                        wall_s=time.perf_counter() - start)
    return seq


_DONE = object()


def prefetch(iterable: Iterable[T_], depth: int = 4) -> Iterator[T_]:
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead; exceptions are re-raised here.

    The producer thread is finished when this generator returns (normally, on error, or when closed)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed over to the consumer and re-raised there
            q.put(exc)

    worker = threading.Thread(target=produce, name="formcheck-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            worker.join(timeout=0.05)


def _progress(enabled: bool, total: int, name: str) -> Any:
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(f"pose {name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True)
