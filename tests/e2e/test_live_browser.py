"""End to end in headless Chromium: the Streamlit live page, fed a video as the fake webcam through
WebRTC, counts the reps on screen.

The fake camera is a .y4m converted at test time from a clip (never committed: it is large); Debian's
Chromium is launched by Playwright (a test tool's own browser download does not work offline).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "videos"
SHARED = (REPO / ".." / "shared" / "videos").resolve()
FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-quic"]


PREFERRED = ("wall_squat__correct__side", "ankle_pumps__correct__side", "heel_slides__correct__side")


def _clip() -> tuple[Path, str, int]:
    """(video, exercise, reps to reach): a rendered fixture (its ground-truth count) when available, else a
    real clip (its labelled count)."""
    for stem in PREFERRED:
        mp4, meta_path = FIXTURES / f"{stem}.mp4", FIXTURES / f"{stem}.json"
        if mp4.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            return mp4, meta["exercise"], int(meta["rep_count"])
    clip = SHARED / "squat_side_bodyweight.mp4"
    if clip.is_file():
        return clip, "squat", 2
    pytest.skip("no fixture video with reps and no ../shared/videos clip")


def to_y4m(src: Path, dst: Path, width: int = 640, max_frames: int = 300) -> Path:
    """Convert a video to a YUV4MPEG2 file for Chromium's fake camera (PyAV; no ffmpeg binary needed)."""
    import av
    import cv2

    from formcheck.video import open_video

    with open_video(src) as reader, av.open(str(dst), "w", format="yuv4mpegpipe") as out:
        fps = round(reader.fps) if reader.fps and reader.fps > 0 else 30
        w0, h0 = reader.size
        width = min(width, w0 - w0 % 2)
        h = round(h0 * width / w0 / 2) * 2
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, h, "yuv420p"
        for vf, _ in zip(reader, range(max_frames)):
            img = cv2.resize(vf.image_bgr, (width, h), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url}")


@pytest.fixture
def live_app(tmp_path: Path):
    video, exercise, expected = _clip()
    port = _free_port()
    env = {**os.environ, "FORMCHECK_LIVE_EXERCISE": exercise, "FORMCHECK_LIVE_SETUP": "0"}
    with open(tmp_path / "streamlit.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "tests" / "e2e" / "live_app.py"),
             "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_http(url, proc)
            yield url, video, expected
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_live_page_counts_reps_from_fake_webcam(live_app, chromium_path: str, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    url, video, expected = live_app
    y4m = to_y4m(video, tmp_path / "camera.y4m")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium_path, headless=True,
            args=FLAGS + [f"--use-file-for-fake-video-capture={y4m}"])
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.goto(url, wait_until="domcontentloaded")
            frame = page.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
            frame.get_by_role("button", name=re.compile("start", re.IGNORECASE)).click(timeout=60_000)
            # frames reach the server and are processed (shown as a counter on the page)...
            page.get_by_text(re.compile(r"Frames processed: [1-9]")).wait_for(timeout=60_000)
            # ...and the reps of the clip are counted on screen (the fake camera loops the clip)
            deadline = time.monotonic() + 120
            count = -1
            while time.monotonic() < deadline:
                m = re.search(r"Reps: (\d+)", page.inner_text("body"))
                count = int(m.group(1)) if m else -1
                if count >= expected:
                    break
                time.sleep(1)
            assert count >= expected, f"the page showed {count} reps, expected {expected}"
        finally:
            ctx.close()
