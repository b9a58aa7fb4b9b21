"""Analysis of a recorded session: one video, one exercise -> reps, holds, faults, annotated video.

:func:`analyze_video` is a pure function of (video, spec, overrides, options): it reads nothing but the
video and the spec and writes nothing but the annotated video (when asked), so it can be shipped to
Ray/Dask as it is. It streams: frames are decoded, run through the pose engine, measured, fed to the
exercise tracker and written to the annotated video one by one, so memory stays bounded whatever the
length of the video. Three threads overlap the work (the machine has 2 cores): decoding, inference +
exercise logic, and drawing + H.264 encoding; bounded queues between them keep memory flat.

Large frames are downscaled before inference (``AnalysisOptions.max_side``). A truncated or corrupt file
yields results for the part that could be read, marked ``partial``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import logging
import math
import queue
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from formcheck.errors import InputError, OptionsError, VideoError
from formcheck.report import Series, Thumbnail
from formcheck.report.schema import Fault, Hold, KeyMeasure, Prescription, Rep, ResultDocument, VideoInfo

if TYPE_CHECKING:
    from formcheck.exercises import ExerciseResult, ExerciseSpec
    from formcheck.keypoints import PoseFrame

log = logging.getLogger(__name__)

__all__ = [
    "AnalysisOptions",
    "AnalysisResult",
    "NoPersonError",
    "StreamingMeasures",
    "UnknownExerciseError",
    "analyze_video",
    "build_document",
    "gauge_range",
    "interpolate_pose",
    "pose_options_for",
    "resolve_exercise",
]

ProgressFn = Callable[[int, int], None]


class UnknownExerciseError(InputError):
    """The exercise id is not in the spec library."""


class NoPersonError(InputError):
    """No person was found in any frame of the video."""


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse (not what: that is the video, the spec and the overrides).

    * ``max_side``: frames are downscaled so that their longer side is at most this many pixels before
      inference (and the annotated video has that size); 1080p/4K phone videos are analysed at 720p.
    * ``pose_rate``: run the pose model at most this many times per second of video; the frames in
      between get landmarks interpolated linearly from the two estimated frames around them (exact
      timing is kept: every frame is measured and fed to the exercise engine). None: every frame.
      15 Hz keeps analysis of 30 fps video faster than real time on two cores; see BENCHMARKS.md for
      its effect on accuracy.
    * ``video_path``: where to write the annotated H.264 MP4 (None: no video).
    * ``crf`` / ``preset``: libx264 quality and speed of the annotated video.
    * ``thumbnails``: at most this many JPEG snapshots of faulty moments (for the HTML report), each
      ``thumbnail_width`` pixels wide.
    * ``queue_size``: frames buffered between the decoding, inference and encoding threads.
    * ``pose_options``: options of the pose engine (default: one inference thread, as the pipeline
      already keeps both cores busy).
    * ``progress``: called as ``progress(frames_done, frames_estimated)`` from the analysing thread.
    """

    max_side: int | None = 1280
    pose_rate: float | None = 15.0
    video_path: Path | None = None
    crf: int = 24
    preset: str = "ultrafast"
    thumbnails: int = 12
    thumbnail_width: int = 360
    queue_size: int = 4
    min_visibility: float = 0.5
    progress: ProgressFn | None = field(default=None, compare=False)
    pose_options: Any = None  # formcheck.pose.PoseOptions

    def __post_init__(self) -> None:
        if self.max_side is not None and not (isinstance(self.max_side, int) and self.max_side >= 64):
            raise OptionsError("max_side", "an integer >= 64 or None", self.max_side)
        if self.pose_rate is not None and not (isinstance(self.pose_rate, (int, float))
                                               and 1.0 <= float(self.pose_rate) <= 240.0):
            raise OptionsError("pose_rate", "frames per second in 1..240, or None (every frame)", self.pose_rate)
        if not (isinstance(self.crf, int) and 0 <= self.crf <= 51):
            raise OptionsError("crf", "an integer 0..51", self.crf)
        if self.preset not in ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"):
            raise OptionsError("preset", "an x264 preset (ultrafast .. slow)", self.preset)
        if not (isinstance(self.thumbnails, int) and self.thumbnails >= 0):
            raise OptionsError("thumbnails", "an integer >= 0", self.thumbnails)
        if not 32 <= self.thumbnail_width <= 1920:
            raise OptionsError("thumbnail_width", "32..1920", self.thumbnail_width)
        if not (isinstance(self.queue_size, int) and 1 <= self.queue_size <= 64):
            raise OptionsError("queue_size", "an integer 1..64", self.queue_size)
        if not 0.0 <= self.min_visibility <= 1.0:
            raise OptionsError("min_visibility", "0..1", self.min_visibility)
        if self.video_path is not None:
            object.__setattr__(self, "video_path", Path(self.video_path))


@dataclass
class AnalysisResult:
    """What :func:`analyze_video` found: the ``result.json`` document plus what the reports need."""

    document: ResultDocument
    exercise_result: ExerciseResult
    series: Series | None
    thumbnails: tuple[Thumbnail, ...]
    video_path: Path | None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return self.document.partial

    @property
    def rep_count(self) -> int:
        return self.document.rep_count

    def to_dict(self) -> dict[str, Any]:
        """The ``result.json`` document as plain JSON-able data."""
        return self.document.model_dump(mode="json")


# ------------------------------------------------------------------------------------------------
# Exercise lookup
# ------------------------------------------------------------------------------------------------

def resolve_exercise(exercise: str | Path | ExerciseSpec) -> ExerciseSpec:
    """An :class:`ExerciseSpec` from a spec, an exercise id or a YAML path; an unknown id raises
    :class:`UnknownExerciseError` naming the closest known id."""
    from formcheck.exercises import ExerciseSpec, load_spec, specs_dir

    if isinstance(exercise, ExerciseSpec):
        return exercise
    text = str(exercise)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return load_spec(text)
    known = sorted(p.stem for p in specs_dir().glob("*.yaml"))  # ids only: one broken spec spoils no other
    if text not in known:
        close = difflib.get_close_matches(text.lower().replace("-", "_").replace(" ", "_"), known, n=1,
                                          cutoff=0.4)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UnknownExerciseError(f"unknown exercise '{text}'; {hint}run `formcheck exercises` to list the "
                                   f"{len(known)} exercises")
    return load_spec(text)


# ------------------------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------------------------

_END = object()


class _Stage(threading.Thread):
    """A worker thread; an exception stops the whole pipeline and is re-raised in the caller."""

    def __init__(self, name: str, target: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self._fn = target
        self._stop_all = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller in join_raise
            self.error = exc
            self._stop_all.set()

    def join_raise(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return _END


# ------------------------------------------------------------------------------------------------
# Measures, one frame at a time
# ------------------------------------------------------------------------------------------------

class StreamingMeasures:
    """Per-frame measures in a fixed landmark space.

    With ``space: auto`` the space follows the camera view (image in side/oblique view, world in front
    view); the view is the running median of the shoulder-width ratio over the first ``settle`` frames
    with a person, then frozen, so a whole session is measured in one space as the batch path does.
    """

    def __init__(self, names: list[str], space: str, visibility: float, settle: int = 45) -> None:
        self.names = list(dict.fromkeys(names + ["shoulder_width_ratio"]))
        self.space = space
        self.visibility = visibility
        self.settle = settle
        self._ratios: list[float] = []
        self._frozen: str | None = None if space == "auto" else space
        self._view_ratios: list[float] = []  # the camera view, settled like the space (any space)
        self._view: str | None = None
        self._lumbar = None
        if "lumbar_flattening" in self.names:  # a measure with history (formcheck.contour)
            from formcheck.contour import LumbarReference

            self._lumbar = LumbarReference()
        # measures with history against the person's own resting level (formcheck.resting): the
        # per-frame measure each follows is computed too, and fed to its reference every frame
        from formcheck.measures import OWN_REST_MEASURES

        self._own_rest: dict[str, tuple[str, Any]] = {}
        for name, (base, rest) in OWN_REST_MEASURES.items():
            if name in self.names:
                from formcheck.resting import RestingReference

                self.names = list(dict.fromkeys(self.names + [base]))
                self._own_rest[name] = (base, RestingReference(**rest))

    @property
    def view(self) -> str | None:
        """The camera view (side / oblique / front) once settled: the median shoulder-width ratio of the
        first ``settle`` frames with a person; None before."""
        return self._view

    def view_so_far(self) -> str:
        """The settled view, else the median of the frames seen so far (``unknown`` with none): for a
        recording that ends before the view settled."""
        from formcheck.measures import view_from_ratio

        if self._view is not None:
            return self._view
        return view_from_ratio(float(np.median(self._view_ratios))) if self._view_ratios else "unknown"

    def _observe_view(self, ratio: float) -> None:
        if self._view is None and math.isfinite(ratio):
            self._view_ratios.append(ratio)
            if len(self._view_ratios) >= self.settle:
                self._view = self.view_so_far()

    def _space(self, ratio: float) -> str:
        from formcheck.measures import view_from_ratio

        if self._frozen is not None:
            return self._frozen
        if math.isfinite(ratio):
            self._ratios.append(ratio)
        if not self._ratios:
            return "image"
        view = view_from_ratio(float(np.median(self._ratios)))
        space = "world" if view == "front" else "image"
        if len(self._ratios) >= self.settle:
            self._frozen = space
        return space

    def __call__(self, frame: PoseFrame) -> dict[str, float]:
        from formcheck.measures import frame_measures

        if not frame.found:
            return {n: float("nan") for n in self.names}
        m = frame_measures(frame, self.names, space="image", visibility=self.visibility)
        self._observe_view(m.get("shoulder_width_ratio", float("nan")))
        space = self._space(m.get("shoulder_width_ratio", float("nan")))
        if space != "image":
            world = frame_measures(frame, self.names, space=space, visibility=self.visibility)
            world["shoulder_width_ratio"] = m["shoulder_width_ratio"]
            m = world
        if self._lumbar is not None:
            m["lumbar_flattening"] = self._lumbar.update(frame.lumbar_curve, frame.t)
        for name, (base, ref) in self._own_rest.items():
            m[name] = ref.update(m[base], frame.t)
        return m


# ------------------------------------------------------------------------------------------------
# The analysis
# ------------------------------------------------------------------------------------------------

@dataclass
class _Work:
    image: np.ndarray
    pose: PoseFrame
    state: Any  # OverlayState
    t: float
    thumb: tuple[str, str, str] | None  # (fault id, severity, message) to snapshot


_StreamingMeasures = StreamingMeasures  # old private names, kept for callers that used them


def interpolate_pose(a: PoseFrame, b: PoseFrame, t: float) -> PoseFrame:
    """Landmarks at time ``t`` between two estimated frames (linear; the nearer frame where only one of
    them found the person; empty where neither did)."""
    from formcheck.keypoints import PoseFrame

    if not a.found and not b.found:
        return PoseFrame.empty(t, a.image_size)
    span = b.t - a.t
    w = 0.0 if span <= 0 else min(max((t - a.t) / span, 0.0), 1.0)
    if not (a.found and b.found):  # the person appears or disappears in between: nearest frame
        near = a if w < 0.5 else b
        if not near.found:
            return PoseFrame.empty(t, a.image_size)
        return PoseFrame(near.xyz, near.world, near.visibility, near.presence, t, near.image_size,
                         lumbar_curve=near.lumbar_curve)

    def lerp(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = x + (y - x) * np.float32(w)
        # a landmark found in one frame only: take the nearer frame's value
        near = x if w < 0.5 else y
        return np.where(np.isfinite(out), out, near)

    curve = float(lerp(np.float32(a.lumbar_curve), np.float32(b.lumbar_curve)))
    return PoseFrame(lerp(a.xyz, b.xyz), lerp(a.world, b.world), lerp(a.visibility, b.visibility),
                     lerp(a.presence, b.presence), t, b.image_size, lumbar_curve=curve)


def pose_options_for(spec: Any, base: Any = None) -> Any:
    """``base`` pose options (default ones if None) with ``lumbar_curve`` switched on when the exercise
    spec reads the ``lumbar_curve`` or ``lumbar_flattening`` measure (the segmentation mask costs ~10 ms
    per frame, so only then)."""
    from dataclasses import replace

    from formcheck.pose import PoseOptions

    base = base or PoseOptions()
    uses = any(str(m).removesuffix("_velocity") in ("lumbar_curve", "lumbar_flattening")
               for m in getattr(spec, "measures", []))
    return replace(base, lumbar_curve=True) if uses and not base.lumbar_curve else base


def _source_size(reader: Any) -> tuple[int, int]:
    return tuple(int(v) for v in reader.size)  # type: ignore[return-value]


# Gauge ranges of signed angle measures (degrees); unsigned angles use 0..180 (0..120 for small targets).
_SIGNED_GAUGES: dict[str, tuple[float, float]] = {
    "body_line": (-30.0, 30.0), "bridge_line": (-30.0, 30.0), "ankle_dorsiflexion": (-60.0, 40.0),
    "leg_elevation": (-30.0, 90.0), "thigh_elevation": (-60.0, 90.0), "arm_elevation": (-60.0, 120.0),
    "trunk_to_horizontal": (-30.0, 90.0), "knee_valgus": (-30.0, 30.0), "pelvis_tilt": (-30.0, 30.0),
    "shoulder_tilt": (-30.0, 30.0),
}


def gauge_range(lo: float | None, hi: float | None, unit: str, name: str | None = None) -> tuple[float, float]:
    """The range of the overlay's gauge for measure ``name`` with target band ``lo``..``hi`` in ``unit``
    (the band always fits, with a margin)."""
    band = [v for v in (lo, hi) if v is not None and math.isfinite(v)]
    if unit == "deg":
        stem = (name or "").removesuffix("_left").removesuffix("_right")
        if stem in _SIGNED_GAUGES:
            a, b = _SIGNED_GAUGES[stem]
        else:
            a, b = 0.0, (120.0 if hi is not None and hi <= 100 else 180.0)
        for v in band:
            a, b = min(a, v - 10.0), max(b, v + 10.0)
        return a, b
    if not band:
        return 0.0, 1.0
    a, b = min(band), max(band)
    pad = max(abs(b - a), abs(b), 0.1)
    return min(0.0, a - pad), b + pad


def analyze_video(video: str | Path | Any, exercise: str | Path | ExerciseSpec, overrides: Any = None,
                  side: Literal["left", "right"] | None = None,
                  options: AnalysisOptions | None = None) -> AnalysisResult:
    """Analyse one recorded session of one exercise.

    ``exercise`` is an id (``"wall_squat"``), a spec path or an :class:`ExerciseSpec`; ``overrides`` are
    the patient's :class:`formcheck.exercises.Overrides` (or a dict); ``side`` the side exercised for
    one-sided exercises (None: both / automatic). Returns an :class:`AnalysisResult` whose ``document`` is
    the ``result.json``. Raises :class:`VideoError` for an unreadable video, :class:`NoPersonError` when
    nobody was found, :class:`UnknownExerciseError` for an unknown exercise.

    ``video`` may also be an opened frame source like :class:`formcheck.video.VideoReader`: an iterable of
    :class:`formcheck.video.VideoFrame` with ``fps``, ``size``, ``frame_count``, ``truncated``, ``error``
    and ``close()`` (benchmarks use it to stream a long session without a long file).
    """
    from formcheck.exercises import ExerciseTracker, apply_overrides
    from formcheck.exercises.conditions import resolve
    from formcheck.exercises.runner import view_measures
    from formcheck.overlay import OverlayStateBuilder, draw_overlay
    from formcheck.pose import PoseEngine
    from formcheck.video import open_video

    opts = options or AnalysisOptions()
    if side not in (None, "left", "right"):
        raise OptionsError("side", "'left', 'right' or None", side)
    base_spec = resolve_exercise(exercise)
    spec = apply_overrides(base_spec, overrides)
    t_start = time.perf_counter()
    from formcheck.pose import PoseOptions

    # one inference thread by default: decoding and encoding run on the other core (measured: less CPU,
    # faster); the back contour (segmentation head, ~+10 ms/frame) only when the spec reads lumbar_curve
    engine = PoseEngine(pose_options_for(spec, opts.pose_options or PoseOptions(threads=1)))
    if isinstance(video, (str, Path)):
        video = Path(video)
        reader = open_video(video, max_side=opts.max_side)
    else:  # an already opened frame source (see the docstring)
        reader = video
        video = Path(str(getattr(reader, "path", "<frames>")))
    size = _source_size(reader)
    eff_side = side or (spec.sides if spec.sides in ("left", "right") else None)
    if side is not None and spec.sides == "both":  # the tracker's own check, before any frame is read
        ExerciseTracker(spec, None, side)
    # A spec with per-view blocks (by_view) is specialised once the camera view has settled on the first
    # frames with a person (StreamingMeasures.view, as the live run does): the frames until then are held
    # and replayed through the specialised tracker, so every frame is counted.
    measures = StreamingMeasures(view_measures(spec, eff_side), spec.camera.space, opts.min_visibility)
    tracker: Any = None
    builder: Any = None
    key_name, unit = resolve(spec.rep.measure, eff_side), "deg"

    def start(view: str | None) -> None:
        nonlocal spec, tracker, builder, key_name, unit
        spec = spec.for_view(view)
        tracker = ExerciseTracker(spec, None, side)
        key_name = resolve(spec.rep.measure, eff_side)
        key = spec.key_measure()
        lo, hi = key.get("target_min"), key.get("target_max")
        unit = str(key.get("unit") or "deg")
        gmin, gmax = gauge_range(lo, hi, unit, key_name)
        builder = OverlayStateBuilder(
            title=spec.name + (f" ({eff_side})" if eff_side else ""), measure_name=key_name, unit=unit,
            target_min=lo, target_max=hi, gauge_min=gmin, gauge_max=gmax, reps_target=spec.prescription.reps,
            hold_target_s=spec.prescription.hold_s)

    held: list[tuple[Any, PoseFrame, dict[str, float]]] = []  # frames before the view settled
    if not spec.by_view:
        start(None)

    writer = None
    if opts.video_path is not None:
        from formcheck.report.video import H264Writer

        fps = reader.fps if math.isfinite(reader.fps) and reader.fps > 0 else 30.0
        try:
            writer = H264Writer(opts.video_path, size, fps, crf=opts.crf, preset=opts.preset)
        except BaseException:
            reader.close()
            raise

    stop = threading.Event()
    decoded: queue.Queue[Any] = queue.Queue(maxsize=opts.queue_size)
    to_draw: queue.Queue[Any] = queue.Queue(maxsize=opts.queue_size)
    thumbs: list[Thumbnail] = []
    timings = {"inference_s": 0.0, "draw_encode_s": 0.0}

    def decode() -> None:
        try:
            for vf in reader:
                if not _put(decoded, vf, stop):
                    return
        finally:
            _put(decoded, _END, stop)

    def draw_encode() -> None:
        import cv2

        while True:
            item = _get(to_draw, stop)
            if item is _END:
                return
            tic = time.perf_counter()
            annotated = None
            if writer is not None or item.thumb is not None:
                annotated = draw_overlay(item.image, item.pose, item.state, inplace=True,
                                         min_visibility=opts.min_visibility)
            if writer is not None:
                writer.write(annotated, item.t)
            if item.thumb is not None and annotated is not None:
                h, w = annotated.shape[:2]
                tw = min(opts.thumbnail_width, w)
                small = cv2.resize(annotated, (tw, max(1, round(h * tw / w))), interpolation=cv2.INTER_AREA)
                ok, jpg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
                if ok:
                    fid, sev, msg = item.thumb
                    thumbs.append(Thumbnail(item.t, fid, sev, msg, jpg.tobytes()))
            timings["draw_encode_s"] += time.perf_counter() - tic

    decoder = _Stage("formcheck-decode", decode, stop)
    drawer = _Stage("formcheck-draw", draw_encode, stop)
    ts = array("d")
    values = array("f")
    counts = {"frames": 0, "with_person": 0, "thumbs": 0, "inferred": 0}
    estimate = max(0, int(getattr(reader, "frame_count", 0) or 0))
    src_fps = reader.fps if math.isfinite(reader.fps) and reader.fps > 0 else 30.0
    stride_dt = 1.0 / opts.pose_rate - 0.25 / src_fps if opts.pose_rate else 0.0

    def process(vf: Any, pose: PoseFrame) -> bool:
        m = measures(pose)
        if tracker is None:
            held.append((vf, pose, m))
            if measures.view is None:
                return True
            return flush_held(measures.view)
        return step(vf, pose, m)

    def flush_held(view: str) -> bool:
        start(view)
        items = list(held)
        held.clear()
        return all(step(*item) for item in items)

    def step(vf: Any, pose: PoseFrame, m: dict[str, float]) -> bool:
        events = tracker.update(m, vf.t)
        value = m.get(key_name, float("nan"))
        state = builder.update(events, vf.t, value)
        thumb = None
        if counts["thumbs"] < opts.thumbnails:
            for ev in events:
                if str(ev.kind) == "fault_raised":
                    data = ev.data or {}
                    fid = str(data.get("id", "fault"))
                    thumb = (fid, str(data.get("severity", "warning")), ev.message or fid)
                    counts["thumbs"] += 1
                    break
        counts["frames"] += 1
        counts["with_person"] += bool(pose.found)
        ts.append(vf.t)
        values.append(value)
        if not _put(to_draw, _Work(vf.image_bgr, pose, state, vf.t, thumb), stop):
            return False
        if opts.progress is not None:
            opts.progress(counts["frames"], max(estimate, counts["frames"]))
        return True

    ok = False
    try:
        decoder.start()
        drawer.start()
        prev: PoseFrame | None = None
        pending: list[Any] = []  # frames between two pose estimates (fewer than fps / pose_rate)
        while True:
            vf = _get(decoded, stop)
            if vf is _END:
                break
            if prev is not None and stride_dt > 0 and vf.t - prev.t < stride_dt:
                pending.append(vf)
                continue
            tic = time.perf_counter()
            pose = engine.update(vf.image_bgr, vf.t)
            timings["inference_s"] += time.perf_counter() - tic
            counts["inferred"] += 1
            for pf in pending:
                if not process(pf, interpolate_pose(prev, pose, pf.t)):  # type: ignore[arg-type]
                    break
            pending.clear()
            if not process(vf, pose):
                break
            prev = pose
        for pf in pending:  # after the last estimate: keep its landmarks
            assert prev is not None
            process(pf, interpolate_pose(prev, prev, pf.t))
        if tracker is None:  # the recording ended before the view settled: the view seen so far
            flush_held(measures.view_so_far())
        _put(to_draw, _END, stop)
        decoder.join_raise()
        drawer.join_raise()
        ok = True
    finally:
        if not ok:
            stop.set()
            decoder.join()
            drawer.join()
            if writer is not None:
                writer.abort()
        reader.close()

    frames, with_person = counts["frames"], counts["with_person"]
    last_t = ts[-1] if len(ts) else 0.0
    timings["pose_frames"] = float(counts["inferred"])
    if frames == 0:  # the reader raises first in practice; kept for readers that do not
        if writer is not None:
            writer.abort()
        raise VideoError(f"{video}: contains no video frames")
    if writer is not None:
        writer.close()
    if with_person == 0:
        if writer is not None:
            writer.path.unlink(missing_ok=True)
        raise NoPersonError(f"{video}: no person found in any of its {frames} frames; film the whole body, "
                            f"{_view_hint(spec)}, in good light")

    result = tracker.result()
    fps = reader.fps if math.isfinite(reader.fps) and reader.fps > 0 else None
    dt = 1.0 / fps if fps else (float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0)
    duration = last_t + dt
    warnings = list(getattr(result, "warnings", []) or [])
    frac = with_person / frames
    if frac < 0.8:
        warnings.append(f"A person was found in only {100 * frac:.0f}% of the frames; results may miss reps.")
    if reader.truncated:
        warnings.append(f"The video could not be read to the end ({reader.error or 'decoding error'}); "
                        f"results cover the first {duration:.1f} s.")
    info = VideoInfo(path=str(video), fps=fps, duration_s=round(duration, 4), frames=frames, width=size[0],
                     height=size[1], rotation=int(getattr(reader, "rotation", 0) or 0))
    doc = build_document(result, spec, info, frames_with_person=with_person, partial=bool(reader.truncated),
                         side=eff_side, key_name=key_name, warnings=warnings)
    series = Series(key_name, np.frombuffer(ts, np.float64).copy(), np.frombuffer(values, np.float32).astype(
        np.float64), unit=unit)
    timings["total_s"] = time.perf_counter() - t_start
    timings["decode_s"] = float(getattr(reader, "decode_s", 0.0))
    return AnalysisResult(doc, result, series, tuple(sorted(thumbs, key=lambda th: th.t)),
                          writer.path if writer is not None else None, timings)


def _view_hint(spec: ExerciseSpec) -> str:
    views = list(spec.camera.views)
    return f"seen from the {' or '.join(views)}" if views else "in view"


def _f(v: Any, ndigits: int = 3) -> float | None:
    """A finite float rounded for the report (None for missing / NaN)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f, ndigits) if math.isfinite(f) else None


def _s(v: float) -> float:
    return round(float(v), 3)


def build_document(result: ExerciseResult, spec: ExerciseSpec, video: VideoInfo, *, frames_with_person: int,
                   partial: bool, side: str | None, key_name: str | None = None,
                   warnings: list[str] | None = None) -> ResultDocument:
    """The ``result.json`` document of an exercise result (validated by the schema)."""
    from formcheck import __version__

    key = spec.key_measure()
    p = spec.prescription
    sides = "each" if p.per_side or spec.sides == "each_side" else (spec.sides if spec.sides in ("left", "right")
                                                                      else None)
    reps = sorted(result.reps, key=lambda r: r.start_s)
    return ResultDocument(
        formcheck_version=__version__,
        generated_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        exercise=spec.id, exercise_name=spec.name, side=side,
        prescription=Prescription(reps=p.reps, hold_s=p.hold_s, sets=p.sets, sides=sides),
        key_measure=KeyMeasure(name=key_name or str(key["name"]), unit=str(key.get("unit") or "deg"),
                               target_min=_f(key.get("target_min")), target_max=_f(key.get("target_max"))),
        video=video,
        rep_count=int(result.rep_count),
        reps=[Rep(index=i, side=r.side, start_s=_s(r.start_s), end_s=_s(r.end_s), peak=_f(r.peak, 2),
                  range_of_motion=_f(r.range_of_motion, 2), hold_s=_f(r.hold_s), complete=bool(r.complete),
                  form_score=_f(r.form_score, 1), faults=list(r.faults)) for i, r in enumerate(reps, 1)],
        holds=[Hold(start_s=_s(h.start_s), end_s=_s(h.end_s), duration_s=_s(max(0.0, h.duration_s)),
                    completed=h.completed) for h in sorted(result.holds, key=lambda h: h.start_s)],
        faults=[Fault(id=f.id, severity=f.severity, start_s=_s(f.start_s),  # type: ignore[arg-type]
                      end_s=_s(max(f.end_s, f.start_s)), message=f.message)
                for f in sorted(result.faults, key=lambda f: f.start_s)],
        form_score=_f(result.form_score, 1),
        frames_with_person=frames_with_person,
        partial=partial,
        warnings=warnings or [],
    )


_gauge_range = gauge_range
