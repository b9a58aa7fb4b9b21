"""Angle-core throughput: angle evaluations per second on one core, and the ratio to a per-frame
pure-Python loop computing the same angles, in one run (targets: >= 20 M eval/s, >= 100x)."""

from __future__ import annotations

import math
import os
import platform
import time

import numpy as np
import pytest

from formcheck.keypoints import PoseSequence
from formcheck.landmarks import Landmark as L
from formcheck.measures import compute_measures, joint_angles, sequence_angles, to_components

pytestmark = pytest.mark.bench

# The eight joint angles of the program: knees, hips, elbows, shoulders (left and right).
TRIPLETS = [
    (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE),
    (L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.RIGHT_HIP, L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
]
TRIP = [(int(a), int(b), int(c)) for a, b, c in TRIPLETS]


def _python_loop(pts: np.ndarray) -> list[list[float]]:
    """Per-frame pure Python, as a frame-at-a-time implementation would run: each frame's landmarks
    are read from the same (T, 33, 3) array as Python floats, then math.atan2 per angle."""
    out = []
    for i in range(pts.shape[0]):
        lm = pts[i].tolist()
        row = []
        for a, b, c in TRIP:
            ax, ay, az = lm[a]
            bx, by, bz = lm[b]
            cx, cy, cz = lm[c]
            ux, uy, uz = ax - bx, ay - by, az - bz
            vx, vy, vz = cx - bx, cy - by, cz - bz
            dot = ux * vx + uy * vy + uz * vz
            px, py, pz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
            row.append(math.degrees(math.atan2(math.sqrt(px * px + py * py + pz * pz), dot)))
        out.append(row)
    return out


def _best(fn, repeats: int = 5) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_bench_angle_throughput_vs_python_loop() -> None:
    rng = np.random.default_rng(0)
    T = 500_000
    pts = rng.normal(size=(T, 33, 3)).astype(np.float32)
    comp = to_components(pts)
    out = np.empty((len(TRIP), T), np.float32)
    t_vec = _best(lambda: joint_angles(comp, TRIP, out=out))
    vec_rate = len(TRIP) * T / t_vec

    n_py = 20_000
    head = pts[:n_py]
    t_py = _best(lambda: _python_loop(head), repeats=3)
    py_rate = len(TRIP) * n_py / t_py
    ref = np.array(_python_loop(head), np.float32).T
    np.testing.assert_allclose(out[:, :n_py], ref, atol=2e-3)

    t_layout = _best(lambda: to_components(pts), repeats=3)
    t_e2e = _best(lambda: sequence_angles(pts, TRIP, out=out), repeats=3)
    e2e_rate = len(TRIP) * T / t_e2e

    seq = PoseSequence(pts[:100_000] * 300, pts[:100_000], np.ones((100_000, 33), np.float32),
                       np.ones((100_000, 33), np.float32), np.arange(100_000) / 30.0, (640, 480), 30.0)
    t_all = _best(lambda: compute_measures(seq, space="world"), repeats=2)

    print(f"\n[bench measures] machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"numpy {np.__version__}, one core (numpy ufuncs are single-threaded)")
    print(f"[bench measures] batched kernel: {vec_rate / 1e6:.1f} M angle evaluations/s "
          f"({len(TRIP)} angles x {T} frames in {t_vec * 1e3:.1f} ms)")
    print(f"[bench measures] pure-Python per-frame loop (frame read as floats + math.atan2): "
          f"{py_rate / 1e6:.2f} M evaluations/s")
    print(f"[bench measures] ratio: {vec_rate / py_rate:.0f}x")
    print(f"[bench measures] (T,33,3)->(33,3,T) layout change: {T / t_layout / 1e6:.1f} M frames/s")
    print(f"[bench measures] straight from (T,33,3), no layout change (sequence_angles, used by "
          f"compute_measures): {e2e_rate / 1e6:.1f} M evaluations/s, {e2e_rate / py_rate:.0f}x the loop")
    print(f"[bench measures] compute_measures, all {len(compute_measures(seq[:1]))} measures: "
          f"{100_000 / t_all / 1e3:.0f} k frames/s")
    for label, rate in (("kernel", vec_rate), ("from (T,33,3)", e2e_rate)):
        print(f"[bench measures] {label}: >= 20 M eval/s {'MET' if rate >= 20e6 else 'MISSED'}; "
              f">= 100x loop {'MET' if rate / py_rate >= 100 else 'MISSED'} ({rate / py_rate:.0f}x)")
    # the figures are the result; this only guards against a broken (e.g. per-element) kernel
    assert vec_rate / py_rate >= 10
