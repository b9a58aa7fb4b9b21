"""`formcheck live` with its OpenCV window, for real, under Xvfb: window shown at the frame's size, keys work.

Needs a GUI-capable OpenCV (opencv-python, not -headless), Xvfb and xdotool; skips cleanly otherwise
(the project's venv has opencv-python-headless, so it skips there).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO / "tests" / "fixtures" / "videos" / "wall_squat__correct__side.mp4"
TITLE = "formcheck live"


def _gui_cv2() -> bool:
    import cv2

    info = cv2.getBuildInformation()
    gui = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.strip().startswith("GUI:")), "NONE")
    return gui.upper() != "NONE"


@pytest.fixture
def xdisplay():
    if not _gui_cv2():
        pytest.skip("this OpenCV has no window support (opencv-python-headless)")
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("needs Xvfb and xdotool")
    if not VIDEO.exists():
        pytest.skip(f"fixture video missing: {VIDEO}")
    rfd, wfd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        number = f.readline().strip()
    if not number:
        xvfb.kill()
        pytest.skip("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def _xdotool(display: str, *args: str, timeout: float = 10) -> str:
    env = {**os.environ, "DISPLAY": display}
    # check=False: `xdotool search` exits 1 when no window matches, which the callers test for
    return subprocess.run(["xdotool", *args], check=False, env=env, capture_output=True, text=True,
                          timeout=timeout).stdout


def test_window_shows_the_overlay_and_obeys_keys(xdisplay, tmp_path):
    out = tmp_path / "session.json"
    env = {**os.environ, "DISPLAY": xdisplay, "QT_QPA_PLATFORM": "xcb"}
    code = "import sys; from formcheck.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "live", "--exercise", "wall_squat", "--video", str(VIDEO),
                             "--no-voice", "--skip-setup", "--pain-before", "2", "--pain-after", "2",
                             "--json", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        win = ""
        deadline = time.monotonic() + 60
        while not win and time.monotonic() < deadline and proc.poll() is None:
            win = _xdotool(xdisplay, "search", "--name", TITLE).split("\n")[0].strip()
            time.sleep(0.3)
        assert win, f"no window appeared: {proc.stderr.read() if proc.poll() is not None else ''}"
        time.sleep(1.5)  # a few frames in
        geo = _xdotool(xdisplay, "getwindowgeometry", win)
        w, h = json.loads(VIDEO.with_suffix(".json").read_text())["image_size"]
        assert f"Geometry: {w}x{h}" in geo  # the frame's own size: the overlay is not shrunk
        if shutil.which("import"):  # ImageMagick: look at the window itself
            shot = tmp_path / "window.png"
            subprocess.run(["import", "-window", win, str(shot)], env=env, timeout=20, check=True)
            import cv2
            import numpy as np

            img = cv2.imread(str(shot))
            assert img.shape[:2] == (h, w)
            frame_top = img[:30]  # the video frame, not a light-grey Qt toolbar pushing it down
            assert np.mean(np.all(frame_top > 225, axis=2)) < 0.2
        _xdotool(xdisplay, "key", "--window", win, "7")  # pain now 7/10
        time.sleep(1.0)
        _xdotool(xdisplay, "key", "--window", win, "q")
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    summary = json.loads(out.read_text())
    assert summary["end_reason"] == "quit"  # q stopped it, long before the 21 s clip ended
    assert summary["exercises"][0]["end_reason"] == "quit"
    assert summary["exercises"][0]["ended_t"] < 15.0
    assert [p["pain"] for p in summary["safety"]["pain_during"]] == [7]  # the 7 key reported pain
    assert "formcheck live session" in stdout and "quit" in stdout
    assert _xdotool(xdisplay, "search", "--name", TITLE).strip() == ""  # the window is gone
