"""Angle-core throughput: angle evaluations per second on one core, and the ratio to a per-frame
pure-Python loop computing the same angles, in one run (targets: >= 20 M eval/s, >= 100x), for both
backends of the angle core (numpy and the fused numba kernel), and the fused kernel's first-use cost."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from formcheck import measures
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
TARGET_RATE = 20e6
TARGET_RATIO = 100.0


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


# Run in a fresh interpreter: the first fused call's cost (import numba + compile or load from cache).
_FIRST_USE = """
import json, sys, time
t0 = time.perf_counter()
import formcheck.measures as m
t1 = time.perf_counter()
import numpy as np
pts = np.random.default_rng(0).normal(size=(1000, 33, 3)).astype(np.float32)
t2 = time.perf_counter()
import numba
t3 = time.perf_counter()
m.sequence_angles(pts, [(23, 25, 27)], backend="fused")
t4 = time.perf_counter()
m.sequence_angles(pts, [(23, 25, 27)], backend="fused")
t5 = time.perf_counter()
json.dump({"import_measures": t1 - t0, "import_numba": t3 - t2, "first_call": t4 - t3,
           "second_call": t5 - t4}, sys.stdout)
"""


def _first_use(cache_dir: Path) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", _FIRST_USE], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout)


def _measure_backend(backend: str, pts: np.ndarray, out: np.ndarray, ref: np.ndarray) -> tuple[float, ...]:
    """Best times of joint_angles on the component-major layout and of sequence_angles straight from
    (T, 33, 3), each checked against the loop's angles (the first calls warm up)."""
    comp = to_components(pts)
    joint_angles(comp, TRIP, out=out, backend=backend)  # the fused kernel compiles or loads here
    t_kernel = _best(lambda: joint_angles(comp, TRIP, out=out, backend=backend))
    np.testing.assert_allclose(out[:, :ref.shape[1]], ref, atol=2e-3)
    sequence_angles(pts, TRIP, out=out, backend=backend)
    t_direct = _best(lambda: sequence_angles(pts, TRIP, out=out, backend=backend))
    np.testing.assert_allclose(out[:, :ref.shape[1]], ref, atol=2e-3)
    return t_kernel, t_direct


def test_bench_angle_throughput_vs_python_loop(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    T = 500_000
    n_evals = len(TRIP) * T
    pts = rng.normal(size=(T, 33, 3)).astype(np.float32)
    out = np.empty((len(TRIP), T), np.float32)

    n_py = 20_000
    head = pts[:n_py]
    t_py = _best(lambda: _python_loop(head), repeats=3)
    py_rate = len(TRIP) * n_py / t_py
    ref = np.array(_python_loop(head), np.float32).T

    rates: dict[tuple[str, str], float] = {}
    for backend in ("numpy", "fused"):
        kernel, direct = _measure_backend(backend, pts, out, ref)
        rates[backend, "kernel"], rates[backend, "from (T,33,3)"] = n_evals / kernel, n_evals / direct

    seq = PoseSequence(pts[:100_000] * 300, pts[:100_000], np.ones((100_000, 33), np.float32),
                       np.ones((100_000, 33), np.float32), np.arange(100_000) / 30.0, (640, 480), 30.0)
    t_all = _best(lambda: compute_measures(seq, space="world"), repeats=2)  # "auto": fused at this size
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measures, "_fused_module", False)  # as without numba
        t_all_numpy = _best(lambda: compute_measures(seq, space="world"), repeats=2)

    cold = _first_use(tmp_path / "numba-cache")  # empty cache: compiles
    warm = _first_use(tmp_path / "numba-cache")  # same cache: loads

    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"\n[bench measures] machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"numpy {np.__version__}, one core, load average {' '.join(load)}")
    print(f"[bench measures] pure-Python per-frame loop (frame read as floats + math.atan2): "
          f"{py_rate / 1e6:.2f} M evaluations/s")
    names = {"kernel": "component-major (33,3,T) (joint_angles)",
             "from (T,33,3)": "straight from (T,33,3) (sequence_angles, used by compute_measures)"}
    for (backend, entry), rate in rates.items():
        ok_rate = "MET" if rate >= TARGET_RATE else "MISSED"
        ok_ratio = "MET" if rate / py_rate >= TARGET_RATIO else "MISSED"
        print(f"[bench measures] {backend:5s} {names[entry]}: {rate / 1e6:.1f} M evaluations/s "
              f"({len(TRIP)} angles x {T} frames in {n_evals / rate * 1e3:.1f} ms), {rate / py_rate:.0f}x the loop; "
              f">= 20 M/s {ok_rate}, >= 100x {ok_ratio}")
    t_layout = _best(lambda: to_components(pts), repeats=3)
    print(f"[bench measures] (T,33,3)->(33,3,T) layout change (to_components, numpy): {T / t_layout / 1e6:.1f} M frames/s")
    print(f"[bench measures] compute_measures, all {len(compute_measures(seq[:1]))} measures, 100 k frames: "
          f"{100_000 / t_all / 1e3:.0f} k frames/s (numpy angle core: {100_000 / t_all_numpy / 1e3:.0f} k frames/s)")
    print(f"[bench measures] fused kernel first use in a fresh process: import formcheck.measures "
          f"{cold['import_measures'] * 1e3:.0f} ms (numba not imported), import numba "
          f"{cold['import_numba'] * 1e3:.0f} ms, first call {cold['first_call']:.2f} s with an empty cache "
          f"(compile) / {warm['first_call']:.2f} s with the on-disk cache, second call "
          f"{warm['second_call'] * 1e3:.2f} ms")

    fused_kernel, fused_e2e = rates["fused", "kernel"], rates["fused", "from (T,33,3)"]
    assert fused_kernel >= TARGET_RATE and fused_e2e >= TARGET_RATE
    assert fused_kernel / py_rate >= TARGET_RATIO, f"fused kernel {fused_kernel / py_rate:.0f}x the loop"
    assert fused_e2e / py_rate >= TARGET_RATIO, f"fused from (T,33,3) {fused_e2e / py_rate:.0f}x the loop"
