"""The live loop's frame hand-off: frames are dropped, never delayed, and a lost camera ends cleanly."""

from __future__ import annotations

import time

import numpy as np
import pytest

from formcheck.errors import OptionsError, VideoError
from formcheck.live.runner import CapturedFrame, LiveRunner
from formcheck.live.sources import SyntheticSource


def _frames(n: int = 4) -> list[np.ndarray]:
    return [np.full((48, 64, 3), i * 40, np.uint8) for i in range(n)]


def test_slow_processor_drops_frames_and_latency_stays_bounded():
    # camera at 60 fps for 1.5 s, processing takes 50 ms (3 frame intervals): a queue would grow by
    # ~2 frames per processed frame and latency would climb to ~1 s by the end; latest-frame-wins
    # keeps it under one processing time plus one frame interval (+ scheduling slack).
    work_s = 0.05
    src = SyntheticSource(_frames(), fps=60, duration_s=1.5)

    def slow(frame: CapturedFrame) -> int:
        time.sleep(work_s)
        return frame.index

    runner = LiveRunner(src, slow)
    seen: list[int] = []
    stats = runner.run(lambda out, fr: seen.append(out))
    assert stats.end_reason == "end_of_stream"
    assert stats.captured == 90
    assert stats.dropped > 40  # most frames were dropped...
    assert seen == sorted(seen) and len(seen) == stats.processed  # ...processed ones are in order
    assert stats.processed + stats.dropped == stats.captured
    lat = np.asarray(stats.latencies_s)
    # no growth: a queue would hold ~60 stale frames by the end (latency ~1 s, last-quarter mean
    # ~0.85 s); latest-frame-wins stays near one processing time. The bounds leave room for a loaded
    # 2-core machine (sleeps overshoot there) while still telling the two apart.
    q = max(1, len(lat) // 4)
    assert lat[-q:].mean() < 0.5
    assert stats.latency_ms(95) < 500
    # the last frame processed is one of the last few captured (never a stale one)
    assert seen[-1] >= 90 - 1 - int(work_s * 60) - 1


def test_lockstep_processes_every_frame():
    src = SyntheticSource(_frames(), fps=1000, duration_s=0.1)  # a "camera" faster than the processor
    runner = LiveRunner(src, lambda f: (time.sleep(0.002), f.index)[1], drop=False)
    seen: list[int] = []
    stats = runner.run(lambda out, fr: seen.append(out))
    assert seen == list(range(100))
    assert stats.dropped == 0


class _UnpluggedCamera:
    """Delivers ``n`` frames at 100 fps, then fails the way a webcam read fails."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            time.sleep(0.01)
            yield CapturedFrame(np.zeros((8, 8, 3), np.uint8), i / 100, i, time.perf_counter())
        raise VideoError("camera 0 stopped delivering frames")


def test_camera_lost_mid_stream_ends_cleanly_with_frames_so_far():
    got: list[int] = []
    stats = LiveRunner(_UnpluggedCamera(25), lambda f: f.index).run(lambda out, fr: got.append(out))
    assert stats.end_reason == "camera_lost"
    assert "stopped delivering" in (stats.error or "")
    assert got and got[-1] == 24  # the last frame before the failure was still processed


class _FrozenCamera:
    def __iter__(self):
        yield CapturedFrame(np.zeros((8, 8, 3), np.uint8), 0.0, 0, time.perf_counter())
        time.sleep(5)  # the driver hangs: no error, no frames


def test_camera_that_freezes_is_detected():
    tic = time.perf_counter()
    stats = LiveRunner(_FrozenCamera(), lambda f: f.index, camera_timeout_s=0.3).run()
    assert stats.end_reason == "camera_stalled"
    assert stats.processed == 1
    assert time.perf_counter() - tic < 2.0


def test_on_output_can_stop_the_loop():
    src = SyntheticSource(_frames(), fps=200, duration_s=5)
    # lockstep, so no frame is dropped on a loaded machine and the count is exact
    stats = LiveRunner(src, lambda f: f.index, drop=False).run(lambda out, fr: out < 10)
    assert stats.end_reason == "stopped"
    assert stats.processed == 11


def test_runner_options_validated():
    with pytest.raises(OptionsError, match="camera_timeout_s"):
        LiveRunner([], lambda f: f, camera_timeout_s=0)
