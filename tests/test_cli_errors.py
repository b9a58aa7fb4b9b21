"""Every bad input of `formcheck analyze` gets one actionable line on stderr and a non-zero exit status,
never a traceback; a truncated video still yields (partial) results."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from formcheck.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "videos"
SHARED = (REPO / ".." / "shared" / "videos").resolve()


def run(capsys, args: list[str]) -> tuple[int, str, str]:
    logging.getLogger().handlers.clear()  # each main() call configures logging afresh
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    assert code != 0
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, err
    for n in needles:
        assert n.lower() in errors[0].lower(), errors[0]
    return errors[0]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    from formcheck.report.video import H264Writer

    h, w = frames[0].shape[:2]
    with H264Writer(path, (w, h), fps, crf=30) as wr:
        for i, f in enumerate(frames):
            wr.write(f, i / fps)
    return path


@pytest.fixture(scope="module")
def person_clip(tmp_path_factory) -> Path:
    """A short clip with a person in it (a rendered fixture, else a real clip), re-encoded small."""
    from formcheck.video import open_video

    candidates = sorted(FIXTURES.glob("wall_squat__*.mp4")) + sorted(FIXTURES.glob("*.mp4"))
    candidates += [SHARED / "squat_side_bodyweight.mp4"]
    src = next((p for p in candidates if p.is_file()), None)
    if src is None:
        pytest.skip("no clip with a person (tests/fixtures/videos and ../shared/videos are absent)")
    frames = []
    with open_video(src, max_side=480) as r:
        fps = r.fps
        for f in r:
            if f.t > 3.0:
                break
            frames.append(f.image_bgr)
    return write_video(tmp_path_factory.mktemp("clip") / "person.mp4", frames, fps)


def test_not_a_video(tmp_path: Path, capsys):
    p = tmp_path / "notes.mp4"
    p.write_text("these are my exercise notes, not a video\n" * 20)
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--out", str(tmp_path / "o")])
    assert_one_line_error(code, err, "notes.mp4")


def test_empty_file(tmp_path: Path, capsys):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--out", str(tmp_path / "o")])
    assert_one_line_error(code, err, "empty")


def test_corrupt_file(tmp_path: Path, capsys):
    p = tmp_path / "corrupt.mp4"
    good = write_video(tmp_path / "good.mp4", [np.full((64, 64, 3), i * 20, np.uint8) for i in range(10)])
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(0)
    data[: len(data) // 2] = rng.integers(0, 256, len(data) // 2, dtype=np.uint8).tobytes()
    p.write_bytes(bytes(data))
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--out", str(tmp_path / "o")])
    assert_one_line_error(code, err, "corrupt.mp4")


def test_zero_frames(tmp_path: Path, capsys):
    # a video whose header lists frames but whose frame data is missing
    good = write_video(tmp_path / "good.mp4", [np.full((64, 64, 3), i * 20, np.uint8) for i in range(10)])
    data = good.read_bytes()
    p = tmp_path / "zero.mp4"
    p.write_bytes(data[: data.find(b"mdat") + 8])
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--out", str(tmp_path / "o")])
    assert_one_line_error(code, err, "zero.mp4", "frames")


def test_missing_file_and_directory(tmp_path: Path, capsys):
    code, _, err = run(capsys, ["analyze", str(tmp_path / "nope.mp4"), "--exercise", "wall_squat"])
    assert_one_line_error(code, err, "no such file")
    code, _, err = run(capsys, ["analyze", str(tmp_path), "--exercise", "wall_squat",
                                "--out", str(tmp_path / "o")])
    assert_one_line_error(code, err, "directory")


def test_video_without_a_person(tmp_path: Path, capsys):
    _, xx = np.mgrid[0:180, 0:320]
    frames = [((xx + 4 * i) % 256).astype(np.uint8)[..., None].repeat(3, axis=2) for i in range(20)]
    p = write_video(tmp_path / "wall.mp4", frames)
    out = tmp_path / "o"
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--out", str(out)])
    line = assert_one_line_error(code, err, "no person")
    assert "20 frames" in line
    assert not (out / "annotated.mp4").exists()


def test_unknown_exercise_suggests_the_closest(tmp_path: Path, capsys):
    p = tmp_path / "whatever.mp4"
    p.write_bytes(b"x")
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wal_squat"])
    assert_one_line_error(code, err, "unknown exercise 'wal_squat'", "did you mean 'wall_squat'")
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "zzzz"])
    line = assert_one_line_error(code, err, "unknown exercise", "formcheck exercises")
    assert "did you mean" not in line


def test_bad_side(tmp_path: Path, capsys):
    p = tmp_path / "whatever.mp4"
    p.write_bytes(b"x")
    code, _, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--side", "middle"])
    assert_one_line_error(code, err, "--side", "middle")


def test_unwritable_output_directory(tmp_path: Path, capsys):
    video = write_video(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 3)
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file where the output directory should go")
    code, _, err = run(capsys, ["analyze", str(video), "--exercise", "wall_squat", "--out", str(blocker / "out")])
    assert_one_line_error(code, err, "cannot write to output directory", "--out")
    code, _, err = run(capsys, ["analyze", str(video), "--exercise", "wall_squat", "--out", str(blocker)])
    assert_one_line_error(code, err, "cannot write to output directory")
    code, _, err = run(capsys, ["analyze", str(video), "--exercise", "wall_squat", "--out", str(tmp_path / "o"),
                                "--json", str(blocker / "r.json")])
    assert_one_line_error(code, err, "cannot write")


def test_truncated_video_gives_partial_results(person_clip: Path, tmp_path: Path, capsys):
    from formcheck.video import open_video

    with open_video(person_clip) as r:
        full = sum(1 for _ in r)
    data = person_clip.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "o"
    code, stdout, err = run(capsys, ["analyze", str(p), "--exercise", "wall_squat", "--out", str(out)])
    assert code == 3
    assert_one_line_error(code, err, "cut.mp4", "partial")
    doc = json.loads((out / "result.json").read_text())
    assert doc["partial"] is True
    assert 0 < doc["video"]["frames"] < full and doc["frames_with_person"] > 0
    assert (out / "report.html").is_file() and "Partial result" in (out / "report.html").read_text()
    assert (out / "annotated.mp4").is_file()
    assert "partial" in stdout
