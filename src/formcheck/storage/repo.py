"""Repository functions: the only way the dashboard and the CLI read or change patient data.

Every function that touches a patient's data takes the :class:`~formcheck.storage.auth.Principal`
asking and checks access (``AccessDenied`` otherwise): a patient sees only their own record, a
therapist only their own patients. Functions return plain dataclasses / dicts, never live ORM
objects, so pages cannot lazy-load around the checks.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from formcheck.errors import FieldError
from formcheck.storage.auth import AccessDenied, Principal, check_patient_access, require_therapist
from formcheck.storage.catalog import exercise_ids
from formcheck.storage.db import read_session, write_session
from formcheck.storage.models import (
    Event,
    ExerciseSession,
    PainRating,
    Patient,
    Program,
    ProgramItem,
    Rep,
    Sample,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=30)  # an in_progress session not written for this long was interrupted
PAIN_INCREASE_FLAG = 2  # points on the 0-10 scale


# ------------------------------------------------------------------------------------------------ patients


@dataclass(frozen=True)
class PatientInfo:
    id: int
    display_name: str
    therapist_id: int
    therapist_name: str
    user_id: int | None
    username: str | None
    notes: str
    created_at: datetime


def create_patient(engine: Engine, principal: Principal, display_name: str, *, notes: str = "") -> int:
    """A new patient under the signed-in therapist; returns its id."""
    require_therapist(principal)
    name = display_name.strip()
    if not name or len(name) > 200:
        raise FieldError("display_name", "1-200 characters", display_name)
    with write_session(engine) as s:
        p = Patient(display_name=name, therapist_id=principal.user_id, notes=notes)
        s.add(p)
        s.flush()
        return p.id


def link_patient_user(engine: Engine, principal: Principal, patient_id: int, user_id: int) -> None:
    """Let a patient account see this patient record (therapist of the patient only)."""
    with write_session(engine) as s:
        patient = check_patient_access(s, principal, patient_id, write=True)
        user = s.get(User, user_id)
        if user is None or user.role != "patient":
            raise FieldError("user_id", "an existing patient account", user_id)
        other = s.scalar(select(Patient).where(Patient.user_id == user_id, Patient.id != patient.id))
        if other is not None:
            raise FieldError("user_id", "an account not linked to another patient", user_id)
        patient.user_id = user_id


def get_patient(engine: Engine, principal: Principal, patient_id: int) -> PatientInfo:
    with read_session(engine) as s:
        p = check_patient_access(s, principal, patient_id)
        return _patient_info(p)


def _patient_info(p: Patient) -> PatientInfo:
    return PatientInfo(p.id, p.display_name, p.therapist_id, p.therapist.display_name, p.user_id,
                       p.user.username if p.user else None, p.notes, p.created_at)


def list_patients(engine: Engine, principal: Principal) -> list[PatientInfo]:
    """The patients ``principal`` may see: a therapist's own patients, or a patient's own record."""
    with read_session(engine) as s:
        q = select(Patient).order_by(Patient.display_name, Patient.id)
        if principal.is_therapist:
            q = q.where(Patient.therapist_id == principal.user_id)
        else:
            q = q.where(Patient.user_id == principal.user_id)
        return [_patient_info(p) for p in s.scalars(q)]


# ------------------------------------------------------------------------------------------------ programs


class ProgramItemIn(BaseModel):
    """One prescribed exercise as entered by a therapist (validated before anything is stored)."""

    model_config = ConfigDict(extra="forbid")

    exercise_id: str
    sets: int = Field(1, ge=1, le=10)
    reps: int = Field(10, ge=0, le=100)
    hold_s: float | None = Field(None, ge=0, le=600)
    side: Literal["left", "right"] | None = None
    times_per_week: int = Field(7, ge=1, le=21)
    # Rep target overrides of the spec: {"target": 30} (e.g. wall squat to 30 degrees), {"tolerance": 5}.
    overrides: dict[Literal["target", "tolerance"], float] = Field(default_factory=dict)
    notes: str = ""

    @field_validator("exercise_id")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in exercise_ids():
            raise ValueError(f"one of the exercise specs ({', '.join(exercise_ids())})")
        return v

    @field_validator("overrides")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not math.isfinite(x):
                raise ValueError(f"finite numbers, got {k}={x}")
        return v

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, v: Any) -> Any:
        return None if v in ("", "each", "both", "auto") else v


def _validation_to_field_error(exc: ValidationError, where: str) -> FieldError:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "value"
    msg = err["msg"].removeprefix("Value error, ")
    return FieldError(loc, msg, err.get("input"), where=where)


def validate_program_items(items: list[dict[str, Any]]) -> list[ProgramItemIn]:
    """Validate program items; each must also apply cleanly to its exercise spec (e.g. no hold time for
    an exercise without a hold), so a program that saves is a program the exercise engine can run."""
    out = []
    for i, raw in enumerate(items):
        where = f"program item {i + 1}"
        try:
            item = ProgramItemIn.model_validate(raw)
        except ValidationError as exc:
            raise _validation_to_field_error(exc, where) from exc
        try:
            from formcheck.exercises import apply_overrides, load_spec
        except ImportError:  # exercise engine not installed: the ranges above still hold
            apply_overrides = load_spec = None
        if apply_overrides is not None and load_spec is not None:
            try:
                apply_overrides(load_spec(item.exercise_id), prescription_overrides(item.model_dump()))
            except FieldError as exc:
                raise FieldError(exc.field, exc.expected, exc.actual, where=f"{where} ({item.exercise_id})") from exc
        out.append(item)
    return out


def set_program(
    engine: Engine, principal: Principal, patient_id: int, items: list[dict[str, Any]],
    *, name: str = "Home program",
) -> int:
    """Replace the patient's active program (the old one is kept, inactive, for history); returns its id.

    All items are validated first: on any error nothing is stored.
    """
    require_therapist(principal)
    valid = validate_program_items(items)
    with write_session(engine) as s:
        check_patient_access(s, principal, patient_id, write=True)
        for old in s.scalars(select(Program).where(Program.patient_id == patient_id, Program.active)):
            old.active = False
        prog = Program(patient_id=patient_id, name=name.strip() or "Home program", created_by=principal.user_id)
        prog.items = [ProgramItem(position=i, **v.model_dump()) for i, v in enumerate(valid)]
        s.add(prog)
        s.flush()
        return prog.id


def get_program(engine: Engine, principal: Principal, patient_id: int) -> list[dict[str, Any]]:
    """The active program's items (id, exercise_id, sets, reps, hold_s, side, times_per_week, overrides, notes)."""
    with read_session(engine) as s:
        check_patient_access(s, principal, patient_id)
        return _program_items(s, patient_id)


def _program_items(s: Session, patient_id: int) -> list[dict[str, Any]]:
    prog = s.scalar(
        select(Program).where(Program.patient_id == patient_id, Program.active).order_by(Program.id.desc())
    )
    if prog is None:
        return []
    return [
        {"id": it.id, "exercise_id": it.exercise_id, "sets": it.sets, "reps": it.reps, "hold_s": it.hold_s,
         "side": it.side, "times_per_week": it.times_per_week, "overrides": dict(it.overrides or {}),
         "notes": it.notes}
        for it in prog.items
    ]


def prescription_overrides(item: dict[str, Any]) -> dict[str, Any]:
    """A program item as overrides of the exercise spec's defaults (reps, hold_s, sets and targets)."""
    out: dict[str, Any] = dict(item.get("overrides") or {})
    for key in ("reps", "hold_s", "sets"):
        if item.get(key):  # None / 0: keep the spec's value
            out.setdefault(key, item[key])
    return out


# ------------------------------------------------------------------------------------------------ pain


def add_pain_rating(
    engine: Engine, principal: Principal, patient_id: int, score: int, *, phase: str = "other",
    session_id: int | None = None, note: str = "", recorded_at: datetime | None = None,
) -> int:
    """Record a 0-10 pain rating (patients rate their own pain; therapists may record it for them)."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise FieldError("score", "a whole number from 0 to 10", score)
    if phase not in ("before", "after", "other"):
        raise FieldError("phase", "before, after or other", phase)
    with write_session(engine) as s:
        check_patient_access(s, principal, patient_id)
        if session_id is not None:
            sess = s.get(ExerciseSession, session_id)
            if sess is None or sess.patient_id != patient_id:
                raise FieldError("session_id", f"a session of patient {patient_id}", session_id)
        r = PainRating(patient_id=patient_id, session_id=session_id, phase=phase, score=score, note=note,
                       recorded_at=recorded_at or utcnow())
        s.add(r)
        s.flush()
        return r.id


def pain_history(engine: Engine, principal: Principal, patient_id: int) -> list[dict[str, Any]]:
    with read_session(engine) as s:
        check_patient_access(s, principal, patient_id)
        rows = s.scalars(
            select(PainRating).where(PainRating.patient_id == patient_id).order_by(PainRating.recorded_at)
        )
        return [{"recorded_at": r.recorded_at, "phase": r.phase, "score": r.score, "session_id": r.session_id,
                 "note": r.note} for r in rows]


# ------------------------------------------------------------------------------------------------ sessions


def effective_status(sess: ExerciseSession, now: datetime | None = None) -> str:
    """``interrupted`` for an in-progress session that stopped being written (crash, power loss)."""
    if sess.status != "in_progress":
        return sess.status
    now = now or utcnow()
    last = sess.last_write_at or sess.started_at
    return "interrupted" if now - last > STALE_AFTER else "in_progress"


def mark_stale_sessions_interrupted(engine: Engine, now: datetime | None = None) -> int:
    """Close sessions left ``in_progress`` by a crash: status interrupted, counts from what was stored."""
    now = now or utcnow()
    n = 0
    with write_session(engine) as s:
        for sess in s.scalars(select(ExerciseSession).where(ExerciseSession.status == "in_progress")):
            if effective_status(sess, now) == "interrupted":
                sess.status = "interrupted"
                sess.ended_at = sess.last_write_at or sess.started_at
                sess.partial = True
                sess.rep_count = sum(1 for r in sess.reps if r.complete)
                n += 1
    if n:
        log.info("marked %d interrupted session(s)", n)
    return n


def _session_row(sess: ExerciseSession, now: datetime) -> dict[str, Any]:
    harmful = sum(1 for e in sess.events if e.kind == "fault" and e.severity == "harmful")
    pain = {r.phase: r.score for r in sorted(sess.pain_ratings, key=lambda r: r.recorded_at)}
    holds = [e.duration_s for e in sess.events if e.kind == "hold" and e.duration_s is not None]
    roms = [r.range_of_motion for r in sess.reps if r.complete and r.range_of_motion is not None]
    return {
        "id": sess.id, "patient_id": sess.patient_id, "exercise_id": sess.exercise_id, "side": sess.side,
        "source": sess.source, "status": effective_status(sess, now), "started_at": sess.started_at,
        "duration_s": sess.duration_s, "rep_count": sess.rep_count, "reps_total": len(sess.reps),
        "form_score": sess.form_score, "harmful_faults": harmful,
        "faults": sum(1 for e in sess.events if e.kind == "fault"),
        "mean_rom": (sum(roms) / len(roms)) if roms else None,
        "max_hold_s": max(holds) if holds else None,
        "mean_hold_s": (sum(holds) / len(holds)) if holds else None,
        "pain_before": pain.get("before"), "pain_after": pain.get("after"),
    }


def list_sessions(
    engine: Engine, principal: Principal, patient_id: int, *, exercise_id: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The patient's sessions, newest first, with their summary figures."""
    now = utcnow()
    with read_session(engine) as s:
        check_patient_access(s, principal, patient_id)
        q = select(ExerciseSession).where(ExerciseSession.patient_id == patient_id)
        if exercise_id:
            q = q.where(ExerciseSession.exercise_id == exercise_id)
        if since is not None:
            q = q.where(ExerciseSession.started_at >= since)
        q = q.order_by(ExerciseSession.started_at.desc(), ExerciseSession.id.desc())
        return [_session_row(x, now) for x in s.scalars(q)]


@dataclass
class SessionDetail:
    session: dict[str, Any]
    patient: PatientInfo
    reps: list[dict[str, Any]]
    holds: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    samples_t: list[float]
    samples: dict[str, list[float | None]]
    artifacts: list[dict[str, Any]]
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_session(engine: Engine, principal: Principal, session_id: int) -> SessionDetail:
    """One session with reps, holds, faults, the measure samples and artifact references."""
    now = utcnow()
    with read_session(engine) as s:
        try:
            sess = s.get(ExerciseSession, int(session_id))
        except (TypeError, ValueError):
            sess = None
        if sess is None:
            raise AccessDenied(f"no session {session_id!r} for this account")
        try:
            patient = check_patient_access(s, principal, sess.patient_id)
        except AccessDenied:
            raise AccessDenied(f"no session {session_id!r} for this account") from None
        reps = [
            {"index": r.index, "side": r.side, "start_s": r.start_s, "end_s": r.end_s, "peak": r.peak,
             "range_of_motion": r.range_of_motion, "hold_s": r.hold_s, "complete": r.complete,
             "form_score": r.form_score, "faults": ", ".join(r.faults or [])}
            for r in sorted(sess.reps, key=lambda r: (r.start_s, r.index))
        ]
        holds = [{"start_s": e.start_s, "end_s": e.end_s, "duration_s": e.duration_s, "completed": e.completed}
                 for e in sess.events if e.kind == "hold"]
        faults = [{"id": e.code, "severity": e.severity, "start_s": e.start_s, "end_s": e.end_s,
                   "message": e.message} for e in sess.events if e.kind == "fault"]
        rows = s.execute(
            select(Sample.t, Sample.values).where(Sample.session_id == sess.id).order_by(Sample.t)
        ).all()
        names = sorted({k for _, v in rows for k in (v or {})})
        samples_t = [t for t, _ in rows]
        samples = {n: [(v or {}).get(n) for _, v in rows] for n in names}
        artifacts = [{"kind": a.kind, "path": a.path, "size_bytes": a.size_bytes} for a in sess.artifacts]
        return SessionDetail(_session_row(sess, now), _patient_info(patient), reps, holds, faults, samples_t,
                             samples, artifacts, dict(sess.overrides or {}))


def delete_session(engine: Engine, principal: Principal, session_id: int) -> None:
    require_therapist(principal)
    with write_session(engine) as s:
        sess = s.get(ExerciseSession, session_id)
        if sess is None:
            raise AccessDenied(f"no session {session_id!r} for this account")
        check_patient_access(s, principal, sess.patient_id, write=True)
        s.delete(sess)


# ------------------------------------------------------------------------------------------------ overview


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of ``now``'s week."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _counts_as_done(sess: ExerciseSession) -> bool:
    return sess.rep_count > 0 or any(e.kind == "hold" and e.completed for e in sess.events)


def adherence(program: list[dict[str, Any]], sessions: list[ExerciseSession], now: datetime) -> float | None:
    """Share (0-1) of the sessions prescribed this week that were done, each exercise capped at its target.

    The target is prorated to the days elapsed this week (on Wednesday 3/7 of the weekly sessions are
    due), so a Monday does not look like a failure.
    """
    if not program:
        return None
    start = week_start(now)
    elapsed_days = min(7.0, max(1.0, math.ceil((now - start).total_seconds() / 86400)))
    done: dict[str, int] = defaultdict(int)
    for sess in sessions:
        if sess.started_at >= start and _counts_as_done(sess):
            done[sess.exercise_id] += 1
    due_total = 0.0
    done_total = 0.0
    for item in program:
        due = max(1.0, item["times_per_week"] * elapsed_days / 7.0)
        due_total += due
        done_total += min(due, done.get(item["exercise_id"], 0))
    return done_total / due_total if due_total else None


@dataclass(frozen=True)
class OverviewRow:
    patient_id: int
    display_name: str
    adherence_week: float | None  # 0-1, None without a program
    sessions_week: int
    last_session_at: datetime | None
    last_exercise: str | None
    last_form_score: float | None
    pain_recent: list[int]
    pain_trend: str  # rising | falling | stable | none
    flags: tuple[str, ...]


def _trend(scores: list[int]) -> str:
    if len(scores) < 2:
        return "none"
    half = max(1, len(scores) // 2)
    early = sum(scores[:half]) / half
    late = sum(scores[-half:]) / half
    if late - early >= 1:
        return "rising"
    if early - late >= 1:
        return "falling"
    return "stable"


def patient_overview(engine: Engine, principal: Principal, *, now: datetime | None = None) -> list[OverviewRow]:
    """One row per visible patient: adherence this week, last session, pain trend and flags."""
    now = now or utcnow()
    recent = now - timedelta(days=14)
    rows = []
    visible = [p.id for p in list_patients(engine, principal)]
    with read_session(engine) as s:
        for pid in visible:
            p = check_patient_access(s, principal, pid)
            program = _program_items(s, pid)
            sessions = list(s.scalars(
                select(ExerciseSession).where(ExerciseSession.patient_id == pid, ExerciseSession.started_at >= recent)
                .order_by(ExerciseSession.started_at)
            ))
            last = s.scalar(select(ExerciseSession).where(ExerciseSession.patient_id == pid)
                            .order_by(ExerciseSession.started_at.desc()).limit(1))
            pains = list(s.scalars(select(PainRating).where(PainRating.patient_id == pid,
                                                            PainRating.recorded_at >= recent)
                                   .order_by(PainRating.recorded_at)))
            flags = []
            week = week_start(now)
            harmful = sum(1 for x in sessions if x.started_at >= now - timedelta(days=7)
                          for e in x.events if e.kind == "fault" and e.severity == "harmful")
            if harmful:
                flags.append(f"{harmful} harmful posture{'s' if harmful > 1 else ''} in 7 days")
            by_session: dict[int, dict[str, int]] = defaultdict(dict)
            for r in pains:
                if r.session_id is not None:
                    by_session[r.session_id][r.phase] = r.score
            worse = [sid for sid, d in by_session.items()
                     if "before" in d and "after" in d and d["after"] - d["before"] >= PAIN_INCREASE_FLAG]
            if worse:
                flags.append(f"pain increased during {len(worse)} session{'s' if len(worse) > 1 else ''}")
            scores = [r.score for r in pains if r.phase in ("before", "other")] or [r.score for r in pains]
            trend = _trend(scores)
            if trend == "rising":
                flags.append("pain trend rising")
            if any(effective_status(x, now) == "interrupted" for x in sessions if x.started_at >= week):
                flags.append("interrupted session this week")
            adh = adherence(program, sessions, now)
            if adh is not None and adh < 0.5 and (now - week).days >= 2:
                flags.append(f"low adherence ({adh:.0%})")
            rows.append(OverviewRow(
                p.id, p.display_name, adh, sum(1 for x in sessions if x.started_at >= week),
                last.started_at if last else None, last.exercise_id if last else None,
                last.form_score if last else None, [r.score for r in pains], trend, tuple(flags),
            ))
    return rows


def progress_table(engine: Engine, principal: Principal, patient_id: int) -> list[dict[str, Any]]:
    """Per session (oldest first): exercise, date, reps, mean ROM, hold times, form score, pain."""
    rows = list_sessions(engine, principal, patient_id)
    rows.reverse()
    return rows


def count_rows(engine: Engine, model: type[Any], **where: Any) -> int:
    """Number of rows of ``model`` matching equality filters (tests and diagnostics)."""
    with read_session(engine) as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def clear_session_details(s: Session, session_id: int) -> None:
    """Remove a session's reps and events (before writing the final result over incremental ones)."""
    s.execute(delete(Rep).where(Rep.session_id == session_id))
    s.execute(delete(Event).where(Event.session_id == session_id))


__all__ = [
    "AccessDenied", "OverviewRow", "PatientInfo", "ProgramItemIn", "SessionDetail",
    "add_pain_rating", "adherence", "count_rows", "create_patient", "delete_session", "get_patient",
    "get_program", "get_session", "link_patient_user", "list_patients", "list_sessions",
    "mark_stale_sessions_interrupted", "pain_history", "patient_overview", "prescription_overrides",
    "progress_table", "set_program", "validate_program_items", "week_start",
]
