"""Deterministic H.264 writing with PyAV (same frames -> same bytes)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


class VideoWriter:
    """Writes BGR uint8 frames to an H.264/yuv420p MP4 with single-threaded, fixed-parameter x264."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, crf: int = 26) -> None:
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._c = av.open(str(self.path), mode="w", format="mp4")
        rate = Fraction(fps).limit_denominator(1001)
        s = self._c.add_stream("libx264", rate=rate)
        s.width, s.height = size
        s.pix_fmt = "yuv420p"
        s.codec_context.thread_count = 1
        # no lookahead / macroblock-tree / B-frames: with them x264's output varied between processes
        # (same frames, different bytes); this way the same frames always give the same bytes
        s.options = {"crf": str(crf), "preset": "medium", "tune": "zerolatency",
                     "x264-params": "threads=1:sliced-threads=0:keyint=150"}
        s.codec_context.time_base = Fraction(1, 1) / rate
        self._s = s
        self._av = av
        self._n = 0

    def write(self, image_bgr: np.ndarray) -> None:
        import cv2

        # colour conversion by OpenCV (exact, per pixel) rather than swscale, whose threaded paths
        # made repeated encodes differ
        yuv = cv2.cvtColor(np.ascontiguousarray(image_bgr), cv2.COLOR_BGR2YUV_I420)
        frame = self._av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self._n
        frame.time_base = self._s.codec_context.time_base
        self._n += 1
        for pkt in self._s.encode(frame):
            self._c.mux(pkt)

    def close(self) -> None:
        for pkt in self._s.encode():
            self._c.mux(pkt)
        self._c.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
