"""The pose engine against exact ground truth: rendered fixtures (tests/fixtures/videos, formcheck.synth).

One standing clip seen from the front and one lying clip seen from the side: the person is found on
(nearly) every frame, the body landmarks land near the true joints, and left and right are not swapped
when the person faces the camera. (The ground-truth joints come from anny's COCO keypoint regressor,
which places hips and shoulders a little differently from BlazePose: a few % of torso length of the
error below is that definition gap, not the engine.) All fixtures are scored in ``make bench``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from formcheck.landmarks import MIRROR
from formcheck.landmarks import Landmark as L
from formcheck.pose import PoseEngine, estimate_video

BODY = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST,
        L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE]
STANDING = ("wall_squat", "heel_raises", "squat")
LYING = ("heel_slides", "glute_bridge", "straight_leg_raise", "ankle_pumps", "abdominal_contraction",
         "pelvic_tilt", "dead_bug")


def load_truth(sidecar: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """(metadata, landmarks_2d (T, 33, 2) with NaN off-screen, visible (T, 33) bool)."""
    meta = json.loads(sidecar.read_text())
    gt = np.array([[p if p is not None else [np.nan, np.nan] for p in fr] for fr in meta["landmarks_2d"]], float)
    return meta, gt, np.array(meta["visible"], bool)


def score(seq, gt: np.ndarray, visible: np.ndarray) -> dict[str, float]:
    """Found fraction, median/p90 body-landmark error (fraction of true torso length), and the fraction
    of body landmarks closer to the truth of the other side than to their own (left/right swaps)."""
    n = min(len(seq), len(gt))
    a, g, v = seq.xyz[:n, :, :2].astype(float), gt[:n], visible[:n]
    torso = np.linalg.norm((g[:, 11] + g[:, 12]) / 2 - (g[:, 23] + g[:, 24]) / 2, axis=1)[:, None]
    err = np.linalg.norm(a - g, axis=2) / torso
    err_mirror = np.linalg.norm(a[:, list(MIRROR)] - g, axis=2) / torso
    ok = (v & np.isfinite(err))[:, BODY]
    e, em = err[:, BODY][ok], err_mirror[:, BODY][ok]
    return {"frames": n, "found": float(seq.found[:n].mean()), "median": float(np.median(e)),
            "p90": float(np.percentile(e, 90)), "swapped": float(np.mean(em < e))}


def _pick(fixture_videos: Path, exercises: tuple[str, ...], view: str) -> Path:
    for ex in exercises:
        for mp4 in sorted(fixture_videos.glob(f"{ex}__*__{view}.mp4")):
            if mp4.with_suffix(".json").is_file():
                return mp4
    pytest.skip(f"no rendered fixture of {exercises} seen from the {view} in {fixture_videos}")


@pytest.fixture(scope="module")
def engine() -> PoseEngine:
    return PoseEngine()


def test_standing_front_view_matches_ground_truth(fixture_videos: Path, engine: PoseEngine) -> None:
    clip = _pick(fixture_videos, STANDING, "front")
    _, gt, vis = load_truth(clip.with_suffix(".json"))
    s = score(estimate_video(clip, engine, progress=False), gt, vis)
    assert s["found"] >= 0.95, s
    assert s["median"] <= 0.06, s
    assert s["swapped"] <= 0.05, s  # facing the camera: left and right must not be mixed up


def test_lying_side_view_matches_ground_truth(fixture_videos: Path, engine: PoseEngine) -> None:
    clip = _pick(fixture_videos, LYING, "side")
    _, gt, vis = load_truth(clip.with_suffix(".json"))
    s = score(estimate_video(clip, engine, progress=False), gt, vis)
    assert s["found"] >= 0.95, s
    assert s["median"] <= 0.07, s
