"""Browser-playable annotated video: H.264 (``libx264``), ``yuv420p``, MP4, written with PyAV.

OpenCV's ``VideoWriter`` cannot write H.264 here (its FFmpeg has no x264) and its ``mp4v`` output
does not play in browsers; PyAV's wheels carry ``libx264``.

Frames are given with their timestamps (seconds), so variable-frame-rate sources keep their timing;
the output time base is 1/1000 s (``pts`` = milliseconds).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from formcheck.errors import InputError, OptionsError

log = logging.getLogger(__name__)

_TIME_BASE = Fraction(1, 1000)


def _even(n: int) -> int:
    return max(2, int(n) - int(n) % 2)


class H264Writer:
    """Write BGR frames to a browser-playable H.264 MP4.

    ``size`` is the (width, height) of the frames given to :meth:`write`; odd sizes are cropped by one
    pixel (yuv420p needs even sizes). Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, crf: int = 26,
                 preset: str = "veryfast", threads: int = 0) -> None:
        import av

        w, h = int(size[0]), int(size[1])
        if w < 2 or h < 2:
            raise OptionsError("size", "at least 2x2 pixels", size)
        if not (np.isfinite(fps) and fps > 0):
            fps = 30.0
        if not 0 <= crf <= 51:
            raise OptionsError("crf", "0..51", crf)
        self.path = Path(path)
        self.size = (w, h)
        self._enc_size = (_even(w), _even(h))
        try:
            # faststart: the index goes first, so a browser can play while loading
            self._container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        rate = Fraction(fps).limit_denominator(1001)
        stream = self._container.add_stream("libx264", rate=rate)
        stream.width, stream.height = self._enc_size
        stream.pix_fmt = "yuv420p"
        stream.time_base = _TIME_BASE
        stream.codec_context.time_base = _TIME_BASE
        stream.options = {"crf": str(crf), "preset": preset}
        if threads:
            stream.codec_context.thread_count = threads
        self._stream = stream
        self._last_pts = -1
        self._fallback_dt = max(1, round(1000 / fps))
        self.frames_written = 0
        self._closed = False

    def write(self, image_bgr: np.ndarray, t: float | None = None) -> None:
        """Encode one BGR frame shown at ``t`` seconds (frame index / fps when ``t`` is None)."""
        import av

        if self._closed:
            raise RuntimeError("H264Writer is closed")
        img = np.asarray(image_bgr)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise OptionsError("image_bgr", "(H, W, 3) uint8", f"{img.shape} {img.dtype}")
        if (img.shape[1], img.shape[0]) != self.size:
            raise OptionsError("image_bgr", f"size {self.size}", (img.shape[1], img.shape[0]))
        ew, eh = self._enc_size
        if img.shape[1] != ew or img.shape[0] != eh:
            img = img[:eh, :ew]
        img = np.ascontiguousarray(img)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        pts = round(t * 1000) if t is not None and np.isfinite(t) else self._last_pts + self._fallback_dt
        if pts <= self._last_pts:  # keep pts strictly increasing (duplicate timestamps in VFR sources)
            pts = self._last_pts + 1
        frame.pts = pts
        frame.time_base = _TIME_BASE
        self._last_pts = pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> Path:
        """Flush the encoder and close the file; returns the path."""
        if not self._closed:
            self._closed = True
            try:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            finally:
                self._container.close()
        return self.path

    def abort(self) -> None:
        """Close without caring about the result and remove the file (used on errors)."""
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except Exception:
                log.debug("closing an aborted video failed", exc_info=True)
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
