"""Frame sources for the live loop: a webcam, a video file played as if it were a camera, synthetic frames.

Each is an iterable of :class:`~formcheck.live.runner.CapturedFrame` stamped at capture time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from formcheck.errors import OptionsError, VideoError
from formcheck.live.runner import CapturedFrame

log = logging.getLogger(__name__)


class FileCamera:
    """A video file played as a camera. ``realtime=True`` paces frames at the file's timestamps (frames
    the pipeline has no time for are then dropped, as with a webcam); ``realtime=False`` delivers
    them as fast as they are taken (with a lock-step runner: every frame, exactly once)."""

    def __init__(self, path: str | Path, realtime: bool = True, speed: float = 1.0) -> None:
        if not speed > 0:
            raise OptionsError("speed", "> 0", speed)
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such video file")
        self.realtime = realtime
        self.speed = speed
        self.fps = float("nan")
        self.size: tuple[int, int] | None = None
        self.truncated = False

    def __iter__(self) -> Iterator[CapturedFrame]:
        from formcheck.video import open_video

        with open_video(self.path) as video:
            self.fps = float(getattr(video, "fps", float("nan")))
            self.size = getattr(video, "size", None)
            start = time.perf_counter()
            for vf in video:
                if self.realtime:
                    due = start + vf.t / self.speed
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                yield CapturedFrame(vf.image_bgr, float(vf.t), int(vf.index), time.perf_counter())
            self.truncated = bool(getattr(video, "truncated", False))
            if self.truncated:  # a broken file behaves as a camera that failed: the session keeps what it had
                raise VideoError(f"{self.path}: the video stopped at {vf.t:.1f} s "
                                 f"({getattr(video, 'error', None) or 'decoding error'})")


class WebcamSource:
    """A webcam by index (:func:`formcheck.video.open_camera`).

    Raises :class:`VideoError` when the camera cannot be opened, and when it stops delivering frames
    (unplugged, taken by another program): the live loop reports that as ``camera_lost`` and keeps
    the session recorded so far.
    """

    def __init__(self, index: int = 0, size: tuple[int, int] | None = (1280, 720)) -> None:
        if not (isinstance(index, int) and index >= 0):
            raise OptionsError("camera", "a camera index >= 0", index)
        self.index = index
        self.size = size

    def __iter__(self) -> Iterator[CapturedFrame]:
        from formcheck.video import open_camera

        w, h = self.size if self.size else (None, None)
        with open_camera(self.index, w, h) as cam:
            start = time.perf_counter()
            for vf in cam:
                now = time.perf_counter()
                yield CapturedFrame(vf.image_bgr, now - start, int(vf.index), now)
            if getattr(cam, "truncated", False):
                raise VideoError(f"camera {self.index} stopped delivering frames")


class SyntheticSource:
    """Pre-decoded frames replayed at ``fps`` in real time (for the latency benchmark): no decoding cost
    in the measurement, only what a camera delivers."""

    def __init__(self, frames: Sequence[np.ndarray], fps: float = 30.0, duration_s: float = 10.0) -> None:
        if not frames:
            raise OptionsError("frames", "at least one frame", 0)
        if not fps > 0:
            raise OptionsError("fps", "> 0", fps)
        self.frames = frames
        self.fps = fps
        self.duration_s = duration_s

    def __iter__(self) -> Iterator[CapturedFrame]:
        n = round(self.duration_s * self.fps)
        start = time.perf_counter()
        for i in range(n):
            due = start + i / self.fps
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            now = time.perf_counter()
            yield CapturedFrame(self.frames[i % len(self.frames)], i / self.fps, i, now)
