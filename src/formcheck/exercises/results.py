"""Events and results of the exercise engine, and the form score.

Form score (0–100), documented in ``exercises/README.md``:

* **Rep**: ``100 × A − P`` without a prescribed hold, ``100 × (A + H) / 2 − P`` with one, clamped to
  [0, 100], where
  ``A`` (attainment) = how far the rep measure went from its resting value toward the near edge of
  the target band, clamped to [0, 1] (1 when the spec has no target);
  ``H`` (hold) = best hold time in the rep / prescribed hold, clamped to [0, 1] (1 when no hold);
  ``P`` = sum over the distinct faults that overlapped the rep of 5 (info), 15 (warning) or
  35 (harmful).
* **Set**: mean of its rep scores (incomplete reps included), minus 10 for each harmful fault that
  happened in the set's time span outside any rep, clamped to [0, 100].
* **Session** (one exercise, ``ExerciseResult.form_score``): rep-weighted mean of the set scores;
  ``None`` when there was no rep at all (nothing to score — not a zero).
* Several exercises: :func:`session_score`, rep-weighted mean of their scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FAULT_PENALTY = {"info": 5.0, "warning": 15.0, "harmful": 35.0}
HARMFUL_OUTSIDE_REP_PENALTY = 10.0


class EventKind(StrEnum):
    REP_STARTED = "rep_started"
    REP_COMPLETED = "rep_completed"  # a counted rep (target reached, hold achieved)
    REP_INCOMPLETE = "rep_incomplete"  # half rep / hold not achieved: not counted
    HOLD_STARTED = "hold_started"
    HOLD_PROGRESS = "hold_progress"  # every whole second held
    HOLD_PAUSED = "hold_paused"  # small wobble out of posture: timer stopped
    HOLD_RESUMED = "hold_resumed"
    HOLD_COMPLETED = "hold_completed"  # prescribed time reached (the hold may go on)
    HOLD_BROKEN = "hold_broken"  # lost before the prescribed time
    HOLD_ENDED = "hold_ended"  # a completed hold ended
    FAULT_RAISED = "fault_raised"
    FAULT_CLEARED = "fault_cleared"
    CUE = "cue"
    NOT_VISIBLE = "not_visible"
    VISIBLE = "visible"
    WRONG_VIEW = "wrong_view"


@dataclass(frozen=True)
class Event:
    """Something the engine noticed at time ``t`` (the frame that confirmed it)."""

    kind: EventKind
    t: float
    side: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "t": _num(self.t), "side": self.side,
                "data": {k: _num(v) for k, v in self.data.items()}, "message": self.message}


def _num(v: Any) -> Any:
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 4)
    return v


@dataclass
class RepResult:
    index: int  # 1-based, in order of start
    side: str | None
    start_s: float
    end_s: float
    peak: float
    range_of_motion: float
    hold_s: float | None
    complete: bool
    form_score: float
    faults: list[str]
    time_to_peak_s: float = math.nan
    reason: str | None = None  # why incomplete: "target not reached", "hold not achieved", ...

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "side": self.side, "start_s": _num(self.start_s), "end_s": _num(self.end_s),
                "peak": _num(self.peak), "range_of_motion": _num(self.range_of_motion),
                "hold_s": _num(self.hold_s), "complete": self.complete,
                "form_score": _num(self.form_score), "faults": list(self.faults)}


@dataclass
class HoldResult:
    start_s: float
    end_s: float
    duration_s: float  # time actually held in posture (pauses excluded)
    completed: bool
    side: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": _num(self.start_s), "end_s": _num(self.end_s), "duration_s": _num(self.duration_s),
                "completed": self.completed}


@dataclass
class FaultResult:
    id: str
    severity: str
    start_s: float
    end_s: float
    message: str
    side: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "start_s": _num(self.start_s),
                "end_s": _num(self.end_s), "message": self.message}


@dataclass
class SetResult:
    index: int
    reps: list[RepResult]
    rep_count: int
    form_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "rep_count": self.rep_count, "form_score": _num(self.form_score),
                "reps": [r.index for r in self.reps]}


@dataclass
class ExerciseResult:
    exercise: str
    side: str | None
    rep_count: int
    reps: list[RepResult]
    holds: list[HoldResult]
    faults: list[FaultResult]
    sets: list[SetResult]
    form_score: float | None
    events: list[Event]
    prescription: dict[str, Any] = field(default_factory=dict)
    key_measure: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rep_count_by_side(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reps:
            if r.complete:
                out[r.side or "both"] = out.get(r.side or "both", 0) + 1
        return out

    @property
    def harmful_faults(self) -> list[FaultResult]:
        return [f for f in self.faults if f.severity == "harmful"]

    def to_dict(self, events: bool = True) -> dict[str, Any]:
        d = {
            "exercise": self.exercise, "side": self.side, "rep_count": self.rep_count,
            "reps": [r.to_dict() for r in self.reps], "holds": [h.to_dict() for h in self.holds],
            "faults": [f.to_dict() for f in self.faults], "sets": [s.to_dict() for s in self.sets],
            "form_score": _num(self.form_score), "prescription": dict(self.prescription),
            "key_measure": {k: _num(v) for k, v in self.key_measure.items()},
            "warnings": list(self.warnings),
        }
        if events:
            d["events"] = [e.to_dict() for e in self.events]
        return d


def rep_score(attainment: float, hold_fraction: float | None, fault_severities: Iterable[str]) -> float:
    """Form score of one rep (see the module docstring); ``hold_fraction`` None = no hold prescribed."""
    a = min(max(attainment, 0.0), 1.0) if math.isfinite(attainment) else 0.0
    base = a
    if hold_fraction is not None:
        h = min(max(hold_fraction, 0.0), 1.0) if math.isfinite(hold_fraction) else 0.0
        base = 0.5 * (a + h)
    p = sum(FAULT_PENALTY[s] for s in fault_severities)
    return float(min(max(100.0 * base - p, 0.0), 100.0))


def group_sets(reps: list[RepResult], faults: list[FaultResult], set_break_s: float) -> list[SetResult]:
    """Split reps into sets at pauses longer than ``set_break_s`` and score each set."""
    groups: list[list[RepResult]] = []
    for r in sorted(reps, key=lambda r: r.start_s):
        if groups and r.start_s - groups[-1][-1].end_s <= set_break_s:
            groups[-1].append(r)
        else:
            groups.append([r])
    out = []
    for i, g in enumerate(groups):
        lo, hi = g[0].start_s, g[-1].end_s
        outside = [f for f in faults if f.severity == "harmful" and f.start_s <= hi and f.end_s >= lo
                   and not any(r.start_s <= f.start_s <= r.end_s for r in g)]
        score = sum(r.form_score for r in g) / len(g) - HARMFUL_OUTSIDE_REP_PENALTY * len(outside)
        out.append(SetResult(i + 1, g, sum(r.complete for r in g), float(min(max(score, 0.0), 100.0))))
    return out


def sets_score(sets: list[SetResult]) -> float | None:
    n = sum(len(s.reps) for s in sets)
    if n == 0:
        return None
    return float(sum((s.form_score or 0.0) * len(s.reps) for s in sets) / n)


def session_score(results: Iterable[ExerciseResult]) -> float | None:
    """Rep-weighted mean form score over several exercises (None when no rep at all)."""
    num = den = 0.0
    for r in results:
        if r.form_score is not None and r.reps:
            num += r.form_score * len(r.reps)
            den += len(r.reps)
    return num / den if den else None
