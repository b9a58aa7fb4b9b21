"""Storing analysis results (``result.json`` documents) as sessions with reps, holds and faults."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from formcheck.errors import FieldError, InputError
from formcheck.report import schema
from formcheck.storage.catalog import exercise_ids
from formcheck.storage.db import as_engine, write_session
from formcheck.storage.models import Artifact, Event, ExerciseSession, Patient, Rep, Sample, utcnow

log = logging.getLogger(__name__)

MAX_SAMPLE_RATE_HZ = 15.0  # measure samples kept for the angle-over-time plot


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


# The stored rows take the result.json models (formcheck.report.schema: one definition of each field and
# its meaning) and loosen only what a live session in progress or an ExerciseResult.to_dict() lacks:
# unknown keys are ignored, a rep may have no index/peak yet, a hold or fault may still be open.
class RepIn(schema.Rep):
    model_config = ConfigDict(extra="ignore")
    index: int | None = None  # type: ignore[assignment]
    peak: float | None = None
    range_of_motion: float | None = None
    complete: bool = True


class HoldIn(schema.Hold):
    model_config = ConfigDict(extra="ignore")
    end_s: float | None = None  # type: ignore[assignment]


class FaultIn(schema.Fault):
    model_config = ConfigDict(extra="ignore")
    severity: schema.Severity = "warning"
    end_s: float | None = None  # type: ignore[assignment]
    message: str = ""


class VideoIn(_In):
    path: str | None = None
    fps: float | None = None
    duration_s: float | None = None
    frames: int | None = None

    _nan = field_validator("fps", "duration_s", mode="before")(schema._finite_or_none)


class ResultIn(_In):
    """The parts of ``result.json`` (formcheck.report.schema.ResultDocument) that are stored."""

    exercise: str
    side: str | None = None
    video: VideoIn | None = None
    rep_count: int | None = Field(None, ge=0)
    reps: list[RepIn] = Field(default_factory=list)
    holds: list[HoldIn] = Field(default_factory=list)
    faults: list[FaultIn] = Field(default_factory=list)
    form_score: float | None = Field(None, ge=0, le=100)
    frames_with_person: float | None = None
    partial: bool = False
    prescription: dict[str, Any] | None = None

    _nan = field_validator("form_score", mode="before")(schema._finite_or_none)

    @field_validator("exercise")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in exercise_ids():
            raise ValueError(f"a known exercise id ({', '.join(exercise_ids())})")
        return v


def parse_result(result: Mapping[str, Any] | Any) -> ResultIn:
    """Validate a result dict (or an object with ``to_dict()``); raises :class:`FieldError`."""
    if hasattr(result, "to_dict") and not isinstance(result, Mapping):
        result = result.to_dict()
    if not isinstance(result, Mapping):
        raise InputError(f"an analysis result must be a mapping, got {type(result).__name__}")
    try:
        return ResultIn.model_validate(dict(result))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "result"
        raise FieldError(loc, err["msg"].removeprefix("Value error, "), err.get("input"),
                         where="analysis result") from exc


def _clean_values(values: Mapping[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k, v in values.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = x if math.isfinite(x) else None
    return out


def series_to_samples(
    t: Sequence[float], series: Mapping[str, Sequence[float]], max_rate_hz: float = MAX_SAMPLE_RATE_HZ
) -> list[tuple[float, dict[str, float | None]]]:
    """Per-frame measure arrays -> (t, {name: value}) rows, thinned to ``max_rate_hz``."""
    n = len(t)
    for name, arr in series.items():
        if len(arr) != n:
            raise FieldError(f"series.{name}", f"{n} values (one per time stamp)", len(arr))
    rows: list[tuple[float, dict[str, float | None]]] = []
    last = -math.inf
    min_dt = 1.0 / max_rate_hz if max_rate_hz > 0 else 0.0
    for i in range(n):
        ti = float(t[i])
        if not math.isfinite(ti) or ti - last < min_dt - 1e-9:
            continue
        last = ti
        rows.append((ti, _clean_values({k: v[i] for k, v in series.items()})))
    return rows


def write_result_rows(s: Session, sess: ExerciseSession, res: ResultIn) -> None:
    """Add the reps, holds and faults of ``res`` to ``sess`` and set its summary (inside a transaction)."""
    for i, r in enumerate(sorted(res.reps, key=lambda r: r.start_s)):
        s.add(Rep(session_id=sess.id, index=r.index if r.index is not None else i + 1, side=r.side,
                  start_s=r.start_s, end_s=r.end_s, peak=r.peak, range_of_motion=r.range_of_motion,
                  hold_s=r.hold_s, complete=r.complete, form_score=r.form_score, faults=list(r.faults)))
    for h in res.holds:
        s.add(Event(session_id=sess.id, kind="hold", start_s=h.start_s, end_s=h.end_s, duration_s=h.duration_s,
                    completed=h.completed))
    for f in res.faults:
        s.add(Event(session_id=sess.id, kind="fault", code=f.id, severity=f.severity, start_s=f.start_s,
                    end_s=f.end_s, duration_s=(f.end_s - f.start_s) if f.end_s is not None else None,
                    message=f.message))
    sess.rep_count = res.rep_count if res.rep_count is not None else sum(1 for r in res.reps if r.complete)
    sess.form_score = res.form_score
    sess.frames_with_person = res.frames_with_person
    sess.partial = res.partial
    if res.side and not sess.side:
        sess.side = res.side
    if res.video is not None and res.video.duration_s is not None:
        sess.duration_s = res.video.duration_s


def store_result(
    session: Session,
    patient_id: int,
    result: Mapping[str, Any] | Any,
    *,
    source: str = "recorded",
    started_at: datetime | None = None,
    overrides: Mapping[str, Any] | None = None,
    program_item_id: int | None = None,
    series: Mapping[str, Sequence[float]] | None = None,
    series_t: Sequence[float] | None = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
) -> ExerciseSession:
    """Add one analysed session to ``session`` (a SQLAlchemy session inside the caller's transaction).

    ``result`` is a ``result.json`` dict (or an ``AnalysisResult``); it is fully validated before
    anything is added, so a malformed result stores nothing. ``series`` (measure name -> per-frame
    values, with ``series_t``) feeds the angle-over-time plot. ``artifacts`` maps a kind
    (``annotated_video``, ``report``, ``result_json``, ``video``) to a file path; only the path is
    stored. No access check here: callers are the CLI (the local user) via :func:`store_analysis`;
    the dashboard goes through :func:`formcheck.storage.uploads.analyse_upload`, which checks access.
    """
    res = parse_result(result)
    rows = []
    if series:
        if series_t is None:
            raise FieldError("series_t", "time stamps for the series", None)
        rows = series_to_samples(series_t, series)
    paths: list[tuple[str, Path]] = []
    for kind, p in (artifacts or {}).items():
        path = Path(p)
        if not path.is_file():
            raise InputError(f"{kind} file {path} does not exist")
        paths.append((kind, path.resolve()))
    if session.get(Patient, patient_id) is None:
        raise FieldError("patient_id", "an existing patient id", patient_id)
    now = utcnow()
    duration = res.video.duration_s if res.video and res.video.duration_s is not None else None
    start = started_at or (now - timedelta(seconds=duration or 0))
    sess = ExerciseSession(
        patient_id=patient_id, exercise_id=res.exercise, side=res.side, source=source, status="completed",
        started_at=start, ended_at=start + timedelta(seconds=duration or 0), last_write_at=now,
        duration_s=duration, overrides=dict(overrides or {}), program_item_id=program_item_id,
    )
    session.add(sess)
    session.flush()
    write_result_rows(session, sess, res)
    session.add_all(Sample(session_id=sess.id, t=t, values=v) for t, v in rows)
    for kind, path in paths:
        session.add(Artifact(session_id=sess.id, kind=kind, path=str(path), size_bytes=path.stat().st_size))
    session.flush()
    return sess


def find_report_artifacts(report_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The annotated video, HTML report and result.json written by ``formcheck analyze`` in ``report_dir``."""
    d = Path(report_dir)
    if not d.is_dir():
        raise InputError(f"report directory {d} does not exist")
    found: dict[str, Path] = {}
    for p in sorted(d.iterdir()):
        name = p.name.lower()
        if not p.is_file():
            continue
        if name == "result.json":
            found.setdefault("result_json", p)
        elif name.endswith((".html", ".htm")):
            found.setdefault("report", p)
        elif name.endswith((".mp4", ".webm", ".mkv", ".mov")):
            found.setdefault("annotated_video", p)
    return found


def store_analysis(
    db: Engine | str | os.PathLike[str] | None,
    patient_id: int,
    result: Mapping[str, Any] | Any,
    video_path: str | os.PathLike[str] | None = None,
    report_dir: str | os.PathLike[str] | None = None,
    *,
    source: str = "recorded",
    started_at: datetime | None = None,
    overrides: Mapping[str, Any] | None = None,
    series: Mapping[str, Sequence[float]] | None = None,
    series_t: Sequence[float] | None = None,
) -> int:
    """Store one analysis (``formcheck analyze ... --patient ID``) in one transaction; returns the session id.

    ``video_path`` is recorded as a reference only (the video is never copied into the database);
    files found in ``report_dir`` (annotated video, report, result.json) are referenced too.
    """
    engine = as_engine(db)
    from formcheck.storage.db import check_schema

    check_schema(engine)
    artifacts: dict[str, Path] = {}
    if report_dir is not None:
        artifacts.update(find_report_artifacts(report_dir))
    if video_path is not None:
        artifacts["video"] = Path(video_path)
    with write_session(engine) as s:
        sess = store_result(s, patient_id, result, source=source, started_at=started_at, overrides=overrides,
                            series=series,
                            series_t=series_t, artifacts=artifacts)
        return sess.id
