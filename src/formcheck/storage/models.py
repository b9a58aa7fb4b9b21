"""SQLAlchemy 2 models: who exercises what, how it went, and what the therapist prescribed.

The schema is created and evolved only through the Alembic migrations shipped in
``formcheck/storage/migrations`` (``formcheck db migrate``); ``Base.metadata`` is the target those
migrations must match (a test compares them).

Entities
--------
users           sign-in accounts (role ``therapist`` or ``patient``), argon2 password hashes
patients        a person under treatment, linked to one therapist and optionally to a patient user
programs        a patient's prescription (one active at a time) made of program_items
program_items   one prescribed exercise: sets, reps, hold time, side, weekly frequency and target
                overrides (e.g. wall squat to 30 degrees) that override the spec defaults
sessions        one exercise session (live or recorded), written incrementally
sets / reps     reps with their metrics (peak, range of motion, hold, form score, faults)
events          holds, faults and other timed events of a session
samples         measure values over time (for the angle-over-time plot)
pain_ratings    0-10 pain before/after a session (or at any time)
artifacts       references to files: annotated video, report, result.json (never the video bytes)
login_attempts  sign-in attempts, for rate limiting
auth_sessions   dashboard sign-in tokens (only their hash is stored)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


ROLES = ("therapist", "patient")
SESSION_STATUSES = ("in_progress", "completed", "interrupted")
SESSION_SOURCES = ("live", "recorded", "upload", "demo")
SEVERITIES = ("info", "warning", "harmful")
EVENT_KINDS = ("hold", "fault", "note")
PAIN_PHASES = ("before", "after", "other")
ARTIFACT_KINDS = ("video", "annotated_video", "report", "result_json", "landmarks")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('therapist', 'patient')", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True, default=None
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    programs: Mapped[list[Program]] = relationship(back_populates="patient", cascade="all, delete-orphan")


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="Home program")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="programs")
    items: Mapped[list[ProgramItem]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="ProgramItem.position"
    )


class ProgramItem(Base):
    __tablename__ = "program_items"
    __table_args__ = (
        CheckConstraint("sets >= 1", name="ck_program_items_sets"),
        CheckConstraint("reps >= 0", name="ck_program_items_reps"),
        CheckConstraint("hold_s IS NULL OR hold_s >= 0", name="ck_program_items_hold"),
        CheckConstraint("times_per_week >= 1 AND times_per_week <= 21", name="ck_program_items_freq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    exercise_id: Mapped[str] = mapped_column(String(80))
    sets: Mapped[int] = mapped_column(Integer, default=1)
    reps: Mapped[int] = mapped_column(Integer, default=10)
    hold_s: Mapped[float | None] = mapped_column(Float, default=None)
    side: Mapped[str | None] = mapped_column(String(10), default=None)
    times_per_week: Mapped[int] = mapped_column(Integer, default=7)
    # Targets overriding the exercise spec's defaults, by spec target name (e.g. {"knee_flexion": 30}).
    overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")

    program: Mapped[Program] = relationship(back_populates="items")


class ExerciseSession(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_progress', 'completed', 'interrupted')", name="ck_sessions_status"
        ),
        Index("ix_sessions_patient_started", "patient_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    program_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_items.id", ondelete="SET NULL"), default=None
    )
    exercise_id: Mapped[str] = mapped_column(String(80))
    side: Mapped[str | None] = mapped_column(String(10), default=None)
    source: Mapped[str] = mapped_column(String(20), default="recorded")
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    last_write_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    rep_count: Mapped[int] = mapped_column(Integer, default=0)
    form_score: Mapped[float | None] = mapped_column(Float, default=None)
    frames_with_person: Mapped[float | None] = mapped_column(Float, default=None)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship()
    sets: Mapped[list[ExerciseSet]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="ExerciseSet.index"
    )
    reps: Mapped[list[Rep]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Rep.start_s"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Event.start_s"
    )
    artifacts: Mapped[list[Artifact]] = relationship(back_populates="session", cascade="all, delete-orphan")
    pain_ratings: Mapped[list[PainRating]] = relationship(back_populates="session")


class ExerciseSet(Base):
    __tablename__ = "sets"
    __table_args__ = (UniqueConstraint("session_id", "index", name="uq_sets_session_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer, default=0)
    side: Mapped[str | None] = mapped_column(String(10), default=None)
    target_reps: Mapped[int | None] = mapped_column(Integer, default=None)
    start_s: Mapped[float | None] = mapped_column(Float, default=None)
    end_s: Mapped[float | None] = mapped_column(Float, default=None)

    session: Mapped[ExerciseSession] = relationship(back_populates="sets")
    reps: Mapped[list[Rep]] = relationship(back_populates="set", order_by="Rep.start_s")


class Rep(Base):
    __tablename__ = "reps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    set_id: Mapped[int | None] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), default=None)
    index: Mapped[int] = mapped_column(Integer, default=0)
    side: Mapped[str | None] = mapped_column(String(10), default=None)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    peak: Mapped[float | None] = mapped_column(Float, default=None)
    range_of_motion: Mapped[float | None] = mapped_column(Float, default=None)
    hold_s: Mapped[float | None] = mapped_column(Float, default=None)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    form_score: Mapped[float | None] = mapped_column(Float, default=None)
    faults: Mapped[list[Any]] = mapped_column(default=list)

    session: Mapped[ExerciseSession] = relationship(back_populates="reps")
    set: Mapped[ExerciseSet | None] = relationship(back_populates="reps")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("kind IN ('hold', 'fault', 'note')", name="ck_events_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(80), default=None)  # fault id
    severity: Mapped[str | None] = mapped_column(String(20), default=None)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    completed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    message: Mapped[str] = mapped_column(Text, default="")

    session: Mapped[ExerciseSession] = relationship(back_populates="events")


class Sample(Base):
    """Measure values at one instant of a session ({measure name: value}, NaN stored as null)."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    t: Mapped[float] = mapped_column(Float)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_samples_session_t", "session_id", "t"),)


class PainRating(Base):
    __tablename__ = "pain_ratings"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 10", name="ck_pain_ratings_score"),
        CheckConstraint("phase IN ('before', 'after', 'other')", name="ck_pain_ratings_phase"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), default=None
    )
    phase: Mapped[str] = mapped_column(String(10), default="other")
    score: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    session: Mapped[ExerciseSession | None] = relationship(back_populates="pain_ratings")


class Artifact(Base):
    """A file belonging to a session. Only the path is stored: videos stay where the user put them."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[ExerciseSession] = relationship(back_populates="artifacts")


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
