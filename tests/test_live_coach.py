"""The live session state machine: setup then countdown then counting, cues, safety advice, program steps,
and that every record reaches the sink as it happens (so an interrupted session keeps it).

The exercise engine is replaced here by a scripted exercise (events at given times) so that the
coach's own behaviour is tested on its own; tests/test_live_loop.py runs the real engine on video."""

from __future__ import annotations

import pytest

from formcheck.errors import FieldError, OptionsError
from formcheck.keypoints import PoseFrame
from formcheck.live.coach import LiveCoach, LiveOptions
from formcheck.live.cues import CueOptions
from formcheck.live.exercise_run import LiveEvent, SpecInfo
from formcheck.live.program import Program, ProgramStep
from formcheck.live.setup import SetupOptions
from test_live_parts import _person


class ScriptedRun:
    """Stands in for ExerciseRun: emits scripted events at their times."""

    def __init__(self, exercise, overrides=None, side=None, script=None, reps_target=3,
                 hold_s=None, view="side"):
        self.info = SpecInfo(exercise, exercise.replace("_", " ").title(), view, (view,), "", reps_target, hold_s,
                             False, "knee_flexion_left", "knee flexion", "deg", 30.0, 60.0, (0.0, 180.0), "image")
        self.script = sorted(script or [], key=lambda e: e.t)
        self.rep_count = 0
        self.key_value = float("nan")
        self.frames = 0
        self.state = None
        self._faults = {}

    def update(self, pose, t):
        self.frames += 1
        out = [e for e in self.script if e.t <= t]
        self.script = [e for e in self.script if e.t > t]
        for e in out:
            if e.kind == "rep" and e.data.get("complete", True):
                self.rep_count = e.data["count"]
            if e.kind == "fault":
                self._faults[e.data["id"]] = (e.data["severity"], e.message)
            if e.kind == "fault_cleared":
                self._faults.pop(e.data["id"], None)
        return out

    def hold_elapsed(self, t):
        return None

    def active_faults(self):
        return list(self._faults.values())

    @property
    def target_reached(self):
        return self.rep_count >= (self.info.reps_target or 0)

    def result_dict(self):
        return {"exercise": self.info.id, "rep_count": self.rep_count, "reps_target": self.info.reps_target}


def _factory(scripts):
    def make(exercise, overrides=None, side=None):
        return ScriptedRun(exercise, overrides, side, script=scripts.get(exercise, []))
    return make


def _rep(t, n):
    return LiveEvent("rep", t, {"count": n, "complete": True})


def _harmful(t, fid="too_deep"):
    return LiveEvent("fault", t, {"id": fid, "severity": "harmful"}, "Not so deep: stop at 45 degrees")


def _drive(coach, frames, t0, t1, fps=30, brightness=120.0):
    said = []
    n = round((t1 - t0) * fps)
    for i in range(n):
        t = t0 + i / fps
        frame = frames(t) if callable(frames) else frames
        said += [c.text for c in coach.update(frame, t, brightness)]
    return said


def test_setup_countdown_then_counting_and_records_reach_sink():
    sink: list[dict] = []
    script = {"wall_squat": [_rep(6.0, 1), _rep(9.0, 2)]}
    coach = LiveCoach(Program.single("wall_squat"), LiveOptions(setup_options=SetupOptions(stable_s=1, countdown_s=3)),
                      sink.append, run_factory=_factory(script))
    coach.start(0.0, pain_before=2)
    said = _drive(coach, _person("front"), 0.0, 2.0)  # wrong view: guidance, nothing counted
    assert coach.phase == "setup"
    assert any("side" in s for s in said)
    assert coach.exercise.frames == 0
    said = _drive(coach, _person("side"), 2.0, 10.0)
    assert coach.phase == "active"
    assert said == ["3", "2", "1", "Go!", "1", "2"]  # countdown once, then the counts
    types = [r["type"] for r in sink]
    assert types[:3] == ["session_start", "pain", "exercise_start"]
    assert [r["count"] for r in sink if r["type"] == "rep"] == [1, 2]
    assert sink == coach.records  # the sink got every record as it happened
    st = coach.overlay_state()
    assert st.title == "Wall Squat" and st.status is None and st.reps_target == 3


def test_harmful_posture_repeated_advises_stop_and_pauses():
    script = {"wall_squat": [_harmful(1.0), LiveEvent("fault_cleared", 2.0, {"id": "too_deep"}),
                             _harmful(4.0), _rep(5.0, 1)]}
    sink: list[dict] = []
    coach = LiveCoach(Program.single("wall_squat"), LiveOptions(setup=False), sink.append,
                      run_factory=_factory(script))
    coach.start(0.0)
    said = _drive(coach, _person("side"), 0.0, 6.0)
    assert said[0].startswith("Next:") or "Not so deep" in said[0]
    assert any("Not so deep" in s for s in said)
    advice = [r for r in sink if r["type"] == "safety_advice"]
    assert len(advice) == 1 and advice[0]["reason"] == "harmful_repeated" and advice[0]["count"] == 2
    assert any("contact your clinician" in s for s in said)
    assert coach.phase == "paused"  # counting paused after the advice...
    assert coach.exercise.rep_count == 0  # ...the rep at 5 s was not taken in while paused
    st = coach.overlay_state()
    assert st.status and "PAUSED" in st.status
    assert any(b.severity == "harmful" for b in st.faults)
    coach.resume(6.0)
    _drive(coach, _person("side"), 6.0, 6.5)
    assert coach.exercise.rep_count == 1


def test_pain_worse_after_is_advised_and_recorded():
    coach = LiveCoach(Program.single("wall_squat"), LiveOptions(setup=False), run_factory=_factory({}))
    coach.start(0.0, pain_before=3)
    _drive(coach, _person("side"), 0.0, 1.0)
    summary = coach.finish(pain_after=6)
    assert summary["safety"]["pain_after"] == 6
    assert summary["safety"]["advice"][0]["reason"] == "pain_worse"
    assert [r["phase"] for r in coach.records if r["type"] == "pain"] == ["before", "after"]
    assert coach.records[-1]["type"] == "session_end"
    with pytest.raises(FieldError, match="pain"):
        coach.report_pain(12, 1.0)


def test_person_leaving_and_second_person_are_noted():
    coach = LiveCoach(Program.single("wall_squat"), LiveOptions(setup=False, person_lost_s=1.0),
                      run_factory=_factory({}))
    coach.start(0.0)
    nobody = PoseFrame.empty(0.0, (640, 480))
    said = _drive(coach, lambda t: _person("side") if t < 1 or t >= 3 else nobody, 0.0, 4.0)
    codes = [r["code"] for r in coach.records if r["type"] == "note"]
    assert codes == ["person_left", "person_back"]
    assert any("can't see you" in s for s in said)
    said = _drive(coach, lambda t: _person("side", dx=0 if t < 5 else 250), 4.0, 6.0)
    assert [r["code"] for r in coach.records if r["type"] == "note"][-1] == "person_changed"
    assert coach.phase == "active"  # the session continues


def test_program_runs_steps_in_sequence_with_rest():
    program = Program((ProgramStep("ankle_pumps", rest_s=5), ProgramStep("heel_slides", rest_s=5)))
    script = {"ankle_pumps": [_rep(1.0, 1), _rep(2.0, 2), _rep(3.0, 3)], "heel_slides": [_rep(10.5, 1)]}
    coach = LiveCoach(program, LiveOptions(setup=False, cues=CueOptions(min_gap_s=0.5)), run_factory=_factory(script))
    coach.start(0.0)
    said = _drive(coach, _person("side"), 0.0, 4.0)
    assert coach.phase == "rest"
    assert "3. Well done, that's all 3." in said
    assert any("Rest for 5 seconds" in s for s in said)
    assert "next: heel_slides" in coach.status_text()
    _drive(coach, _person("side"), 4.0, 11.0)
    assert coach.exercise.info.id == "heel_slides" and coach.exercise.rep_count == 1
    summary = coach.finish(reason="quit")
    assert [(e["exercise"], e["end_reason"]) for e in summary["exercises"]] == [
        ("ankle_pumps", "target_reached"), ("heel_slides", "quit")]


def test_stop_keeps_everything_recorded():
    sink: list[dict] = []
    script = {"wall_squat": [_rep(0.5, 1)]}
    coach = LiveCoach(Program.single("wall_squat"), LiveOptions(setup=False), sink.append, run_factory=_factory(script))
    coach.start(0.0)
    _drive(coach, _person("side"), 0.0, 1.0)
    coach.stop(1.0, "camera_lost")
    summary = coach.finish()
    assert summary["end_reason"] == "camera_lost"
    assert summary["exercises"][0]["result"]["rep_count"] == 1
    assert sink[-2]["type"] == "exercise_end" and sink[-1]["type"] == "session_end"


def test_a_failing_sink_does_not_end_the_session(caplog):
    def broken(rec):
        raise OSError("disk full")

    coach = LiveCoach(Program.single("wall_squat"), LiveOptions(setup=False), broken,
                      run_factory=_factory({"wall_squat": [_rep(0.5, 1)]}))
    coach.start(0.0)
    _drive(coach, _person("side"), 0.0, 1.0)
    assert coach.exercise.rep_count == 1
    assert coach.sink_errors >= 3 and "could not save" in caplog.text
    assert coach.summary()["sink_errors"] == coach.sink_errors


def test_options_validated():
    with pytest.raises(OptionsError, match="person_jump"):
        LiveOptions(person_jump=0)
    with pytest.raises(OptionsError, match="steps"):
        Program(())
    with pytest.raises(FieldError, match="level"):
        Program.level("expert")


def test_app_paced_cues_are_said_even_among_coaching_cues():
    """An app-paced exercise (abdominal contraction) is driven by its "tighten ... relax" cues: they are
    said at their time, ahead of a coaching cue raised at the same moment."""
    script = {"abdominal_contraction": [
        LiveEvent("cue", 5.0, {"id": "breathe"}, "Keep breathing while you hold."),
        LiveEvent("cue", 5.0, {"id": "paced_start"}, "Tighten your stomach. Hold for five."),
        LiveEvent("hold", 10.0, {"completed": True, "paced": True}),
        LiveEvent("cue", 10.0, {"id": "paced_relax"}, "And relax."),
        LiveEvent("cue", 15.0, {"id": "paced_start"}, "Tighten your stomach. Hold for five."),
    ]}
    coach = LiveCoach(Program.single("abdominal_contraction"),
                      LiveOptions(setup_options=SetupOptions(stable_s=1, countdown_s=1)), lambda r: None,
                      run_factory=_factory(script))
    coach.start(0.0)
    said = _drive(coach, _person("side"), 0.0, 16.0)
    paced = [s for s in said if s.startswith(("Tighten", "And relax"))]
    assert paced == ["Tighten your stomach. Hold for five.", "And relax.", "Tighten your stomach. Hold for five."]
    assert said.index("Tighten your stomach. Hold for five.") < said.index("Keep breathing while you hold.")
    assert "Good. Now come back slowly." not in said  # a paced hold's end is its "relax", nothing else
