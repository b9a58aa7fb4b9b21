"""Benchmarks of `formcheck analyze` (run by `make bench`; figures go to BENCHMARKS.md).

* Speed: a 720p 30 fps clip analysed with the annotated video, as a multiple of real time, with the
  every-frame pose mode as the peer measured in the same run. Target: >= 2x real time on 2 cores.
* Memory: a 10-minute 720p session streamed through the analysis (the clip is decoded again and again,
  so no 10-minute file is needed); resident memory must stay flat.

FORMCHECK_BENCH_LONG_MIN changes the length of the long session (default 10 minutes).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchutil import machine

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared" / "videos").resolve()
FIXTURES = REPO / "tests" / "fixtures" / "videos"


def _clip_720p() -> tuple[Path, str]:
    """A 720p 30 fps clip with a person, and its exercise id."""
    from formcheck.video import open_video

    candidates = [(SHARED / "squat_front_goblet.mp4", "squat")]
    candidates += [(p, p.name.split("__")[0]) for p in sorted(FIXTURES.glob("*.mp4"))]
    for path, ex in candidates:
        if not path.is_file():
            continue
        with open_video(path) as r:
            if max(r.size) == 1280 and min(r.size) == 720 and abs(r.fps - 30) < 1:
                return path, ex
    pytest.skip("no 720p 30 fps clip with a person (../shared/videos or tests/fixtures/videos)")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")




def test_bench_analyze_speed_720p30(tmp_path: Path):
    from formcheck.analysis import AnalysisOptions, analyze_video

    clip, exercise = _clip_720p()
    load0 = os.getloadavg()[0]
    rows = []
    for label, rate in (("pose 15 Hz + interpolation (default)", 15.0), ("pose every frame", None)):
        t0, c0 = time.perf_counter(), time.process_time()
        r = analyze_video(clip, exercise, options=AnalysisOptions(pose_rate=rate, video_path=tmp_path / "a.mp4"))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        dur = r.document.video.duration_s
        rows.append((label, dur, wall, dur / wall, cpu, r.document.rep_count, len(r.document.reps)))
    print(f"\n## analyze speed: {clip.name} ({exercise}), 1280x720 30 fps, annotated H.264 video included")
    print(f"machine: {machine()}")
    print("| mode | video s | wall s | x real time | CPU s | CPU-bound x real time on 2 cores | reps (done/all) |")
    print("|---|---|---|---|---|---|---|")
    for label, dur, wall, ratio, cpu, done, all_ in rows:
        print(f"| {label} | {dur:.1f} | {wall:.1f} | {ratio:.2f} | {cpu:.1f} | {2 * dur / cpu:.2f} | {done}/{all_} |")
    ratio = rows[0][3]
    if ratio < 2.0 and max(load0, os.getloadavg()[0]) > 1.5:
        pytest.xfail(f"{ratio:.2f}x real time, below the 2x target, on a busy machine (load {load0:.1f})")
    assert ratio >= 2.0, f"analysis ran at {ratio:.2f}x real time; target >= 2x"


class LoopedClip:
    """A long session from a short clip: the clip is decoded again and again (nothing held in memory),
    with time running on. Has the attributes :func:`formcheck.analysis.analyze_video` reads."""

    def __init__(self, path: Path, seconds: float) -> None:
        from formcheck.video import open_video

        self.path = path
        with open_video(path) as r:
            self.fps, self.size = r.fps, r.size
        self.seconds = seconds
        self.frame_count = int(seconds * self.fps)
        self.truncated, self.error, self.rotation, self.decode_s = False, None, 0, 0.0

    def __iter__(self) -> Iterator:
        from formcheck.video import VideoFrame, open_video

        n, offset = 0, 0.0
        while True:
            last = 0.0
            with open_video(self.path) as r:
                for f in r:
                    if n >= self.frame_count:
                        return
                    yield VideoFrame(f.image_bgr, offset + f.t, n)
                    last = f.t
                    n += 1
            offset += last + 1.0 / self.fps

    def close(self) -> None:
        pass


def test_bench_analyze_memory_flat_over_long_session(tmp_path: Path):
    from formcheck.analysis import AnalysisOptions, analyze_video

    clip, exercise = _clip_720p()
    minutes = float(os.environ.get("FORMCHECK_BENCH_LONG_MIN", "10"))
    source = LoopedClip(clip, minutes * 60)
    samples: list[tuple[float, float]] = []
    every = int(source.fps * 30)

    def progress(done: int, total: int) -> None:
        if done % every == 0:
            samples.append((done / source.fps, _rss_mb()))

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    r = analyze_video(source, exercise, options=AnalysisOptions(video_path=tmp_path / "long.mp4",
                                                                progress=progress))
    wall = time.perf_counter() - t0
    assert r.document.video.frames == source.frame_count
    after_1min = next(rss for t, rss in samples if t >= 60)
    peak = max(rss for _, rss in samples)
    end = samples[-1][1]
    print(f"\n## analyze memory: {minutes:g}-minute 720p 30 fps session ({clip.name} looped), annotated video on")
    print(f"machine: {machine()}")
    print(f"RSS before {rss0:.0f} MB; at 1 min {after_1min:.0f} MB; peak {peak:.0f} MB; at the end {end:.0f} MB; "
          f"growth 1 min -> end {end - after_1min:+.0f} MB; wall {wall:.0f} s "
          f"({r.document.video.duration_s / wall:.2f}x real time); annotated video "
          f"{(tmp_path / 'long.mp4').stat().st_size / 1e6:.0f} MB")
    print("| video time (min) | RSS (MB) |\n|---|---|")
    for t, rss in samples[:: max(1, len(samples) // 10)]:
        print(f"| {t / 60:.1f} | {rss:.0f} |")
    assert peak - after_1min < 64, f"memory grew by {peak - after_1min:.0f} MB after the first minute"


_SPEC_FOR_LABEL = {"squat": "squat", "plank": "plank", "glute_bridge": "glute_bridge", "bird_dog": "bird_dog",
                   "heel_raise": "heel_raises", "dead_bug": "dead_bug", "pelvic_tilt": "pelvic_tilt"}


def test_bench_analyze_real_clips_pose_rate_peer(tmp_path: Path):
    """The labelled real clips analysed end to end, 15 Hz pose + interpolation (default) against pose on
    every frame: what the speed-up costs in counted reps and hold time."""
    import csv

    from formcheck.analysis import AnalysisOptions, analyze_video

    labels = SHARED / "labels.csv"
    if not labels.is_file():
        pytest.skip("../shared/videos is absent")
    rows = [r for r in csv.DictReader(labels.open())
            if r["exercise"] in _SPEC_FOR_LABEL and (r["reps"] or r["hold_s"])]
    print("\n## analyze on the labelled real clips: default (pose 15 Hz) vs pose on every frame")
    print(f"machine: {machine()}")
    print("| clip | fps | truth | 15 Hz: reps / longest hold | every frame: reps / longest hold | "
          "15 Hz x real time | every frame x real time |")
    print("|---|---|---|---|---|---|---|")
    agree = 0
    for row in rows:
        clip = SHARED / row["file"]
        out = []
        for rate in (15.0, None):
            t0 = time.perf_counter()
            r = analyze_video(clip, _SPEC_FOR_LABEL[row["exercise"]],
                              options=AnalysisOptions(pose_rate=rate, video_path=tmp_path / "a.mp4"))
            wall = time.perf_counter() - t0
            d = r.document
            hold = max((h.duration_s for h in d.holds), default=0.0)
            out.append((d.rep_count, hold, d.video.duration_s / wall))
        truth = f"{row['reps']} reps" if row["reps"] else f"hold {row['hold_s']} s"
        agree += out[0][0] == out[1][0] and abs(out[0][1] - out[1][1]) <= 0.3
        print(f"| {row['file']} | {float(row['fps']):.0f} | {truth} | {out[0][0]} / {out[0][1]:.1f} s | "
              f"{out[1][0]} / {out[1][1]:.1f} s | {out[0][2]:.2f} | {out[1][2]:.2f} |")
    print(f"15 Hz and every-frame agree (same reps, longest hold within 0.3 s) on {agree} of {len(rows)} clips")


def test_bench_analyze_fixture_accuracy(tmp_path: Path):
    """End-to-end accuracy of `formcheck analyze` on every rendered fixture against its ground truth:
    rep count, hold durations, faults (true / missed / false)."""
    import json

    from formcheck.analysis import AnalysisOptions, analyze_video
    from formcheck.exercises import load_spec

    cars = sorted(p for p in FIXTURES.glob("*__*__*.json") if p.with_suffix(".mp4").is_file())
    if not cars:
        pytest.skip("no rendered fixtures in tests/fixtures/videos")

    def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
        return max(0.0, min(a1, b1) - max(a0, b0))

    print("\n## analyze end to end on the rendered fixtures (annotated video on)")
    print(f"machine: {machine()}")
    print("| fixture | reps truth / found | hold error (s) | faults found | missed | false |")
    print("|---|---|---|---|---|---|")
    n_rep_ok = n_hold = n_hold_ok = tp = fn = fp = 0
    for car in cars:
        truth = json.loads(car.read_text())
        spec = load_spec(truth["exercise"])
        side = truth.get("side") if spec.sides != "both" else None
        d = analyze_video(car.with_suffix(".mp4"), spec, side=side,
                          options=AnalysisOptions(video_path=tmp_path / "a.mp4")).document
        n_rep_ok += d.rep_count == truth["rep_count"]
        errs = []
        for h in truth.get("holds", []):
            best = max(d.holds, key=lambda x: overlap(x.start_s, x.end_s, h["start_s"], h["end_s"]), default=None)
            if best is not None and overlap(best.start_s, best.end_s, h["start_s"], h["end_s"]) > 0:
                errs.append(best.duration_s - h["duration_s"])
            else:
                errs.append(float("nan"))
        n_hold += len(errs)
        n_hold_ok += sum(abs(e) <= 0.3 for e in errs)
        true_ids = {f["id"] for f in truth.get("faults", [])}
        found_ids = {f.id for f in d.faults}
        tp += len(true_ids & found_ids)
        fn += len(true_ids - found_ids)
        fp += len(found_ids - true_ids)
        hold_txt = ", ".join("missed" if math.isnan(e) else f"{e:+.1f}" for e in errs) or "-"
        print(f"| {car.stem} | {truth['rep_count']} / {d.rep_count} | {hold_txt} | "
              f"{', '.join(sorted(true_ids & found_ids)) or '-'} | {', '.join(sorted(true_ids - found_ids)) or '-'} | "
              f"{', '.join(sorted(found_ids - true_ids)) or '-'} |")
    print(f"rep count exact on {n_rep_ok}/{len(cars)} clips; holds within 0.3 s: {n_hold_ok}/{n_hold}; "
          f"faults: {tp} found, {fn} missed, {fp} false (by id per clip)")
