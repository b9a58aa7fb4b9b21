"""Shared test fixtures: repository paths, the real clips in ../shared (skipped when absent)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE_VIDEOS = REPO / "tests" / "fixtures" / "videos"
SHARED_VIDEOS = (REPO / ".." / "shared" / "videos").resolve()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixture_videos() -> Path:
    return FIXTURE_VIDEOS


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    """The real clips of ../shared/videos; the test is skipped when they are absent."""
    if not (SHARED_VIDEOS / "labels.csv").is_file():
        pytest.skip("../shared/videos is absent (real clips are not part of the repository)")
    return SHARED_VIDEOS


@pytest.fixture(scope="session")
def shared_labels(shared_videos: Path) -> list[dict[str, str]]:
    with open(shared_videos / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    return path


@pytest.fixture(scope="session")
def world_template(tmp_path_factory):
    """A real SQLite database with two therapists, their patients and patient accounts, built once
    (argon2 hashing is deliberately slow) and copied for each test by ``world``."""
    from storage_world import build_world

    path = tmp_path_factory.mktemp("storage") / "template.db"
    return path, build_world(path)


@pytest.fixture()
def world(world_template, tmp_path):
    from storage_world import copy_world

    w = copy_world(world_template, tmp_path / "fc.db")
    yield w
    w["engine"].dispose()
