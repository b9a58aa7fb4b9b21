"""Video input: files (PyAV) and webcams (OpenCV), both yielding :class:`VideoFrame`.

* ``open_video(path)`` honours the rotation in the stream's display matrix (phone videos), gives real
  timestamps from the packets' pts (variable frame rate is kept), can downscale (``max_side``), and stops
  cleanly on a corrupt or truncated stream: ``reader.truncated`` is then True (a decoding error, or fewer
  frames than the container's index declares) and everything decoded before is kept. A file that is not a video, has no video stream or no decodable frame raises
  :class:`~formcheck.errors.VideoError` with a one-line message.
* ``open_camera(index)`` reads a webcam; timestamps are seconds since the camera was opened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from formcheck.errors import VideoError

log = logging.getLogger(__name__)

__all__ = ["CameraReader", "VideoFrame", "VideoReader", "open_camera", "open_video"]


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One decoded frame: BGR uint8 (H, W, 3) after rotation/downscale, time in seconds, index from 0."""

    image_bgr: np.ndarray
    t: float
    index: int


def _scaled_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    # even sizes keep swscale on its fast path
    return max(2, round(w * s / 2) * 2), max(2, round(h * s / 2) * 2)


def _rotate(img: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate counter-clockwise by ``rotation`` degrees (a multiple of 90), as the display matrix says."""
    import cv2

    r = rotation % 360
    if r == 90:
        return cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if r == 180:
        return cv2.rotate(img, cv2.ROTATE_180)
    if r == 270:
        return cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    return img


class VideoReader:
    """Iterator over the frames of a video file (use :func:`open_video`)."""

    def __init__(self, path: str | Path, max_side: int | None = None, every: int = 1) -> None:
        import av

        self.path = Path(path)
        if not isinstance(every, int) or every < 1:
            from formcheck.errors import OptionsError

            raise OptionsError("every", "an integer >= 1", every)
        self.every = every
        if max_side is not None and max_side < 16:
            from formcheck.errors import OptionsError

            raise OptionsError("max_side", "an integer >= 16 or None", max_side)
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise VideoError(f"{self.path}: is a directory, not a video file")
        if self.path.stat().st_size == 0:
            raise VideoError(f"{self.path}: empty file, not a video")
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
            raise VideoError(f"{self.path}: not a readable video ({_short(exc)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(f"{self.path}: contains no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        cc = self._stream.codec_context
        if not cc.width or not cc.height:
            self._container.close()
            raise VideoError(f"{self.path}: video stream has no frame size (zero frames?)")
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        self.fps: float = float(rate) if rate else float("nan")
        self.rotation: int = self._probe_rotation()
        w, h = _scaled_size(cc.width, cc.height, max_side)
        self._decode_size = (w, h)
        self.size: tuple[int, int] = (h, w) if self.rotation % 180 else (w, h)
        self.frame_count: int = self._estimate_count()
        self.truncated: bool = False
        self.error: str | None = None
        self.frames_read = 0
        self.decode_s = 0.0  # seconds spent decoding + converting (for benchmarks)
        self._iterated = False

    def _probe_rotation(self) -> int:
        rot = 0
        try:
            for frame in self._container.decode(self._stream):
                rot = round(getattr(frame, "rotation", 0) or 0)
                break
        except Exception as exc:  # noqa: BLE001 - a broken first frame is reported when iterating
            log.debug("rotation probe failed: %s", exc)
        try:
            self._container.seek(0, stream=self._stream)
        except Exception:  # noqa: BLE001 - unseekable input: reopen instead
            import av

            self._container.close()
            self._container = av.open(str(self.path), mode="r")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
        return ((rot + 45) // 90 * 90) % 360

    def _estimate_count(self) -> int:
        if self._stream.frames:
            return int(self._stream.frames)
        dur = None
        if self._stream.duration is not None and self._stream.time_base:
            dur = float(self._stream.duration * self._stream.time_base)
        elif self._container.duration:
            dur = self._container.duration / 1e6
        if dur and np.isfinite(self.fps):
            return round(dur * self.fps)
        return 0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def __iter__(self) -> Iterator[VideoFrame]:
        import av

        if self._iterated:
            raise VideoError(f"{self.path}: a VideoReader can be iterated only once; open the video again")
        self._iterated = True
        t0: float | None = None
        prev_t = -np.inf
        fps = self.fps if np.isfinite(self.fps) and self.fps > 0 else 30.0
        w, h = self._decode_size
        tb = self._stream.time_base or Fraction(1, 90000)
        gen = self._container.decode(self._stream)
        index = 0
        while True:
            tic = time.perf_counter()
            try:
                frame = next(gen)
            except StopIteration:
                break
            except (av.FFmpegError, OSError, EOFError) as exc:
                self._stop_on_error(exc, index)
                break
            if index % self.every:
                index += 1
                self.frames_read = index
                self.decode_s += time.perf_counter() - tic
                continue
            try:
                if (frame.width, frame.height) != (w, h):
                    img = frame.reformat(width=w, height=h, format="bgr24",
                                         interpolation="AREA").to_ndarray()
                else:
                    img = frame.to_ndarray(format="bgr24")
            except (av.FFmpegError, ValueError) as exc:
                self._stop_on_error(exc, index)
                break
            img = _rotate(img, self.rotation)
            if frame.pts is not None:
                t_abs = float(frame.pts * tb)
                if t0 is None:
                    t0 = t_abs
                t = t_abs - t0
            else:
                t = index / fps
            if t <= prev_t:  # broken/duplicate pts: keep time strictly increasing
                t = prev_t + 1.0 / fps
            prev_t = t
            self.decode_s += time.perf_counter() - tic
            yield VideoFrame(np.ascontiguousarray(img), float(t), index)
            index += 1
            self.frames_read = index
        if index == 0:
            raise VideoError(f"{self.path}: contains no decodable video frames"
                             + (f" ({self.error})" if self.error else ""))
        declared = int(self._stream.frames or 0)  # exact count from the container index, when it has one
        if not self.truncated and declared and index < declared - max(2, int(0.02 * declared)):
            self.truncated = True
            self.error = f"stream ended after {index} of {declared} frames (file cut short?)"
            log.warning("%s: %s; keeping the %d frames read", self.path, self.error, index)

    def _stop_on_error(self, exc: Exception, index: int) -> None:
        self.truncated = True
        self.error = _short(exc)
        log.warning("%s: decoding stopped at frame %d (%s); keeping the %d frames read",
                    self.path, index, self.error, index)


def _short(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg[:200]


def open_video(path: str | Path, max_side: int | None = None, every: int = 1) -> VideoReader:
    """Open a video file for reading; use as ``with open_video(p) as v: for f in v: ...``.

    ``max_side`` downscales frames so that their longer side is at most that many pixels; ``every=n``
    yields only every n-th frame (all are decoded, ``index``/``t`` stay those of the source).
    Raises :class:`VideoError` if the file cannot be read as a video.
    """
    return VideoReader(path, max_side=max_side, every=every)


class CameraReader:
    """Frames from a webcam through OpenCV (use :func:`open_camera`)."""

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None) -> None:
        import cv2

        self.index = index
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoError(f"camera {index}: cannot be opened (is it connected and not in use?)")
        if width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps: float = float(fps) if fps and fps > 0 else float("nan")
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.rotation = 0
        self.frame_count = 0
        self.truncated = False

    def __enter__(self) -> CameraReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._cap.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        t0 = time.monotonic()
        index = 0
        while True:
            ok, img = self._cap.read()
            if not ok or img is None:
                if index == 0:
                    raise VideoError(f"camera {self.index}: opened but delivers no frames")
                self.truncated = True
                log.warning("camera %s stopped delivering frames after %d frames", self.index, index)
                return
            yield VideoFrame(img, time.monotonic() - t0, index)
            index += 1


def open_camera(index: int = 0, width: int | None = None, height: int | None = None) -> CameraReader:
    """Open webcam ``index`` (OpenCV); yields :class:`VideoFrame` with seconds since opening."""
    return CameraReader(index, width, height)
