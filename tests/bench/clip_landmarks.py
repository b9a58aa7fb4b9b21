"""Landmarks of the real clips and of the rendered fixtures, estimated once and cached under
``.cache/landmarks/`` (gitignored).

Used by the exercise-accuracy benchmark and tests (engineer "exercise"). Real clips are cached as
``<stem>-<hash>.npz``, rendered fixtures as ``fixtures-<stem>-<hash>.npz`` (the hash covers the
file's bytes and :data:`FIXTURE_CACHE_VERSION`, so a regenerated fixture or a new channel is estimated
again). Sequences carry the per-frame ``lumbar_curve`` channel (back contour of the segmentation mask).

    python tests/bench/clip_landmarks.py            # every labelled real clip
    python tests/bench/clip_landmarks.py --fixtures # every rendered fixture
"""

from __future__ import annotations

import csv
import hashlib
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_VIDEOS = (REPO / ".." / "shared" / "videos").resolve()
FIXTURES = REPO / "tests" / "fixtures" / "videos"
CACHE = REPO / ".cache" / "landmarks"

log = logging.getLogger(__name__)

#: Bumped when what is cached changes (2: the lumbar_curve channel); part of every cache key.
FIXTURE_CACHE_VERSION = 2


def _key(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha1(f"{path.name}:{st.st_size}:{int(st.st_mtime)}:v{FIXTURE_CACHE_VERSION}".encode()).hexdigest()[:10]
    return f"{path.stem}-{h}.npz"


def _fixture_key(path: Path) -> str:
    h = hashlib.sha1(path.read_bytes() + f"v{FIXTURE_CACHE_VERSION}".encode()).hexdigest()[:10]
    return f"fixtures-{path.stem}-{h}.npz"


def _estimate(path: Path, cached: Path, progress: bool):
    from formcheck.pose import PoseEngine, PoseOptions, estimate_video

    seq = estimate_video(path, engine=PoseEngine(PoseOptions(threads=1, lumbar_curve=True)), progress=progress)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npz")
    seq.save(tmp)
    tmp.replace(cached)
    return seq


def landmarks_for(path: Path, progress: bool = False):
    """The real clip's PoseSequence, from the cache or estimated (and cached)."""
    from formcheck.keypoints import PoseSequence

    cached = CACHE / _key(path)
    if cached.is_file():
        return PoseSequence.load(cached)
    return _estimate(path, cached, progress)


def fixture_landmarks(path: Path, progress: bool = False, estimate: bool = True):
    """A rendered fixture's PoseSequence (as ``formcheck.analysis.analyze_video`` sees it: the same
    engine, every frame), from the cache or estimated and cached; None when not cached and
    ``estimate`` is False."""
    from formcheck.keypoints import PoseSequence

    cached = CACHE / _fixture_key(path)
    if cached.is_file():
        return PoseSequence.load(cached)
    if not estimate:
        return None
    return _estimate(path, cached, progress)


def fixture_clips() -> list[Path]:
    """Every finished rendered fixture (``*.part.mp4`` are being written) that has a sidecar."""
    return sorted(p for p in FIXTURES.glob("*__*__*.mp4")
                  if not p.name.endswith(".part.mp4") and p.with_suffix(".json").is_file())


def labelled_clips() -> list[dict[str, str]]:
    with open(SHARED_VIDEOS / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    args = sys.argv[1:]
    if "--fixtures" in args:
        wanted = {a for a in args if a != "--fixtures"}
        for p in fixture_clips():
            if wanted and not any(w in p.stem for w in wanted):
                continue
            seq = fixture_landmarks(p)
            log.info("%s: %d frames, %d with a person", p.name, len(seq), int(seq.found.sum()))
        sys.exit(0)
    wanted = set(args)
    for row in labelled_clips():
        if wanted and row["exercise"] not in wanted:
            continue
        p = SHARED_VIDEOS / row["file"]
        seq = landmarks_for(p)
        log.info("%s: %d frames, %d with a person", row["file"], len(seq), int(seq.found.sum()))
