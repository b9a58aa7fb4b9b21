"""The pose engine finds the rendered person on >= 95% of the frames of the committed fixtures (floor
exercises included), and where it finds them, the landmarks sit on the true body points.

Runs the pose engine over every fixture (~10k frames): slow-marked (``pytest -m slow``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "videos"


@pytest.mark.slow
def test_pose_engine_finds_the_rendered_person_on_95_percent_of_frames():
    from formcheck.pose import PoseEngine, estimate_video
    from formcheck.synth import load_sidecar

    clips = sorted(p for p in FIXTURES.glob("*__*__*.mp4") if p.with_suffix(".json").is_file())
    if not clips:
        pytest.skip("no rendered fixtures (formcheck synth fixtures --out tests/fixtures/videos)")
    engine = PoseEngine()
    found = frames = 0
    rows, bad = [], []
    for clip in clips:
        truth = load_sidecar(clip)
        seq = estimate_video(clip, engine=engine, progress=False)
        assert len(seq) == truth["frame_count"], clip.name
        f = seq.found
        gt = truth["landmarks_2d"]
        err = np.linalg.norm(seq.xyz[:, :, :2] - gt, axis=-1)
        vis = truth["visible"] & np.isfinite(err)
        diag = float(np.hypot(*truth["image_size"]))
        med = float(np.median(err[vis])) / diag if vis.any() else float("nan")
        rows.append(f"{clip.stem:48s} found {f.mean():6.1%}  median error {med:6.2%} of the diagonal")
        found += int(f.sum())
        frames += len(f)
        if f.mean() < 0.8 or not med < 0.03:
            bad.append(rows[-1])
    print("\n".join(rows))
    print(f"overall: {found}/{frames} frames = {found / frames:.1%}")
    assert found / frames >= 0.95, f"person found on {found / frames:.1%} of frames"
    assert not bad, "clips where the engine misses the person or lands elsewhere:\n" + "\n".join(bad)
