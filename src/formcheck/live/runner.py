"""The live loop's threads: a capture thread feeds a latest-frame-wins slot, the caller processes.

``LiveRunner.run`` returns when the source ends (end of file, camera unplugged: ``end_reason`` says
which), when the camera stops delivering frames for ``camera_timeout_s``, or when ``on_output`` asks
to stop. Whatever happened, the caller's session keeps everything processed so far.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from formcheck.errors import OptionsError
from formcheck.live.handoff import Closed, LatestSlot

log = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass(frozen=True)
class CapturedFrame:
    """A camera frame: BGR pixels, session time ``t`` (s), capture index, and the wall-clock moment
    (``time.perf_counter()``) it was captured, from which latency is measured."""

    image: np.ndarray
    t: float
    index: int
    captured_at: float


@dataclass
class RunStats:
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    latencies_s: list[float] = field(default_factory=list)  # capture -> output ready
    end_reason: str = "running"  # end_of_stream | camera_lost | camera_stalled | stopped
    error: str | None = None

    def latency_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        return float(np.percentile(np.asarray(self.latencies_s) * 1000.0, q))

    def to_dict(self) -> dict:
        return {"captured": self.captured, "processed": self.processed, "dropped": self.dropped,
                "latency_p50_ms": self.latency_ms(50), "latency_p95_ms": self.latency_ms(95),
                "end_reason": self.end_reason, "error": self.error}


class LiveRunner(Generic[R]):
    """Runs ``process`` on the newest frame of ``source`` until the source ends or ``on_output`` says stop.

    ``drop=True`` (a real camera): frames arriving while a frame is processed are dropped, never
    queued, so latency stays bounded. ``drop=False`` (replaying a file exactly): the source waits.
    """

    def __init__(self, source: Iterable[CapturedFrame], process: Callable[[CapturedFrame], R], *,
                 drop: bool = True, camera_timeout_s: float = 3.0) -> None:
        if not camera_timeout_s > 0:
            raise OptionsError("camera_timeout_s", "seconds > 0", camera_timeout_s)
        self.source = source
        self.process = process
        self.drop = drop
        self.camera_timeout_s = camera_timeout_s
        self.stats = RunStats()
        self._stop = threading.Event()
        self._slot: LatestSlot[CapturedFrame] = LatestSlot(drop=drop)
        self._source_error: BaseException | None = None

    def stop(self) -> None:
        """Ask the loop to end (thread-safe)."""
        self._stop.set()
        self._slot.close()

    def _capture(self) -> None:
        try:
            for frame in self.source:
                if self._stop.is_set():
                    break
                self.stats.captured += 1
                self._slot.put(frame, timeout=None if not self.drop else 0)
        except Exception as exc:  # noqa: BLE001 - any camera/driver failure ends the run as camera_lost, kept
            log.warning("camera stopped: %s", exc)
            self._source_error = exc
        finally:
            self._slot.close()
            close = getattr(self.source, "close", None)
            if callable(close):
                close()

    def run(self, on_output: Callable[[R, CapturedFrame], bool | None] | None = None) -> RunStats:
        th = threading.Thread(target=self._capture, name="formcheck-capture", daemon=True)
        th.start()
        try:
            while True:
                try:
                    frame = self._slot.get(timeout=self.camera_timeout_s)
                except Closed:
                    if self._stop.is_set():
                        self.stats.end_reason = "stopped"
                    elif self._source_error is not None:
                        self.stats.end_reason = "camera_lost"
                        self.stats.error = str(self._source_error)
                    else:
                        self.stats.end_reason = "end_of_stream"
                    break
                if frame is None:
                    self.stats.end_reason = "camera_stalled"
                    self.stats.error = f"no frame from the camera for {self.camera_timeout_s:g} s"
                    break
                out = self.process(frame)
                self.stats.latencies_s.append(time.perf_counter() - frame.captured_at)
                self.stats.processed += 1
                if on_output is not None and on_output(out, frame) is False:
                    self.stats.end_reason = "stopped"
                    break
        finally:
            self._stop.set()
            self._slot.close()
            th.join(timeout=0.5)  # a hung camera driver must not hang the session (daemon thread)
            self.stats.dropped = self._slot.stats.dropped
        return self.stats
