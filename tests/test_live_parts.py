"""The live loop's building blocks: frame hand-off, cue scheduling, safety advice, setup guidance."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from formcheck.errors import FieldError, OptionsError
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import Landmark as L
from formcheck.live.cues import Cue, CueOptions, CuePriority, CueScheduler
from formcheck.live.handoff import Closed, LatestSlot
from formcheck.live.safety import SafetyMonitor, SafetyOptions, check_pain
from formcheck.live.setup import SetupGuide, SetupOptions, camera_view, check_setup, frame_brightness


# --- hand-off ---------------------------------------------------------------------------------------
def test_slot_gives_newest_and_counts_drops():
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get(timeout=0.1) == 4
    assert slot.stats.dropped == 4
    assert slot.get(timeout=0.01) is None  # nothing new: times out, never repeats an old frame
    slot.close()
    with pytest.raises(Closed):
        slot.get(timeout=0.01)


def test_slot_lockstep_drops_nothing():
    slot: LatestSlot[int] = LatestSlot(drop=False)
    got: list[int] = []

    def consume():
        try:
            while True:
                v = slot.get(timeout=2)
                if v is not None:
                    got.append(v)
                    time.sleep(0.001)
        except Closed:
            pass

    th = threading.Thread(target=consume)
    th.start()
    for i in range(50):
        slot.put(i)
    # wait for the last one to be taken before closing
    while slot.peek() is not None:
        time.sleep(0.001)
    slot.close()
    th.join(2)
    assert got == list(range(50))
    assert slot.stats.dropped == 0


# --- cues -------------------------------------------------------------------------------------------
def _run(sched: CueScheduler, raised: dict[float, list[Cue]], until: float, step: float = 1 / 30):
    said = []
    t = 0.0
    while t <= until:
        said += sched.update(raised.get(round(t, 4), []), t)
        t = round(t + step, 4)
    return said


def test_cue_fault_held_for_seconds_is_said_once_per_cooldown():
    sched = CueScheduler(CueOptions(min_gap_s=1.0))
    said = []
    for i in range(300):  # 10 s at 30 fps, the fault raised every frame
        t = i / 30
        said += sched.update([Cue("Keep your back straight", CuePriority.FAULT, "fault:trunk", t, cooldown_s=6)], t)
    assert [c.text for c in said] == ["Keep your back straight"] * 2  # t=0 and t≈6
    assert said[1].t - said[0].t >= 6


def test_cue_most_important_first_and_stale_counts_dropped():
    sched = CueScheduler(CueOptions(min_gap_s=1.5))
    first = sched.update([Cue("3", CuePriority.COUNT, "count", 0.0)], 0.0)
    assert [c.text for c in first] == ["3"]
    # within the gap: a count and a harmful fault are raised together
    out = sched.update([Cue("4", CuePriority.COUNT, "count", 0.5, max_age_s=0.8),
                        Cue("Not so deep", CuePriority.HARMFUL, "fault:too_deep", 0.5)], 0.5)
    assert out == []
    out = sched.update([], 1.6)
    assert [c.text for c in out] == ["Not so deep"]
    # the count waited 1.6 s > its max age 0.8 s: dropped, never said late
    assert sched.update([], 3.5) == []


def test_cue_safety_bypasses_gap():
    sched = CueScheduler(CueOptions(min_gap_s=5))
    sched.update([Cue("1", CuePriority.COUNT, "count", 0.0)], 0.0)
    out = sched.update([Cue("Stop", CuePriority.SAFETY, "safety", 0.1)], 0.1)
    assert [c.text for c in out] == ["Stop"]


def test_cue_newer_same_key_replaces_pending():
    sched = CueScheduler(CueOptions(min_gap_s=1.0))
    sched.update([Cue("hello", CuePriority.ENCOURAGE, "x", 0.0)], 0.0)
    sched.update([Cue("4", CuePriority.COUNT, "count", 0.3, cooldown_s=0)], 0.3)
    sched.update([Cue("5", CuePriority.COUNT, "count", 0.8, cooldown_s=0)], 0.8)
    assert [c.text for c in sched.update([], 1.0)] == ["5"]


def test_cue_options_validated():
    with pytest.raises(OptionsError, match="min_gap_s"):
        CueOptions(min_gap_s=-1)


# --- safety -----------------------------------------------------------------------------------------
def test_pain_rating_validated():
    assert check_pain("7") == 7
    for bad in (-1, 11, 3.5, "a lot", None, True):
        with pytest.raises(FieldError, match="pain"):
            check_pain(bad)


def test_pain_worse_after_advises_stop():
    mon = SafetyMonitor()
    mon.set_pain_before(3)
    assert mon.set_pain_after(3, 100.0) is None
    adv = mon.set_pain_after(5, 100.0)
    assert adv is not None and adv.reason == "pain_worse"
    assert "contact your clinician" in adv.message and "5/10" in adv.message
    assert mon.to_dict()["advice"][0]["pain_now"] == 5


def test_harmful_fault_repeated_advises_stop_once():
    mon = SafetyMonitor(SafetyOptions(harmful_repeat=2))
    assert mon.on_harmful("too_deep", "knees past 90°", 1.0) is None
    assert mon.on_harmful("trunk_flexion", "leaning forward", 2.0) is None
    adv = mon.on_harmful("too_deep", "knees past 90°", 5.0)
    assert adv is not None and adv.detail == {"fault": "too_deep", "count": 2}
    assert mon.on_harmful("too_deep", "knees past 90°", 9.0) is None  # advised once, recorded once
    assert len(mon.advice) == 1


# --- setup ------------------------------------------------------------------------------------------
def _person(view: str = "side", scale: float = 1.0, dx: float = 0.0, size=(640, 480)) -> PoseFrame:
    """A standing stick figure in pixels, centred, height ~ 0.8 * image height * scale."""
    w, h = size
    H = 0.8 * h * scale
    cx, top = w / 2 + dx, (h - H) / 2
    half_sh = 0.13 * H if view == "front" else 0.02 * H
    half_hip = 0.09 * H if view == "front" else 0.015 * H
    pts = {
        L.NOSE: (0, 0.06), L.LEFT_EAR: (0.02, 0.05), L.RIGHT_EAR: (-0.02, 0.05),
        L.LEFT_SHOULDER: (half_sh / H, 0.18), L.RIGHT_SHOULDER: (-half_sh / H, 0.18),
        L.LEFT_HIP: (half_hip / H, 0.5), L.RIGHT_HIP: (-half_hip / H, 0.5),
        L.LEFT_KNEE: (half_hip / H, 0.73), L.RIGHT_KNEE: (-half_hip / H, 0.73),
        L.LEFT_ANKLE: (half_hip / H, 0.96), L.RIGHT_ANKLE: (-half_hip / H, 0.96),
        L.LEFT_HEEL: (half_hip / H - 0.01, 0.98), L.RIGHT_HEEL: (-half_hip / H - 0.01, 0.98),
    }
    xyz = np.full((33, 3), np.nan, np.float32)
    vis = np.zeros(33, np.float32)
    for lm, (fx, fy) in pts.items():
        xyz[lm] = (cx + fx * H, top + fy * H, 0)
        vis[lm] = 0.95
    # remaining landmarks (hands, face details) at the shoulders with low visibility
    missing = ~np.isfinite(xyz[:, 0])
    xyz[missing] = xyz[L.LEFT_SHOULDER]
    return PoseFrame(xyz, np.zeros((33, 3)), vis, np.ones(33), 0.0, size)


def test_setup_ok_for_whole_body_side_view():
    chk = check_setup(_person("side"), required_view="side", brightness=120)
    assert chk.ok, chk.issues
    assert chk.view == "side"


def test_setup_asks_to_turn_when_view_is_wrong():
    assert camera_view(_person("front")) == "front"
    chk = check_setup(_person("front"), required_view="side", brightness=120)
    assert [i.code for i in chk.issues] == ["view_side"]
    assert "side" in chk.issues[0].message


def test_setup_feet_cut_off_and_distance_and_light():
    big = _person("side", scale=1.6)  # feet and head beyond the image
    codes = [i.code for i in check_setup(big, brightness=120).issues]
    assert "feet" in codes and "head" in codes
    small = _person("side", scale=0.35)
    assert [i.code for i in check_setup(small, brightness=120).issues] == ["too_far"]
    dark = check_setup(_person("side"), brightness=20)
    assert [i.code for i in dark.issues] == ["too_dark"]
    nobody = check_setup(PoseFrame.empty(0, (640, 480)), brightness=120)
    assert nobody.issues[0].code == "no_person"


def test_frame_brightness():
    assert frame_brightness(np.full((480, 640, 3), 10, np.uint8)) == pytest.approx(10, abs=0.5)
    assert frame_brightness(np.full((480, 640, 3), 200, np.uint8)) == pytest.approx(200, abs=0.5)


def test_setup_guide_needs_stable_setup_then_countdown():
    guide = SetupGuide("side", SetupOptions(stable_s=1.0, countdown_s=3.0))
    good, bad = _person("side"), _person("front")
    phases = []
    for i in range(30 * 8):
        t = i / 30
        frame = bad if 1.5 <= t < 2.0 else good  # patient turns away briefly: countdown restarts
        phases.append((t, guide.update(frame, t, 120)))
    ready_at = next(t for t, s in phases if s.ready)
    assert ready_at == pytest.approx(2.0 + 1.0 + 3.0, abs=0.05)
    countdown_msgs = {s.message for _, s in phases if s.phase == "countdown"}
    assert "Hold still... starting in 3" in countdown_msgs and "Hold still... starting in 1" in countdown_msgs
    guiding = [s.message for t, s in phases if 1.5 <= t < 2.0]
    assert all("side" in m for m in guiding)


def test_setup_options_validated():
    with pytest.raises(OptionsError, match="min_extent"):
        SetupOptions(min_extent=0.9, max_extent=0.5)
    with pytest.raises(OptionsError, match="required_view"):
        SetupGuide("top")
