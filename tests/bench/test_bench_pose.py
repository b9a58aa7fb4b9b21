"""Pose engine benchmarks: speed against legacy MediaPipe Pose (full) in the same run, and landmark
parity with it on every real clip.

* Speed: a 640x480 clip (made from a real clip, cached in ``.bench/``), tracking mode, seconds split into
  decode / detector / landmarks / total; FPS end to end. Targets: >= 60 FPS on 2 cores and >= 1.3x the
  FPS of legacy MediaPipe Pose (full) measured in the same run on the same clip (best of 3 alternating
  runs each, to be fair on a shared machine). Our decoding runs in its own thread, overlapped with
  inference, so decode + detector + landmarks exceeds the total per frame. MediaPipe's FPS counts only
  its decode and ``process()`` time (not its Python loop), which favours it slightly.
* Parity: median distance between our landmarks and MediaPipe's, on landmarks both call visible
  (visibility > 0.5) in frames where both found the person, as a fraction of the torso length
  (shoulder-mid to hip-mid, MediaPipe's): target <= 3% per clip.

MediaPipe 0.10.21 needs numpy < 2, so it runs in a separate venv (``.venv-ref``, or the interpreter in
``$FORMCHECK_REF_PYTHON``) through ``tests/bench/mediapipe_ref.py``; without it the comparison is skipped
and says why. Figures are printed and written to ``.bench/pose.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from benchutil import machine

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared" / "videos").resolve()
BENCH = REPO / ".bench"
REF_SCRIPT = Path(__file__).with_name("mediapipe_ref.py")
SPEED_SOURCE = "squat_front_goblet.mp4"
SPEED_FRAMES = 300

pytestmark = pytest.mark.bench


def _ref_python() -> Path:
    p = Path(os.environ.get("FORMCHECK_REF_PYTHON", REPO / ".venv-ref" / "bin" / "python"))
    if not p.is_file():
        pytest.skip(f"legacy MediaPipe reference env missing ({p}); `make bench` creates .venv-ref")
    probe = subprocess.run([str(p), "-c", "import mediapipe, numpy; print(mediapipe.__version__)"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"legacy MediaPipe cannot be imported in {p}: {probe.stderr.strip().splitlines()[-1:]}")
    return p


def _shared() -> Path:
    if not (SHARED / "labels.csv").is_file():
        pytest.skip("../shared/videos is absent")
    return SHARED


def _run_ref(py: Path, video: Path, out: Path) -> dict[str, np.ndarray]:
    r = subprocess.run([str(py), str(REF_SCRIPT), str(video), str(out)], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        raise RuntimeError(f"reference failed on {video.name}: {r.stderr[-2000:]}")
    with np.load(out) as z:
        return {k: z[k] for k in z.files}




def _save(key: str, value: object) -> None:
    BENCH.mkdir(exist_ok=True)
    f = BENCH / "pose.json"
    data = json.loads(f.read_text()) if f.is_file() else {}
    data[key] = value
    data["machine"] = machine()
    f.write_text(json.dumps(data, indent=2))


def _speed_clip() -> Path:
    """640x480 H.264 clip of SPEED_FRAMES frames cut from a real clip (cached)."""
    import av
    import cv2

    src = _shared() / SPEED_SOURCE
    BENCH.mkdir(exist_ok=True)
    out = BENCH / f"pose_speed_640x480_{SPEED_FRAMES}.mp4"
    if out.is_file():
        return out
    from formcheck.video import open_video

    tmp = out.with_suffix(".tmp.mp4")
    with open_video(src) as v, av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=round(v.fps), options={"crf": "20"})
        s.width, s.height, s.pix_fmt = 640, 480, "yuv420p"
        n = 0
        for f in v:
            h, w = f.image_bgr.shape[:2]
            scale = 480 / h
            img = cv2.resize(f.image_bgr, (round(w * scale), 480), interpolation=cv2.INTER_AREA)
            x0 = (img.shape[1] - 640) // 2
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:, x0:x0 + 640]), format="bgr24")
            for p in s.encode(frame):
                c.mux(p)
            n += 1
            if n >= SPEED_FRAMES:
                break
        for p in s.encode():
            c.mux(p)
    tmp.replace(out)
    return out


def _run_ours(video: Path) -> dict[str, float]:
    from formcheck.pose import PoseEngine, estimate_video

    engine = PoseEngine()
    engine.update(np.zeros((480, 640, 3), np.uint8), 0.0)  # warm-up (session init), not timed
    info: dict = {}
    t0 = time.perf_counter()
    seq = estimate_video(video, engine, progress=False, info=info)
    wall = time.perf_counter() - t0
    n = len(seq)
    return {"frames": n, "found": float(seq.found.mean()), "fps": n / wall, "total_ms": 1000 * wall / n,
            "decode_ms": 1000 * info["decode_s"] / n, "detector_ms": 1000 * info["detector_s"] / n,
            "landmarks_ms": 1000 * info["landmarks_s"] / n, "detector_runs": info["detector_runs"]}


def test_bench_pose_speed_vs_mediapipe(tmp_path: Path) -> None:
    clip = _speed_clip()
    py = _ref_python()
    ours, ref = [], []
    for i in range(3):  # alternate, keep each one's best run
        ours.append(_run_ours(clip))
        t0 = time.perf_counter()
        r = _run_ref(py, clip, tmp_path / f"ref{i}.npz")
        n = len(r["infer_s"])
        ref.append({"frames": n, "fps": n / float(r["infer_s"].sum() + r["decode_s"].sum()),
                    "decode_ms": 1000 * float(r["decode_s"].mean()), "infer_ms": 1000 * float(r["infer_s"].mean()),
                    "process_wall_s": time.perf_counter() - t0})
    best, best_ref = max(ours, key=lambda d: d["fps"]), max(ref, key=lambda d: d["fps"])
    ratio = best["fps"] / best_ref["fps"]
    print(f"\n[pose speed] 640x480, {best['frames']} frames, tracking mode, {machine()}")
    print(f"  formcheck (onnxruntime): {best['fps']:.1f} FPS end to end | per frame: decode {best['decode_ms']:.2f} ms, "
          f"detector {best['detector_ms']:.2f} ms ({best['detector_runs']} runs), landmarks {best['landmarks_ms']:.2f} ms, "
          f"total {best['total_ms']:.2f} ms wall (decode overlapped) | person found {best['found']:.1%}")
    print(f"  legacy MediaPipe Pose full 0.10.21: {best_ref['fps']:.1f} FPS end to end | decode {best_ref['decode_ms']:.2f} ms, "
          f"process {best_ref['infer_ms']:.2f} ms")
    print(f"  ratio formcheck / MediaPipe = {ratio:.2f}x (target >= 1.3x: {'met' if ratio >= 1.3 else 'NOT met'}); "
          f">= 60 FPS target: {'met' if best['fps'] >= 60 else 'NOT met'}")
    print(f"  all runs: ours {[round(d['fps'], 1) for d in ours]} FPS, MediaPipe {[round(d['fps'], 1) for d in ref]} FPS")
    _save("speed", {"ours": best, "mediapipe": best_ref, "ratio": ratio,
                    "runs_ours_fps": [d["fps"] for d in ours], "runs_ref_fps": [d["fps"] for d in ref]})
    assert best["found"] > 0.95
    assert ratio >= 1.3, f"formcheck {best['fps']:.1f} FPS vs MediaPipe {best_ref['fps']:.1f} FPS = {ratio:.2f}x < 1.3x"


def _parity(ours, ref: dict[str, np.ndarray]) -> dict[str, float]:
    a, b = ours.xyz[:, :, :2], ref["xyz"][:, :, :2].astype(np.float32)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    both_found = ours.found[:n] & np.isfinite(b[:, :, 0]).any(axis=1)
    vis = (ours.visibility[:n] > 0.5) & (ref["visibility"][:n] > 0.5) & both_found[:, None]
    torso = np.linalg.norm((b[:, 11] + b[:, 12]) / 2 - (b[:, 23] + b[:, 24]) / 2, axis=1)
    d = np.linalg.norm(a - b, axis=2) / torso[:, None]
    vals = d[vis & (torso[:, None] > 0)]
    return {"frames": n, "ours_found": float(ours.found[:n].mean()),
            "ref_found": float(np.isfinite(b[:, :, 0]).any(axis=1).mean()),
            "median": float(np.median(vals)) if vals.size else float("nan"),
            "p90": float(np.percentile(vals, 90)) if vals.size else float("nan"), "points": int(vals.size)}


def test_bench_pose_parity_with_mediapipe(tmp_path: Path) -> None:
    from formcheck.pose import PoseEngine, estimate_video

    shared = _shared()
    py = _ref_python()
    engine = PoseEngine()
    rows = {}
    for clip in sorted(shared.glob("*.mp4")):
        ref = _run_ref(py, clip, tmp_path / f"{clip.stem}.npz")
        ours = estimate_video(clip, engine, progress=False)
        rows[clip.name] = _parity(ours, ref)
    print("\n[pose parity] median |formcheck - MediaPipe 0.10.21| / torso length, landmarks both call visible")
    print(f"  {'clip':34s} {'frames':>6s} {'found ours':>10s} {'found MP':>9s} {'median':>7s} {'p90':>7s}")
    for k, r in rows.items():
        print(f"  {k:34s} {r['frames']:6d} {r['ours_found']:10.1%} {r['ref_found']:9.1%} "
              f"{r['median']:7.2%} {r['p90']:7.2%}")
    _save("parity", rows)
    bad = {k: round(r["median"], 4) for k, r in rows.items() if not r["median"] <= 0.03}
    assert not bad, f"median landmark distance > 3% of torso length: {bad}"


def test_bench_pose_accuracy_on_rendered_fixtures() -> None:
    """Every rendered fixture (exact ground truth): found %, median/p90 body-landmark error as a fraction
    of torso length, left/right swap rate. Reported, not asserted (the unit tests assert two clips)."""
    from formcheck.pose import PoseEngine, estimate_video
    from test_pose_synth import load_truth, score

    fixtures = REPO / "tests" / "fixtures" / "videos"
    clips = [p for p in sorted(fixtures.glob("*__*__*.mp4")) if p.with_suffix(".json").is_file()]
    if not clips:
        pytest.skip(f"no rendered fixtures in {fixtures}")
    engine = PoseEngine()
    rows = {}
    for clip in clips:
        _, gt, vis = load_truth(clip.with_suffix(".json"))
        rows[clip.stem] = score(estimate_video(clip, engine, progress=False), gt, vis)
    print("\n[pose accuracy] rendered fixtures, body landmarks (shoulders..ankles) the renderer calls visible;"
          " error / true torso length")
    print(f"  {'fixture':48s} {'frames':>6s} {'found':>7s} {'median':>7s} {'p90':>7s} {'L/R swapped':>11s}")
    for k, r in rows.items():
        print(f"  {k:48s} {r['frames']:6d} {r['found']:7.1%} {r['median']:7.2%} {r['p90']:7.2%} {r['swapped']:11.1%}")
    med = np.median([r["median"] for r in rows.values()])
    print(f"  median over fixtures: {med:.2%}; lowest found: {min(r['found'] for r in rows.values()):.1%}")
    _save("accuracy_fixtures", rows)
