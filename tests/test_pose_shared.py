"""The pose engine on the real clips of ../shared/videos (skipped when they are absent).

Fast check (``make test``): frames sampled at 1 per second (at least 20 per clip), each estimated on its
own (detector on every frame, no tracking: the harder condition). Full check (slow, ``make bench``): every
frame with tracking. Both require a person on at least 95% of the frames of every clip that show
anything: uniformly blank frames (plank_forearm_side.mp4 opens with 10 black frames) hold no person and
are left out of the ratio, and counted in the message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.pose import PoseEngine, PoseOptions, estimate_video
from formcheck.video import open_video

pytestmark = pytest.mark.shared
MIN_FOUND = 0.95


def _clips(shared: Path) -> list[Path]:
    clips = sorted(shared.glob("*.mp4"))
    assert clips, f"no clips in {shared}"
    return clips


def _blank(img: np.ndarray) -> bool:
    """A frame of one flat colour (e.g. a black lead-in): nothing in it to find."""
    return float(img.std()) < 2.0


def _check(report: dict[str, tuple[float, int]]) -> None:
    bad = {k: round(v, 3) for k, (v, _) in report.items() if v < MIN_FOUND}
    summary = {k: f"{v:.3f} ({b} blank)" for k, (v, b) in report.items()}
    assert not bad, f"person found on < {MIN_FOUND:.0%} of non-blank frames: {bad} (all: {summary})"


def test_person_found_on_sampled_frames_of_every_clip(shared_videos: Path) -> None:
    engine = PoseEngine(PoseOptions(tracking=False, smooth=False))
    report = {}
    for clip in _clips(shared_videos):
        with open_video(clip) as probe:
            fps, n = (probe.fps if np.isfinite(probe.fps) else 30.0), max(probe.frame_count, 1)
        step = max(1, min(round(fps), n // 20))
        found, blank = [], 0
        with open_video(clip, max_side=640, every=step) as v:
            for f in v:
                if _blank(f.image_bgr):
                    blank += 1
                else:
                    found.append(engine.update(f.image_bgr, f.t).found)
        report[clip.name] = (float(np.mean(found)), blank)
    _check(report)


@pytest.mark.slow
def test_person_found_on_every_frame_with_tracking(shared_videos: Path) -> None:
    engine = PoseEngine()
    report = {}
    for clip in _clips(shared_videos):
        with open_video(clip, max_side=160) as v:
            blank = np.array([_blank(f.image_bgr) for f in v])
        seq = estimate_video(clip, engine, progress=False)
        assert len(seq) == len(blank)
        report[clip.name] = (float(seq.found[~blank].mean()), int(blank.sum()))
    _check(report)
