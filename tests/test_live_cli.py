"""`formcheck live` from the command line: a headless session on a video played as the camera."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formcheck.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "videos").resolve()


def test_headless_session_on_a_video_prints_summary_and_writes_json(shared_labels, shared_videos, tmp_path,
                                                                       capsys):
    row = next(r for r in shared_labels if r["file"] == "squat_side_bodyweight.mp4")
    out = tmp_path / "session.json"
    rc = main(["live", "--exercise", "squat", "--video", str(shared_videos / row["file"]), "--headless",
               "--skip-setup", "--no-voice", "--every-frame", "--pain-before", "3", "--pain-after", "5",
               "--json", str(out)])
    assert rc == 0
    summary = json.loads(out.read_text())
    assert summary["exercises"][0]["result"]["rep_count"] == int(row["reps"])  # the clip's labelled reps
    assert summary["end_reason"] == "end_of_video"
    # pain got worse: advised to stop, shown and recorded
    assert summary["safety"]["advice"][0]["reason"] == "pain_worse"
    text = capsys.readouterr().out
    assert "contact your" in text and f"{row['reps']} / 10" in text


def test_window_needs_a_gui_opencv_or_headless(shared_videos, capsys):
    import cv2

    if "GUI:                           NONE" not in cv2.getBuildInformation():
        pytest.skip("this OpenCV has window support")
    rc = main(["live", "--exercise", "squat", "--video", str(shared_videos / "squat_side_bodyweight.mp4")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--headless" in err and "opencv-python" in err
    assert len(err.strip().splitlines()) <= 2  # one message, no traceback


@pytest.mark.parametrize("args, needle", [
    (["--exercise", "no_such_exercise"], "unknown exercise"),
    (["--exercise", "squat", "--pain-before", "11"], "pain_before"),
    (["--level", "expert"], "level"),
    ([], "--exercise"),
    (["--exercise", "squat", "--video", "/nonexistent/clip.mp4"], "no such video"),
])
def test_user_errors_are_one_line(args, needle, capsys):
    rc = main(["live", "--headless", "--no-voice", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and "Traceback" not in err
