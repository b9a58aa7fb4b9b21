"""The state machine driven by scripted measure timelines: exact events, frame by frame."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from formcheck.errors import OptionsError, SpecError
from formcheck.exercises import EventKind as K
from formcheck.exercises import ExerciseTracker, Overrides, TrackerOptions, parse_spec, run_exercise
from formcheck.exercises.conditions import Condition, compile_condition

NAN = math.nan
DT = 0.1  # 10 frames per second keeps the timing arithmetic readable

BASE = {
    "id": "test_squat", "name": "Test squat", "level": "beginning", "instructions": ["Squat."],
    "camera": {"views": ["side"], "setup": "Beside you."},
    "sides": "both",
    "measures": ["knee_flexion", "trunk_inclination"],
    "phases": [
        {"name": "standing"},
        {"name": "squatting", "enter": {"measure": "knee_flexion", "gt": 30},
         "exit": {"measure": "knee_flexion", "lt": 10}, "min_dwell_s": 0.2},
    ],
    "rep": {"measure": "knee_flexion", "direction": "increase", "target": {"value": 45, "tolerance": 5}},
    "hold": {"in_target": True, "max_pause_s": 0.3},
    "prescription": {"reps": 10, "hold_s": 1.0},
    "faults": [{"id": "trunk_flexion", "when": {"measure": "trunk_inclination", "gt": 40},
                "clear": {"measure": "trunk_inclination", "lt": 30}, "min_duration_s": 0.3,
                "clear_after_s": 0.2, "severity": "harmful", "message": "Chest up."}],
}


def spec(**changes):
    d = copy.deepcopy(BASE)
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return parse_spec(d, "test_squat.yaml")


def drive(tracker: ExerciseTracker, knee: list[float], extra: dict[str, list[float]] | None = None):
    """Feed a knee timeline (one value per frame at 10 fps); returns [(kind, t, data)]."""
    out = []
    for i, k in enumerate(knee):
        values = {"knee_flexion": k, "trunk_inclination": 5.0, "shoulder_width_ratio": 0.1}
        for name, col in (extra or {}).items():
            values[name] = col[i]
        for e in tracker.update(values, round(i * DT, 6)):
            out.append((e.kind, round(e.t, 3), e.data))
    return out


def kinds(events) -> list[tuple[str, float]]:
    return [(str(k), t) for k, t, _ in events]


def test_clean_rep_exact_events() -> None:
    tr = ExerciseTracker(spec())
    knee = [0, 20, 35] + [46] * 11 + [20, 5, 5, 5, 5]  # 46 from 0.3 to 1.3 s, 20 at 1.4, 5 from 1.5
    ev = drive(tr, knee)
    # enter (>30) first true at 0.2, held 0.2 s -> rep confirmed at 0.4 (start_s 0.2); in the target band
    # [40, 50] since 0.3 -> hold back-dated to 0.3, 1 s held at 1.3; out of the band at 1.4: paused;
    # exit (<10) first at 1.5, held 0.2 s -> at 1.7 the hold ends (completed) and the rep is completed
    # with end_s 1.5.
    assert kinds(ev) == [("rep_started", 0.4), ("hold_started", 0.4), ("hold_progress", 1.3),
                         ("hold_completed", 1.3), ("hold_paused", 1.4), ("hold_ended", 1.7),
                         ("rep_completed", 1.7)]
    started = ev[0][2]
    assert started["start_s"] == pytest.approx(0.2)
    hold = ev[1][2]
    assert hold["start_s"] == pytest.approx(0.3)
    done = ev[-1][2]
    assert done["complete"] and done["count"] == 1
    assert done["peak"] == 46 and done["range_of_motion"] == 46
    assert done["start_s"] == pytest.approx(0.2) and done["end_s"] == pytest.approx(1.5)
    assert done["hold_s"] == pytest.approx(1.0) and done["hold_achieved"]
    res = tr.result()
    assert res.rep_count == 1 and len(res.holds) == 1 and res.holds[0].completed
    assert res.holds[0].duration_s == pytest.approx(1.0)
    assert res.form_score == pytest.approx(100.0)


def test_jitter_around_a_threshold_never_double_counts() -> None:
    tr = ExerciseTracker(spec(hold=None, prescription={"reps": 10}))
    # flicker across the enter threshold faster than the dwell: nothing starts
    flicker = [29, 31] * 5
    # a real rep, then jitter around 30 *inside* the movement (exit is < 10): still one rep
    rep = [40, 46, 46, 31, 29, 31, 29, 31, 29, 46, 46, 5, 5, 5, 9, 11, 9, 11, 9, 11]
    ev = drive(tr, [0, 0] + flicker + rep)
    assert [k for k, _ in kinds(ev)] == ["rep_started", "rep_completed"]
    assert tr.rep_count == 1


def test_spike_shorter_than_dwell_is_ignored() -> None:
    tr = ExerciseTracker(spec(hold=None, prescription={"reps": 10}))
    ev = drive(tr, [0, 0, 60, 0, 0, 0])  # one-frame spike (0.1 s < 0.2 s dwell)
    assert ev == []
    assert tr.result().reps == []


def test_half_rep_is_reported_not_counted() -> None:
    tr = ExerciseTracker(spec(hold=None, prescription={"reps": 10}))
    ev = drive(tr, [0, 20, 35, 38, 38, 20, 5, 5, 5])
    assert [k for k, _ in kinds(ev)] == ["rep_started", "rep_incomplete"]
    data = ev[-1][2]
    assert data["complete"] is False and data["reason"] == "target not reached" and data["count"] == 0
    res = tr.result()
    assert res.rep_count == 0 and len(res.reps) == 1 and not res.reps[0].complete
    # attainment: rest 0, peak 38, goal 40 -> 0.95 -> score 95
    assert res.reps[0].form_score == pytest.approx(95.0)


def test_hold_cut_short_makes_the_rep_incomplete() -> None:
    tr = ExerciseTracker(spec())
    ev = drive(tr, [0, 35, 46, 46, 46, 46, 5, 5, 5, 5])
    ks = [k for k, _ in kinds(ev)]
    assert ks == ["rep_started", "hold_started", "hold_paused", "hold_broken", "rep_incomplete"]
    assert ev[-1][2]["reason"] == "hold not achieved"
    assert tr.result().holds[0].completed is False
    assert tr.result().holds[0].duration_s == pytest.approx(0.3)


def test_small_wobble_pauses_the_hold_and_it_resumes() -> None:
    tr = ExerciseTracker(spec())
    # in band 0.2..0.6, wobble to 55 (out of band) for 0.2 s (< max_pause 0.3), back in band
    knee = [0, 35, 46, 46, 46, 46, 46, 55, 55, 46] + [46] * 8 + [5, 5, 5, 5]
    ev = drive(tr, knee)
    ks = kinds(ev)
    assert ("hold_paused", 0.7) in ks and ("hold_resumed", 0.9) in ks
    assert ("hold_completed", 1.5) in ks  # 0.2->0.6 = 0.4 s, then 0.9->1.5 = 0.6 s: 1.0 s at 1.5
    assert tr.rep_count == 1
    assert tr.result().holds[0].duration_s == pytest.approx(1.2)  # 0.2..0.6 + 0.9..1.7: pause excluded


def test_a_few_frames_of_lost_tracking_do_not_break_the_hold_or_the_count() -> None:
    tr = ExerciseTracker(spec())
    knee = [0, 35, 46, 46, NAN, NAN, NAN, 46, 46, 46, 46, 46, 46, 46, 5, 5, 5, 5]
    ev = drive(tr, knee)
    ks = [k for k, _ in kinds(ev)]
    assert "hold_broken" not in ks and "not_visible" not in ks
    assert ("hold_paused", 1.4) in kinds(ev)  # only on the way back up, not during the dropout
    assert tr.rep_count == 1
    # the 0.3 s gap is bridged because the posture was held on both sides of it
    assert tr.result().holds[0].duration_s == pytest.approx(1.1)


def test_long_loss_reports_not_visible_breaks_the_hold_and_voids_the_rep() -> None:
    tr = ExerciseTracker(spec())
    knee = [0, 35, 46, 46] + [NAN] * 12 + [46, 46, 5, 5, 5]
    ev = drive(tr, knee)
    ks = kinds(ev)
    assert ("not_visible", 1.4) in ks  # first NaN at 0.4, grace 1.0 s
    assert ("hold_broken", 1.4) in ks
    assert ("visible", 1.6) in ks
    assert ev[-1][0] == K.REP_INCOMPLETE and ev[-1][2]["reason"] == "hold not achieved"
    assert tr.rep_count == 0
    assert any("out of view" in w for w in tr.result().warnings)


def test_fault_needs_its_minimum_duration_and_clears_with_hysteresis() -> None:
    tr = ExerciseTracker(spec(hold=None, prescription={"reps": 10}))
    knee = [0] * 20
    trunk = [5, 45, 45, 5, 5, 45, 45, 45, 45, 35, 35, 25, 25, 25, 25, 5, 5, 5, 5, 5]
    ev = drive(tr, knee, {"trunk_inclination": trunk})
    # 0.1-0.2: only 0.1 s -> nothing; 0.5-0.8: raised at 0.8 (0.3 s), 35 is not < 30 so it stays;
    # clear condition from 1.1, held 0.2 s -> cleared at 1.3 with end_s 1.1
    assert kinds(ev) == [("fault_raised", 0.8), ("fault_cleared", 1.3)]
    assert ev[0][2]["start_s"] == pytest.approx(0.5) and ev[0][2]["severity"] == "harmful"
    f = tr.result().faults
    assert len(f) == 1 and f[0].id == "trunk_flexion" and f[0].start_s == pytest.approx(0.5)
    assert f[0].end_s == pytest.approx(1.1)


def test_fault_during_a_rep_lowers_its_score_and_is_listed() -> None:
    tr = ExerciseTracker(spec(hold=None, prescription={"reps": 10}))
    knee = [0, 35, 46, 46, 46, 46, 46, 46, 5, 5, 5, 5]
    trunk = [5, 5, 50, 50, 50, 50, 50, 5, 5, 5, 5, 5]
    drive(tr, knee, {"trunk_inclination": trunk})
    rep = tr.result().reps[0]
    assert rep.complete and rep.faults == ["trunk_flexion"]
    assert rep.form_score == pytest.approx(65.0)  # 100 - 35 (harmful)


def test_overrides_lower_the_target_without_editing_the_spec() -> None:
    sp = spec(hold=None, prescription={"reps": 10})
    knee = [0, 35, 36, 36, 36, 5, 5, 5, 5]
    assert ExerciseTracker(sp).rep_count == 0
    base = ExerciseTracker(sp)
    drive(base, knee)
    assert base.rep_count == 0
    lowered = ExerciseTracker(sp, overrides={"target": 35})
    drive(lowered, knee)
    assert lowered.rep_count == 1
    assert sp.rep.target is not None and sp.rep.target.value == 45  # original untouched
    with pytest.raises(SpecError, match="hold_s"):
        ExerciseTracker(sp, overrides=Overrides(hold_s=3))  # this spec has no hold


def _alternating_spec():
    return spec(
        sides="alternating", hold=None, prescription={"reps": 10}, faults=[],
        measures=["knee_flexion_{side}"],
        phases=[{"name": "rest"}, {"name": "lift", "enter": {"measure": "knee_flexion_{side}", "gt": 30},
                                   "exit": {"measure": "knee_flexion_{side}", "lt": 10}, "min_dwell_s": 0.2}],
        rep={"measure": "knee_flexion_{side}", "direction": "increase",
             "target": {"value": 45, "tolerance": 5}})


def test_alternating_sides_are_followed() -> None:
    tr = ExerciseTracker(_alternating_spec())
    left = [0, 40, 46, 46, 46, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0]
    right = [0, 0, 0, 0, 0, 0, 0, 0, 40, 46, 46, 46, 5, 5, 5, 5]
    ev = []
    for i, (lv, rv) in enumerate(zip(left, right)):
        ev += tr.update({"knee_flexion_left": lv, "knee_flexion_right": rv, "shoulder_width_ratio": 0.1}, i * DT)
    reps = tr.result().reps
    assert [(r.side, r.complete) for r in reps] == [("left", True), ("right", True)]
    assert tr.result().rep_count_by_side == {"left": 1, "right": 1}
    # a fixed side ignores the other leg
    fixed = ExerciseTracker(_alternating_spec(), side="right")
    for i, (lv, rv) in enumerate(zip(left, right)):
        fixed.update({"knee_flexion_left": lv, "knee_flexion_right": rv}, i * DT)
    assert [r.side for r in fixed.result().reps] == ["right"]


def test_wrong_view_is_reported_after_it_persists() -> None:
    tr = ExerciseTracker(spec(hold=None, prescription={"reps": 10}))
    ev = []
    for i in range(40):
        ev += tr.update({"knee_flexion": 0.0, "trunk_inclination": 5.0, "shoulder_width_ratio": 0.8}, i * DT)
    wrong = [e for e in ev if e.kind == K.WRONG_VIEW]
    assert len(wrong) == 1 and wrong[0].t == pytest.approx(2.0)
    assert wrong[0].data["view"] == "front"


def test_batch_runner_gives_the_same_events_as_streaming() -> None:
    knee = np.array(([0, 20, 35] + [46] * 11 + [20, 5, 5, 5, 5]) * 3, float)
    t = np.arange(len(knee)) * DT
    res = run_exercise(spec(), {"knee_flexion": knee, "trunk_inclination": np.full_like(knee, 5.0)}, t=t)
    tr = ExerciseTracker(spec())
    for i in range(len(knee)):
        tr.update({"knee_flexion": float(knee[i]), "trunk_inclination": 5.0}, float(t[i]))
    assert [e.to_dict() for e in res.events] == [e.to_dict() for e in tr.events]
    assert res.rep_count == 3
    d = res.to_dict()
    assert d["rep_count"] == 3 and len(d["reps"]) == 3 and d["reps"][0]["index"] == 1


def test_open_hold_at_the_end_of_a_recording_is_kept() -> None:
    tr = ExerciseTracker(spec())
    drive(tr, [0, 35, 46] + [46] * 15)  # recording stops while holding
    res = tr.result()
    assert res.rep_count == 1  # the hold was completed: the rep counts
    assert res.holds[0].duration_s == pytest.approx(1.5)
    assert tr.result().rep_count == 1  # result() is non-destructive


def test_time_must_increase() -> None:
    tr = ExerciseTracker(spec())
    tr.update({"knee_flexion": 0.0}, 1.0)
    with pytest.raises(OptionsError, match="t"):
        tr.update({"knee_flexion": 0.0}, 1.0)


def test_side_option_is_validated() -> None:
    with pytest.raises(OptionsError, match="side"):
        ExerciseTracker(spec(), side="middle")
    with pytest.raises(OptionsError, match="side"):
        ExerciseTracker(spec(), side="left")  # a both-sides exercise has no side to fix


@pytest.mark.parametrize("cond,values,expected", [
    ({"measure": "a", "gt": 1}, {"a": 2.0}, True),
    ({"measure": "a", "gt": 1}, {"a": NAN}, None),
    ({"measure": "a", "between": [1, 3]}, {"a": 3.0}, True),
    ({"measure": "a", "outside": [1, 3]}, {"a": 2.0}, False),
    ({"all": [{"measure": "a", "gt": 1}, {"measure": "b", "gt": 1}]}, {"a": 0.0, "b": NAN}, False),
    ({"all": [{"measure": "a", "gt": 1}, {"measure": "b", "gt": 1}]}, {"a": 2.0, "b": NAN}, None),
    ({"any": [{"measure": "a", "gt": 1}, {"measure": "b", "gt": 1}]}, {"a": 2.0, "b": NAN}, True),
    ({"any": [{"measure": "a", "gt": 1}, {"measure": "b", "gt": 1}]}, {"a": 0.0, "b": NAN}, None),
    ({"not": {"measure": "a", "lt": 0}}, {"a": -1.0}, False),
    ({"measure": "a_{side}", "abs_gt": 5}, {"a_left": -6.0}, True),
])
def test_conditions_are_three_valued(cond, values, expected) -> None:
    f = compile_condition(Condition.model_validate(cond), "left")
    assert f(values, {}) is expected


@pytest.mark.parametrize("bad", [
    {"measure": "a"},  # no comparison
    {"measure": "a", "gt": 1, "lt": 2},  # two comparisons
    {"measure": "a", "between": [3, 1]},
    {"all": []},
    {"measure": "a", "all": [{"measure": "b", "gt": 1}]},
    {"measure": "a", "eq": 1},  # not in the closed set
])
def test_malformed_conditions_are_rejected(bad) -> None:
    with pytest.raises(ValueError):
        Condition.model_validate(bad)


def test_held_still_times_the_plateau_not_the_ramps() -> None:
    # max_rate: the timer runs only while the knee is steady; a slow ramp through the band is not held
    tr = ExerciseTracker(spec(hold={"in_target": True, "max_rate": 20, "max_pause_s": 0.3}),
                         options=TrackerOptions(rate_tau_s=0))
    knee = [0, 10, 20, 30, 40, 43, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 43, 40, 30, 20, 5, 5, 5, 5]
    drive(tr, knee)
    (h,) = tr.result().holds
    # in the band [40, 50] from 0.4 to 1.8 s, but moving 30 deg/s until 0.6 and from 1.7 on
    assert h.start_s == pytest.approx(0.7) and h.end_s == pytest.approx(1.6)
    assert h.duration_s == pytest.approx(0.9) and not h.completed


def test_settle_fraction_times_from_arrival_not_from_slowing_down() -> None:
    # an eased movement creeps below a fixed max_rate before it arrives and after it starts back:
    # a tenth of the movement's own peak speed (150 deg/s here) marks arrival and departure
    knee = [0, 15, 30, 40, 45, 47, 47.5] + [48] * 8 + [47.5, 47, 45, 40, 30, 15, 5, 5, 5, 5]
    hold = {"in_target": True, "max_rate": 30, "max_pause_s": 0.3}
    fixed = ExerciseTracker(spec(hold=hold), options=TrackerOptions(rate_tau_s=0))
    drive(fixed, knee)
    (h,) = fixed.result().holds  # 20 deg/s at 0.5 and 1.7 s is "still" for max_rate 30
    assert (h.start_s, h.end_s) == (pytest.approx(0.5), pytest.approx(1.7))
    settle = ExerciseTracker(spec(hold={**hold, "settle_fraction": 0.1}), options=TrackerOptions(rate_tau_s=0))
    ev = drive(settle, knee)
    (h,) = settle.result().holds  # limit ~13 deg/s: arrives at 0.6 (5 deg/s), leaves after 1.6
    assert (h.start_s, h.end_s, h.duration_s) == (pytest.approx(0.6), pytest.approx(1.6), pytest.approx(1.0))
    assert ("hold_started", 0.6) in kinds(ev) and ("hold_paused", 1.7) in kinds(ev)


def test_despike_ignores_a_one_frame_landmark_glitch() -> None:
    knee = [0, 15, 30, 40, 48, 48, 40] + [48] * 6 + [30, 15, 5, 5, 5, 5]  # a 1-frame glitch at 0.6 s
    hold = {"in_target": True, "max_rate": 30, "max_pause_s": 0.3}
    plain = ExerciseTracker(spec(hold=hold), options=TrackerOptions(rate_tau_s=0))
    ev = drive(plain, knee)
    assert ("hold_paused", 0.6) in kinds(ev) and ("hold_resumed", 0.8) in kinds(ev)
    assert plain.result().holds[0].duration_s == pytest.approx(0.4)  # 0.8 .. 1.2
    robust = ExerciseTracker(spec(hold={**hold, "despike": True}), options=TrackerOptions(rate_tau_s=0))
    ev = drive(robust, knee)
    assert [t for k, t in kinds(ev) if k == "hold_paused"] == [1.3]  # only on the way back
    (h,) = robust.result().holds  # the 3-frame median starts the timer one frame later
    assert (h.start_s, h.end_s, h.duration_s) == (pytest.approx(0.6), pytest.approx(1.2), pytest.approx(0.6))


def test_plateau_band_ends_the_hold_where_the_way_back_begins() -> None:
    knee = [0, 15, 30, 40] + [48] * 10 + [47, 46, 40, 30, 15, 5, 5, 5, 5]
    hold = {"in_target": True, "max_rate": 30, "max_pause_s": 0.3}
    plain = ExerciseTracker(spec(hold=hold), options=TrackerOptions(rate_tau_s=0))
    drive(plain, knee)
    assert plain.result().holds[0].end_s == pytest.approx(1.5)  # 10 deg/s at 1.4 and 1.5 s: "still"
    banded = ExerciseTracker(spec(hold={**hold, "plateau_band": 0.6}), options=TrackerOptions(rate_tau_s=0))
    drive(banded, knee)
    (h,) = banded.result().holds  # 47 at 1.4 s is already 1 deg off the held 48: the way back
    assert (h.start_s, h.end_s, h.duration_s) == (pytest.approx(0.5), pytest.approx(1.3), pytest.approx(0.8))
    # a wobble off the plateau and back inside the hold is not trimmed
    wobble = [0, 15, 30, 40] + [48] * 4 + [47, 47] + [48] * 4 + [40, 30, 15, 5, 5, 5, 5]
    banded = ExerciseTracker(spec(hold={**hold, "plateau_band": 0.6}), options=TrackerOptions(rate_tau_s=0))
    drive(banded, wobble)
    (h,) = banded.result().holds
    assert (h.start_s, h.end_s) == (pytest.approx(0.5), pytest.approx(1.3))


def test_a_lapse_shorter_than_ignore_lapse_is_noise_not_a_wobble() -> None:
    s = spec(hold={"in_target": True, "max_pause_s": 0.5, "ignore_lapse_s": 0.2})
    tr = ExerciseTracker(s)
    knee = [0, 35, 46, 46, 46, 55, 46, 46, 46, 46, 46, 46, 46, 5, 5, 5, 5]  # one frame out at 0.5 s
    ev = drive(tr, knee)
    assert [t for k, t in kinds(ev) if k == "hold_paused"] == [1.5]  # only as the rep ends (1.3 + 0.2)
    assert tr.result().holds[0].duration_s == pytest.approx(1.0)  # 0.2 .. 1.2, the lapse counted
    tr = ExerciseTracker(s)
    knee = [0, 35, 46, 46, 46, 55, 55, 55, 46, 46, 46, 46, 46, 46, 5, 5, 5, 5]  # 0.3 s out: a wobble
    ev = drive(tr, knee)
    assert ("hold_paused", 0.7) in kinds(ev) and ("hold_resumed", 0.8) in kinds(ev)
    assert tr.result().holds[0].duration_s == pytest.approx(0.7)  # 0.2..0.4 + 0.8..1.3


def test_grace_counts_a_hold_a_frame_short_as_achieved() -> None:
    knee = [0, 35] + [46] * 9 + [5, 5, 5, 5]  # 0.8 s in the band (0.2 .. 1.0) for a 1-s hold
    assert ExerciseTracker(spec()).rep_count == 0
    strict = ExerciseTracker(spec())
    drive(strict, knee)
    lenient = ExerciseTracker(spec(hold={"in_target": True, "max_pause_s": 0.3, "grace_s": 0.2}))
    drive(lenient, knee)
    assert strict.rep_count == 0 and lenient.rep_count == 1


def test_change_condition_compares_with_the_value_before_the_rep() -> None:
    s = copy.deepcopy(BASE)
    s["measures"] = ["knee_flexion", "trunk_inclination"]
    s["faults"] = [{"id": "lean", "when": {"change": "trunk_inclination", "gt": 10},
                    "clear": {"change": "trunk_inclination", "lt": 5}, "min_duration_s": 0.2,
                    "severity": "warning", "message": "Stay upright."}]
    s["hold"] = None
    s["prescription"] = {"reps": 10}
    tr = ExerciseTracker(parse_spec(s, "t.yaml"))
    knee = [0] * 10 + [35, 46, 46, 46, 46, 46, 46, 5, 5, 5, 5]
    trunk = [30.0] * 10 + [34, 38, 42, 42, 42, 36, 31, 30, 30, 30, 30]  # starts leaning at 30 deg
    ev = drive(tr, knee, {"trunk_inclination": trunk})
    raised = [(t, d["id"]) for k, t, d in ev if str(k) == "fault_raised"]
    assert raised == [(1.4, "lean")]  # +12 from 1.2 s (baseline 30, 0.5 s before the movement), 0.2 s dwell
    # (an absolute threshold of 40 would flag anyone who stands leaning 30 deg)
    f = tr.result().faults[0]
    assert (f.start_s, f.end_s) == (pytest.approx(1.2), pytest.approx(1.6))


def test_hold_override_zero_counts_reps_without_a_hold() -> None:
    knee = [0, 35, 46, 46, 5, 5, 5, 5]
    default = ExerciseTracker(spec())
    drive(default, knee)
    no_hold = ExerciseTracker(spec(), overrides=Overrides(hold_s=0))
    drive(no_hold, knee)
    assert default.rep_count == 0 and no_hold.rep_count == 1
    assert no_hold.result().prescription["hold_s"] is None


# -- app-paced holds (hold.pacing: an effort the camera cannot see) ----------------------------------

def paced_spec(relax_s: float = 1.0):
    return spec(
        phases=[{"name": "away"},
                {"name": "in_position", "enter": {"measure": "knee_flexion", "gt": 30},
                 "exit": {"measure": "knee_flexion", "lt": 10}, "min_dwell_s": 0.2}],
        rep={"measure": "knee_flexion", "direction": "increase"},
        hold={"in_target": False, "posture": {"measure": "trunk_inclination", "lt": 40}, "max_pause_s": 0.3,
              "pacing": {"relax_s": relax_s, "start_cue": "Tighten.", "relax_cue": "Relax."}},
        prescription={"reps": 10, "hold_s": 1.0},
        faults=[])


def test_paced_holds_count_one_rep_per_paced_hold_while_in_position() -> None:
    tr = ExerciseTracker(paced_spec())
    trunk = [5.0] * 60
    ev = drive(tr, [0, 0] + [60] * 56 + [0, 0], {"trunk_inclination": trunk})
    # in position from 0.2; dwell 0.2 -> the first paced rep starts at the cue at 0.4, held 1 s -> done
    # at 1.4; relax 1 s until 2.4; in position all along -> the next cue after the dwell at 2.6, ...
    reps = [(t, d["count"]) for k, t, d in ev if k == K.REP_COMPLETED]
    assert [t for t, _ in reps] == [1.4, 3.6, 5.8]
    assert [c for _, c in reps] == [1, 2, 3]
    cues = [(t, d["id"]) for k, t, d in ev if k == K.CUE]
    assert cues[:3] == [(0.4, "paced_start"), (1.4, "paced_relax"), (2.6, "paced_start")]
    assert tr.phase == "away"  # left at the end
    res = tr.result()
    assert res.rep_count == 3 and all(h.duration_s == pytest.approx(1.0) for h in res.holds)
    relaxing = ExerciseTracker(paced_spec())
    drive(relaxing, [0, 0] + [60] * 14, {"trunk_inclination": [5.0] * 16})  # done at 1.4, relaxing at 1.5
    assert relaxing.phase == "in_position" and relaxing.result().rep_count == 1  # relaxing is in position


def test_a_paced_hold_broken_by_the_posture_is_an_incomplete_rep_and_the_pacing_goes_on() -> None:
    tr = ExerciseTracker(paced_spec())
    trunk = [5.0] * 8 + [60.0] * 5 + [5.0] * 30  # curls up from 0.8 to 1.2: out of posture 0.5 s > 0.3
    ev = drive(tr, [0, 0] + [60] * 41, {"trunk_inclination": trunk})
    ends = [(str(k), t) for k, t, _ in ev if k in (K.REP_COMPLETED, K.REP_INCOMPLETE)]
    # started at 0.4, broken at 1.2 (paused since 0.8, > 0.3 s), relax 1 s to 2.2, dwell -> 2.4, done 3.4
    assert ends == [("rep_incomplete", 1.2), ("rep_completed", 3.4)]
    assert tr.result().rep_count == 1


def test_leaving_the_position_while_relaxing_waits_for_the_patient_to_come_back() -> None:
    tr = ExerciseTracker(paced_spec(relax_s=2.0))
    knee = [0, 0] + [60] * 14 + [0] * 10 + [60] * 16  # done at 1.4; leaves at 1.6 (relax until 3.4)
    ev = drive(tr, knee, {"trunk_inclination": [5.0] * len(knee)})
    starts = [t for k, t, _ in ev if k == K.REP_STARTED]
    # back in position at 2.6 -> dwell 0.2 -> the next paced hold starts at 2.8, not at the end of the relax
    assert starts == [0.4, 2.8]
    assert tr.result().rep_count == 2


def test_pacing_needs_a_prescribed_hold() -> None:
    with pytest.raises(SpecError, match="pacing"):
        spec(hold={"in_target": False, "pacing": {"relax_s": 1, "start_cue": "a", "relax_cue": "b"}},
             prescription={"reps": 10})


def test_a_harmful_posture_repeated_in_a_session_is_reported_for_the_therapist() -> None:
    rep = [0, 20, 35] + [46] * 11 + [20, 5, 5, 5, 5]
    bent = [5.0] * 3 + [50.0] * 6 + [5.0] * 10  # trunk flexion during the hold of each rep

    def run(n: int):
        return run_exercise(spec(), {"knee_flexion": np.array(rep * n, float),
                                     "trunk_inclination": np.array(bent * n, float),
                                     "shoulder_width_ratio": np.full(19 * n, 0.1)}, t=np.arange(19 * n) * DT)

    once = run(1)
    assert [f.id for f in once.faults] == ["trunk_flexion"] and not any("repeated" in w for w in once.warnings)
    twice = run(2)
    assert [f.id for f in twice.faults] == ["trunk_flexion"] * 2
    assert any("repeated: trunk flexion 2 times" in w for w in twice.warnings)


# -- hold.reject_jumps: a landmark glitch is unknown to the hold, not a value -------------------------
FPS15 = 15  # a webcam's rate: BlazePose's glitches last a few frames
GLITCH_HOLD = {"in_target": True, "max_rate": 8, "despike": True, "ignore_lapse_s": 0.3, "max_pause_s": 0.8}
UP, DOWN = [0, 10, 20, 30, 38, 44, 47], [44, 38, 30, 20, 10, 5, 5, 5, 5]
HELD = [48.0] * 45  # 3 s held at 48 (band 40..50), the default rate smoothing (80 ms)


def _glitched(segment: list[float], at: int = 15) -> list[float]:
    held = list(HELD)
    held[at:at + len(segment)] = segment
    return UP + held + DOWN


def _run15(knee: list[float], reject: float | None):
    tr = ExerciseTracker(spec(hold={**GLITCH_HOLD, "reject_jumps": reject}, prescription={"reps": 10, "hold_s": 2.0}))
    events = []
    for i, k in enumerate(knee):
        values = {"knee_flexion": k, "trunk_inclination": 5.0, "shoulder_width_ratio": 0.1}
        events += [(str(e.kind), round(e.t, 3)) for e in tr.update(values, i / FPS15)]
    return tr, events


@pytest.mark.parametrize("segment", [[36, 36, 36], [36, 44, 34, 45, 36]], ids=["3_frames", "5_frames"])
def test_reject_jumps_a_short_landmark_glitch_neither_pauses_nor_shortens_the_hold(segment) -> None:
    clean, _ = _run15(UP + HELD + DOWN, None)
    (ref,) = clean.result().holds
    assert ref.duration_s == pytest.approx(2.8)  # 0.667 .. 3.467 s
    plain, ev = _run15(_glitched(segment), None)
    assert plain.result().holds[0].duration_s < ref.duration_s - 0.5  # the glitch and the rate's settling
    robust, ev = _run15(_glitched(segment), 8)  # each glitch frame jumps > 8 deg (band 40..50, held 48)
    (h,) = robust.result().holds
    assert (h.start_s, h.end_s, h.duration_s) == (pytest.approx(ref.start_s), pytest.approx(ref.end_s),
                                                  pytest.approx(ref.duration_s))
    assert not [t for k, t in ev if k in ("hold_paused", "hold_resumed") and t < 3.5]  # only on the way back
    assert robust.rep_count == 1


def test_reject_jumps_a_real_wobble_out_of_the_band_still_pauses_the_hold() -> None:
    dip = [47, 45, 42, 39, 37, 36, 37, 39, 42, 45, 47]  # a smooth dip to 36 and back over 0.67 s
    plain, ev_plain = _run15(_glitched(dip), None)
    robust, ev = _run15(_glitched(dip), 8)
    assert ("hold_paused", 1.867) in ev and ("hold_resumed", 2.4) in ev
    # exactly as without reject_jumps (the dip is continuous, not a jump) until the way back, whose
    # 10-deg steps are rejected: its pause is reported when the rep ends
    assert [e for e in ev if e[1] < 3.5] == [e for e in ev_plain if e[1] < 3.5]
    assert robust.result().holds == plain.result().holds
    assert robust.result().holds[0].duration_s == pytest.approx(28 / 15)  # 0.667 .. 1.867 + 2.4 .. 3.067
    assert robust.rep_count == 0  # the 2-s hold was not achieved


def test_reject_jumps_a_jump_that_stays_is_a_real_movement_from_its_first_frame() -> None:
    # 36 for 0.6 s (> ignore_lapse_s 0.3): rejected as a glitch for 0.3 s, then out of posture since 1.467 s
    robust, ev = _run15(_glitched([36] * 9), 8)
    plain, _ = _run15(_glitched([36] * 9), None)
    assert ("hold_paused", 1.8) in ev and ("hold_resumed", 2.067) in ev
    assert robust.result().holds[0].duration_s == pytest.approx(plain.result().holds[0].duration_s)
    assert robust.result().holds[0].duration_s == pytest.approx(32 / 15)  # 2.8 s less the 0.667 s away


def test_reject_jumps_still_bridges_lost_tracking() -> None:
    tr, ev = _run15(_glitched([NAN] * 4 + [36, 36] + [NAN] * 2), 8)
    assert not [t for k, t in ev if k in ("hold_paused", "hold_broken", "not_visible") and t < 3.5]
    assert tr.result().holds[0].duration_s == pytest.approx(2.8)
    assert tr.rep_count == 1


def test_reject_jumps_on_the_shipped_bird_dog_bridges_the_measured_glitch() -> None:
    # shoulder flexion measured on the back-sag render (15 fps): held ~157 deg, BlazePose reads 137-142 for
    # two frames and 139.6 for one within 0.33 s; without reject_jumps that 3-s hold read 2.27 s
    glitch = [155.35, 153.13, 137.41, 142.45, 151.40, 139.56, 151.17, 154.37, 155.71]
    clean = [90.0] * 8 + [100, 115, 130, 145, 152, 156] + [157.0] * 48 + [145, 125, 105, 90] + [90.0] * 8
    flex = list(clean)
    flex[24:24 + len(glitch)] = glitch
    t = np.arange(len(flex)) / FPS15
    from formcheck.exercises import load_spec

    base = load_spec("bird_dog")
    assert base.hold is not None and base.hold.reject_jumps is not None
    plain_spec = base.model_copy(update={"hold": base.hold.model_copy(update={"reject_jumps": None})})
    res = {}
    for name, s, col in (("shipped", base, flex), ("plain", plain_spec, flex), ("clean", base, clean)):
        reach = (np.array(col) - 90.0) / 0.8  # the spec counts on diagonal_reach: % of 90 -> 170 deg of the arm
        measures = {"diagonal_reach_left": reach, "shoulder_width_ratio": np.full(len(col), 0.2)}
        res[name] = run_exercise(s, measures, side="left", t=t)
    assert res["clean"].holds[0].duration_s == pytest.approx(43 / 15)  # 1.2 .. 4.067 s: achieved (grace 0.2 s)
    assert res["shipped"].holds[0].duration_s == pytest.approx(res["clean"].holds[0].duration_s)
    assert res["plain"].holds[0].duration_s < 2.8  # the glitch cost 0.8 s: the hold is not achieved
    assert res["shipped"].rep_count == 1 and res["plain"].rep_count == 0


def test_reject_jumps_needs_a_lapse_to_bound_the_glitches() -> None:
    with pytest.raises(SpecError, match="ignore_lapse_s"):
        spec(hold={"in_target": True, "reject_jumps": 8})


# A spec specialised for the camera view (by_view): the live run counts as the recorded one
# ------------------------------------------------------------------------------------------------

def test_front_view_wall_squat_live_run_counts_as_the_recorded_sequence() -> None:
    import json
    import sys
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent / "fixtures" / "videos"
    mp4 = fixtures / "wall_squat__knee_valgus__front.mp4"
    if not mp4.is_file():
        pytest.skip("fixture clip absent")
    sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
    from clip_landmarks import fixture_landmarks

    from formcheck.live.exercise_run import ExerciseRun

    truth = json.loads(mp4.with_suffix(".json").read_text())
    seq = fixture_landmarks(mp4)
    batch = run_exercise("wall_squat", seq)
    run = ExerciseRun("wall_squat")
    said = []
    for i in range(len(seq)):
        said += [e for e in run.update(seq.frame(i), float(seq.t[i])) if e.kind == "rep"]
    live = run.result()
    assert run.view == "front" and run.info.key_measure == "hip_drop"
    assert live.rep_count == batch.rep_count == truth["rep_count"]
    assert [round(h.duration_s, 3) for h in live.holds] == [round(h.duration_s, 3) for h in batch.holds]
    assert [f.id for f in live.faults] == [f.id for f in batch.faults] == ["knee_valgus", "knee_valgus"]
    assert [e.data["count"] for e in said if e.data.get("complete")] == [1, 2]  # the patient heard both
