"""The live coaching session: setup guidance, counting, cues, safety, program steps, recording.

:class:`LiveCoach` is the state machine of one patient session (one verb: ``update(pose, t)``)::

    setup -> countdown -> active <-> paused -> rest -> setup (next exercise) ... -> done

It never touches the camera or the screen: the runner feeds it pose frames and draws what
:meth:`LiveCoach.overlay_state` returns. Everything worth keeping is handed to ``sink`` (a callable
taking one dict) as it happens, so an interrupted session loses nothing already recorded; the same
records are kept in :attr:`LiveCoach.records`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formcheck.errors import OptionsError
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import Landmark as L
from formcheck.live.cues import Cue, CueOptions, CuePriority, CueScheduler
from formcheck.live.exercise_run import ExerciseRun, LiveEvent
from formcheck.live.program import Program
from formcheck.live.safety import SafetyAdvice, SafetyMonitor, SafetyOptions
from formcheck.live.setup import SetupGuide, SetupOptions, SetupStatus

log = logging.getLogger(__name__)

Sink = Callable[[dict], None]

PHASES = ("setup", "countdown", "active", "paused", "rest", "done")


@dataclass(frozen=True)
class LiveOptions:
    setup: bool = True  # guide the setup and count down before counting (off: count at once)
    setup_options: SetupOptions = field(default_factory=SetupOptions)
    cues: CueOptions = field(default_factory=CueOptions)
    safety: SafetyOptions = field(default_factory=SafetyOptions)
    person_lost_s: float = 1.0  # no person this long: ask to come back into view
    person_jump: float = 0.25  # hip centre jumping this fraction of the image between frames: another person?
    pause_on_advice: bool = True  # pause counting when formcheck advises stopping
    sample_every_s: float = 0.5  # record the measures this often while counting (0: never)

    def __post_init__(self) -> None:
        if not self.person_lost_s >= 0:
            raise OptionsError("person_lost_s", "seconds >= 0", self.person_lost_s)
        if not self.sample_every_s >= 0:
            raise OptionsError("sample_every_s", "seconds >= 0", self.sample_every_s)
        if not 0 < self.person_jump <= 1:
            raise OptionsError("person_jump", "a fraction in (0, 1]", self.person_jump)


@dataclass
class StepRecord:
    """What happened in one exercise of the session."""

    index: int
    exercise: str
    side: str | None
    started_t: float
    ended_t: float | None = None
    end_reason: str | None = None  # target_reached | next | stopped | camera_lost | ...
    result: dict | None = None

    def to_dict(self) -> dict:
        return {"index": self.index, "exercise": self.exercise, "side": self.side, "started_t": self.started_t,
                "ended_t": self.ended_t, "end_reason": self.end_reason, "result": self.result}


class LiveCoach:
    """One live session over a :class:`Program` (a single exercise is a one-step program)."""

    def __init__(self, program: Program, options: LiveOptions | None = None, sink: Sink | None = None,
                 *, run_factory: Callable[..., ExerciseRun] = ExerciseRun) -> None:
        self.program = program
        self.options = options or LiveOptions()
        self.sink = sink
        self._run_factory = run_factory
        self.cues = CueScheduler(self.options.cues)
        self.safety = SafetyMonitor(self.options.safety)
        self.records: list[dict] = []
        self.steps: list[StepRecord] = []
        self.sink_errors = 0
        self.phase = "setup"
        self.end_reason: str | None = None
        self._step = -1
        self._run: ExerciseRun | None = None
        self._guide: SetupGuide | None = None
        self._setup_status: SetupStatus | None = None
        self._rest_until = 0.0
        self._last_t = 0.0
        self._last_seen: float | None = None
        self._lost_noted = False
        self._prev_hip: np.ndarray | None = None
        self._advice: SafetyAdvice | None = None
        self._pending_cues: list[Cue] = []
        self._last_sample: float | None = None
        self._started = False
        self._wall_start = time.time()
        self.frames = 0
        self.frames_with_person = 0

    # -- recording --------------------------------------------------------------------------------
    def _record(self, type_: str, t: float, **data: Any) -> None:
        rec = {"type": type_, "t": round(float(t), 3), **data}
        self.records.append(rec)
        if self.sink is not None:
            try:
                self.sink(rec)
            except Exception:  # a storage failure must not end the patient's session: logged, counted
                self.sink_errors += 1
                log.exception("could not save live record %s", type_)

    def note(self, code: str, t: float | None = None, **data: Any) -> None:
        """Record a note (camera lost, person left...) at ``t`` (default: the last frame's time)."""
        self._record("note", self._last_t if t is None else t, code=code, **data)

    @property
    def last_t(self) -> float:
        return self._last_t

    # -- session lifecycle ------------------------------------------------------------------------
    def start(self, t: float = 0.0, pain_before: int | None = None) -> None:
        """Begin the session (records the pain rating given before it) and the first exercise."""
        if self._started:
            return
        self._started = True
        if pain_before is not None:
            self.safety.set_pain_before(pain_before)
        self._record("session_start", t, program=self.program.name,
                     exercises=[s.exercise for s in self.program.steps], pain_before=self.safety.pain_before,
                     wall_time=self._wall_start)
        if pain_before is not None:
            self._record("pain", t, phase="before", score=self.safety.pain_before)
        self._begin_step(0, t)

    def _begin_step(self, index: int, t: float) -> None:
        step = self.program.steps[index]
        self._step = index
        self._run = self._run_factory(step.exercise, overrides=dict(step.overrides), side=step.side)
        self.steps.append(StepRecord(index, step.exercise, step.side, t))
        self._record("exercise_start", t, index=index, exercise=step.exercise, side=step.side,
                     overrides=dict(step.overrides), name=self._run.info.name,
                     reps_target=self._run.info.reps_target, hold_target_s=self._run.info.hold_target_s)
        if self.options.setup:
            self._guide = SetupGuide(self._run.info.view, self.options.setup_options)
            self.phase = "setup"
        else:
            self._guide = None
            self.phase = "active"
        self._raise(Cue(f"Next: {self._run.info.name}.", CuePriority.SETUP, "exercise", t, max_age_s=5))

    def _end_step(self, t: float, reason: str) -> None:
        if self._run is None or not self.steps or self.steps[-1].ended_t is not None:
            return
        rec = self.steps[-1]
        rec.ended_t = t
        rec.end_reason = reason
        rec.result = self._run.result_dict()
        self._record("exercise_end", t, index=rec.index, exercise=rec.exercise, reason=reason, result=rec.result)

    def next_exercise(self, t: float, reason: str = "next") -> None:
        """Move on (keyboard ``n``, or the prescription was met): rest, then the next exercise."""
        if self.phase == "done":
            return
        self._end_step(t, reason)
        if self._step + 1 >= len(self.program.steps):
            self._finish_phase(t, "completed" if reason == "target_reached" else reason)
            return
        rest = self.program.steps[self._step].rest_s
        self.phase = "rest"
        self._rest_until = t + rest
        if rest >= 1:
            self._raise(Cue(f"Rest for {rest:.0f} seconds.", CuePriority.SETUP, "rest", t, max_age_s=max(2.0, rest)))

    def _finish_phase(self, t: float, reason: str) -> None:
        self.phase = "done"
        self.end_reason = self.end_reason or reason

    def pause(self, t: float) -> None:
        if self.phase in ("active", "setup", "countdown"):
            self._paused_from = self.phase
            self.phase = "paused"
            self._record("note", t, code="paused")

    def resume(self, t: float) -> None:
        if self.phase == "paused":
            self.phase = getattr(self, "_paused_from", "active")
            self._advice = None
            self._record("note", t, code="resumed")

    def toggle_pause(self, t: float) -> None:
        self.resume(t) if self.phase == "paused" else self.pause(t)

    def report_pain(self, value: Any, t: float) -> SafetyAdvice | None:
        """Pain reported during the session (0–10)."""
        adv = self.safety.report_pain(value, t)
        self._record("pain", t, phase="other", score=self.safety.pain_during[-1][1])
        if adv is not None:
            self._on_advice(adv, t)
        return adv

    def stop(self, t: float, reason: str = "stopped") -> None:
        """End now (the stop control, quit key, camera lost): keeps everything recorded so far."""
        if self.phase == "done" and self.end_reason:
            return
        self._end_step(t, reason)
        self.phase = "done"
        self.end_reason = reason

    def finish(self, t: float | None = None, pain_after: int | None = None, reason: str | None = None) -> dict:
        """Close the session (idempotent for the session itself) and return its summary."""
        t = self._last_t if t is None else t
        if self.phase != "done" or self.end_reason is None:
            self.stop(t, reason or "stopped")
        self._end_step(t, reason or self.end_reason or "stopped")
        if pain_after is not None:
            adv = self.safety.set_pain_after(pain_after, t)
            self._record("pain", t, phase="after", score=self.safety.pain_after)
            if adv is not None:
                self._on_advice(adv, t)
        summary = self.summary()
        if not any(r["type"] == "session_end" for r in self.records):
            self._record("session_end", t, end_reason=self.end_reason, summary=summary)
        return summary

    # -- per frame --------------------------------------------------------------------------------
    def update(self, pose: PoseFrame, t: float, brightness: float | None = None) -> list[Cue]:
        """Feed one frame; returns the cues to say now (zero or one)."""
        if not self._started:
            self.start(t)
        self._last_t = t
        self.frames += 1
        if pose.found:
            self.frames_with_person += 1
        if self.phase == "done":
            return self._flush(t)
        if self.phase == "rest":
            if t >= self._rest_until:
                self._begin_step(self._step + 1, t)
            return self._flush(t)
        assert self._run is not None
        if self.phase in ("setup", "countdown"):
            assert self._guide is not None
            status = self._guide.update(pose, t, brightness)
            self._setup_status = status
            if status.phase == "guiding" and status.check is not None and status.check.issues:
                issue = status.check.issues[0]
                self._raise(Cue(issue.message, CuePriority.SETUP, f"setup:{issue.code}", t, cooldown_s=5))
                self.phase = "setup"
            elif status.phase == "countdown":
                if self.phase != "countdown":
                    self._record("note", t, code="setup_ok", view=status.check.view if status.check else None)
                self.phase = "countdown"
                n = math.ceil(status.countdown or 0)
                self._raise(Cue(str(n), CuePriority.HOLD, f"countdown:{n}", t, cooldown_s=60, max_age_s=0.6))
            elif status.ready:
                self.phase = "active"
                self._record("note", t, code="counting_started")
                self._raise(Cue("Go!", CuePriority.SETUP, "go", t, cooldown_s=0, max_age_s=2))
            return self._flush(t)
        if self.phase == "paused":
            return self._flush(t)

        # active
        self._watch_person(pose, t)
        events = self._run.update(pose, t)
        for ev in events:
            self._on_event(ev, t)
        every = self.options.sample_every_s
        if every and (self._last_sample is None or t - self._last_sample >= every - 1e-9):
            values = getattr(self._run, "measures", None)
            if values:
                self._last_sample = t
                self._record("measures", t, values={k: (round(v, 3) if math.isfinite(v) else None)
                                                    for k, v in values.items()})
        if self.phase == "active" and self._run.target_reached and self._step + 1 < len(self.program.steps):
            self.next_exercise(t, "target_reached")
        self._hold_countdown(t)
        return self._flush(t)

    def _watch_person(self, pose: PoseFrame, t: float) -> None:
        if pose.found:
            if self._lost_noted:
                self._record("note", t, code="person_back")
            self._last_seen = t
            self._lost_noted = False
            hip = (pose.xyz[L.LEFT_HIP, :2] + pose.xyz[L.RIGHT_HIP, :2]) / 2
            w = float(max(pose.image_size))
            if (self._prev_hip is not None and np.all(np.isfinite(hip)) and np.all(np.isfinite(self._prev_hip))
                    and float(np.linalg.norm(hip - self._prev_hip)) > self.options.person_jump * w):
                self._record("note", t, code="person_changed")
                self._raise(Cue("Only one person in view, please.", CuePriority.SETUP, "person_changed", t,
                                cooldown_s=10))
            self._prev_hip = hip
            return
        self._prev_hip = None
        if self._last_seen is None:
            self._last_seen = t
        if not self._lost_noted and t - self._last_seen >= self.options.person_lost_s:
            self._lost_noted = True
            self._record("note", t, code="person_left")
            self._raise(Cue("I can't see you. Step back into view.", CuePriority.SETUP, "person_left", t,
                            cooldown_s=8))

    def _on_event(self, ev: LiveEvent, t: float) -> None:
        data = {k: v for k, v in ev.data.items() if k not in ("type", "t")}
        self._record(ev.kind, ev.t, exercise=self._run.info.id if self._run else None, message=ev.message, **data)
        info = self._run.info if self._run else None
        if ev.kind == "rep":
            n = ev.data.get("count")
            if ev.data.get("complete", True) and n is not None:
                target = info.reps_target if info else None
                if not target or n < target:
                    self._raise(Cue(str(n), CuePriority.COUNT, "count", ev.t, cooldown_s=0, max_age_s=1.5))
                elif n == target:  # the prescription is met: never dropped
                    self._raise(Cue(f"{n}. Well done, that's all {target}.", CuePriority.SETUP, "done", ev.t,
                                    cooldown_s=0, max_age_s=6))
                else:
                    self._raise(Cue(str(n), CuePriority.COUNT, "count", ev.t, cooldown_s=0, max_age_s=1.5))
            else:
                self._raise(Cue(ev.message or "A little further next time.", CuePriority.ENCOURAGE,
                                "incomplete", ev.t, cooldown_s=10))
        elif ev.kind == "cue" and ev.message:
            cid = ev.data.get("id", "cue")
            if str(cid).startswith("paced_"):  # the app's pacing (tighten ... relax) is the exercise itself
                self._raise(Cue(ev.message, CuePriority.HOLD, "paced", ev.t, cooldown_s=0, max_age_s=2))
            else:
                self._raise(Cue(ev.message, CuePriority.COACH, f"cue:{cid}", ev.t, cooldown_s=8, max_age_s=3))
        elif ev.kind == "hold" and ev.data.get("completed") and not ev.data.get("paced"):  # paced: its own cue
            self._raise(Cue("Good. Now come back slowly.", CuePriority.HOLD, "hold_done", ev.t, cooldown_s=2))
        elif ev.kind == "fault":
            severity = ev.data.get("severity", "warning")
            prio = CuePriority.HARMFUL if severity == "harmful" else CuePriority.FAULT
            fid = ev.data.get("id", "fault")
            self._raise(Cue(ev.message or fid.replace("_", " "), prio, f"fault:{fid}", ev.t, cooldown_s=8))
            if severity == "harmful":
                adv = self.safety.on_harmful(fid, ev.message, ev.t)
                if adv is not None:
                    self._on_advice(adv, ev.t)

    def _on_advice(self, adv: SafetyAdvice, t: float) -> None:
        self._advice = adv
        self._record("safety_advice", t, **{k: v for k, v in adv.to_dict().items() if k != "t"})
        self._raise(Cue(adv.message, CuePriority.SAFETY, f"safety:{adv.reason}", t, cooldown_s=30, max_age_s=10))
        if self.options.pause_on_advice and self.phase in ("active", "setup", "countdown"):
            self.pause(t)

    def _hold_countdown(self, t: float) -> None:
        if self._run is None:
            return
        el, target = self._run.hold_elapsed(t), self._run.info.hold_target_s
        if el is None or not target:
            return
        left = target - el
        if 0 < left <= 3.05:
            n = math.ceil(left - 0.05)
            if n >= 1:
                self._raise(Cue(str(n), CuePriority.HOLD, f"hold:{n}", t, cooldown_s=target, max_age_s=0.6))
        elif left > 3.05 and el < 0.5:
            self._raise(Cue("Hold...", CuePriority.HOLD, "hold:start", t, cooldown_s=target, max_age_s=1.0))

    def _raise(self, cue: Cue) -> None:
        self._pending_cues.append(cue)

    def _flush(self, t: float) -> list[Cue]:
        pending, self._pending_cues = self._pending_cues, []
        return self.cues.update(pending, t)

    # -- views ------------------------------------------------------------------------------------
    @property
    def exercise(self) -> ExerciseRun | None:
        return self._run

    @property
    def advice(self) -> SafetyAdvice | None:
        return self._advice

    def status_text(self, t: float | None = None) -> str | None:
        t = self._last_t if t is None else t
        if self.phase in ("setup", "countdown") and self._setup_status is not None:
            return self._setup_status.message
        if self.phase == "paused":
            return ("PAUSED - " + self._advice.message) if self._advice else "Paused - press p to continue"
        if self.phase == "rest":
            return f"Rest {max(0.0, self._rest_until - t):.0f} s - next: {self.program.steps[self._step + 1].exercise}"
        if self.phase == "done":
            return "Session finished" + (f" ({self.end_reason})" if self.end_reason else "")
        return None

    def overlay_state(self, t: float | None = None):
        """The :class:`formcheck.overlay.OverlayState` for the current frame: the recorded analysis's
        overlay of the exercise (same builder), with the session's cue, status and safety banner."""
        from dataclasses import replace

        from formcheck.overlay import FaultBanner, OverlayState

        t = self._last_t if t is None else t
        run = self._run
        cue = self.cues.current.text if self.cues.current is not None else None
        status = self.status_text(t)
        if run is None:
            return OverlayState(status=status, cue=cue, time_s=t)
        info = run.info
        base = run.state
        if base is None:  # nothing counted yet (setup): the exercise's targets without values
            base = OverlayState(title=info.name, measure_name=info.key_measure, unit=info.unit,
                                target_min=info.target_min, target_max=info.target_max,
                                gauge_min=info.gauge[0], gauge_max=info.gauge[1], rep_count=0,
                                reps_target=info.reps_target, hold_target_s=info.hold_target_s, time_s=t)
        title = base.title
        if len(self.program) > 1:
            title = f"{title} ({self._step + 1}/{len(self.program)})"
        banners = tuple(base.faults)
        if self._advice is not None and self.phase == "paused":
            banners = (FaultBanner("Stop and contact your clinician if the pain persists", "harmful"), *banners)
        return replace(base, title=title, cue=cue or base.cue, status=status or base.status, faults=banners,
                       time_s=t)

    def summary(self) -> dict:
        return {
            "program": self.program.name,
            "end_reason": self.end_reason,
            "exercises": [s.to_dict() for s in self.steps],
            "safety": self.safety.to_dict(),
            "frames": self.frames,
            "frames_with_person": self.frames_with_person,
            "cues_said": [c.to_dict() for c in self.cues.delivered],
            "sink_errors": self.sink_errors,
        }
