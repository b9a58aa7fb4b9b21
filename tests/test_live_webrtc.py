"""The browser live session behind the Streamlit page, without a browser: newest frame only, results
handed to the page through a bounded queue, stop/finish keep the session."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from formcheck.live.coach import LiveOptions
from formcheck.live.program import Program
from formcheck.live.webrtc_page import RTC_CONFIGURATION, BrowserSession, _speak_html


def _frames(shared_videos, n=12):
    import av
    import cv2

    from formcheck.video import open_video

    out = []
    with open_video(shared_videos / "squat_side_bodyweight.mp4") as r:
        for i, vf in zip(range(n), r):
            f = av.VideoFrame.from_ndarray(cv2.resize(vf.image_bgr, (640, 360)), format="bgr24")
            f.pts, f.time_base = i * 3000, Fraction(1, 90000)
            out.append(f)
    return out


def test_newest_frame_processed_annotated_and_published(shared_videos):
    frames = _frames(shared_videos)
    records: list[dict] = []
    bs = BrowserSession(Program.single("squat"), LiveOptions(setup=False), records.append, pain_before=2)
    out = bs.on_frames(frames[:3])  # three frames queued while busy: only the newest is processed
    assert bs.frames_received == 3 and bs.frames_processed == 1 and bs.frames_dropped == 2
    assert len(out) == 1 and out[0].pts == frames[2].pts
    annotated = out[0].to_ndarray(format="bgr24")
    original = frames[2].to_ndarray(format="bgr24")
    assert annotated.shape == original.shape and np.abs(annotated.astype(int) - original).sum() > 0  # overlay drawn
    for f in frames[3:]:
        bs.on_frames([f])
    snap = None
    while not bs.updates.empty():
        snap = bs.updates.get_nowait()
    assert snap is not None and snap["frames"] == 10 and snap["phase"] == "active"
    assert snap["exercise"] == "Squat / sit-to-stand" and snap["reps_target"] == 10
    assert records[0]["type"] == "session_start" and records[0]["pain_before"] == 2


def test_queue_to_page_is_bounded_and_keeps_newest():
    bs = BrowserSession(Program.single("squat"), LiveOptions(setup=False))
    for i in range(100):
        bs._publish({"frames": i})
    assert bs.updates.qsize() == bs.updates.maxsize
    items = [bs.updates.get_nowait()["frames"] for _ in range(bs.updates.qsize())]
    assert items[-1] == 99


def test_stop_then_finish_keeps_the_session(shared_videos):
    frames = _frames(shared_videos, 4)
    records: list[dict] = []
    bs = BrowserSession(Program.single("squat"), LiveOptions(setup=False), records.append, pain_before=1)
    for f in frames:
        bs.on_frames([f])
    bs.control("stop")
    summary = bs.control("finish", 4)
    assert summary["end_reason"] == "stopped"
    assert summary["safety"]["advice"][0]["reason"] == "pain_worse"
    assert summary["run"]["processed"] == 4
    assert [r["type"] for r in records][-1] == "session_end"


def test_no_internet_ice_servers_and_safe_speech_snippet():
    assert RTC_CONFIGURATION == {"iceServers": []}
    html = _speak_html(["</script><b>x", "3"], 1)
    assert html.count("</script>") == 1  # the cue text cannot close the script
    assert "SpeechSynthesisUtterance" in html

