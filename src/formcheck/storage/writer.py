"""Incremental writing of a live or recorded session: a crash loses at most the last second.

>>> with SessionWriter(engine, patient_id, "wall_squat", source="live") as w:   # doctest: +SKIP
...     for t, measures, events in stream:
...         w.update(t, measures, events)
...     w.finish(result.to_dict())

The session row is created (and committed) when the writer opens. Samples, reps, holds and faults
are buffered and committed every ``flush_interval_s`` (0.5 s, so a crash loses well under a second,
including the commit's own time): on any ``add_*``/``update`` once the interval has passed, and by a
background thread when input pauses; each commit refreshes ``last_write_at``. If the
process dies, the session stays ``in_progress`` with everything up to the last commit; readers
show it as ``interrupted`` once it has not been written for a while
(:func:`formcheck.storage.repo.mark_stale_sessions_interrupted` closes it for good). Leaving the
``with`` block on an exception marks it ``interrupted`` and keeps its data.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, func, select

from formcheck.errors import FieldError, InputError
from formcheck.storage.auth import Principal, check_patient_access
from formcheck.storage.db import write_session
from formcheck.storage.models import Event, ExerciseSession, Patient, Rep, Sample, utcnow
from formcheck.storage.results import FaultIn, HoldIn, RepIn, _clean_values, parse_result, write_result_rows

log = logging.getLogger(__name__)


def _as_mapping(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return {k: getattr(obj, k) for k in dir(obj) if not k.startswith("_") and not callable(getattr(obj, k))}


class SessionWriter:
    """Writes one session incrementally; thread-safe; use as a context manager."""

    def __init__(
        self,
        engine: Engine,
        patient_id: int,
        exercise_id: str,
        *,
        principal: Principal | None = None,
        source: str = "live",
        side: str | None = None,
        program_item_id: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        flush_interval_s: float = 0.5,
        sample_rate_hz: float = 15.0,
        background: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not flush_interval_s > 0:
            raise FieldError("flush_interval_s", "> 0 seconds", flush_interval_s)
        self.engine = engine
        self.flush_interval_s = float(flush_interval_s)
        self._min_dt = 1.0 / sample_rate_hz if sample_rate_hz > 0 else 0.0
        self._clock = clock
        self._lock = threading.RLock()
        self._pending: list[Any] = []
        self._last_sample_t = -math.inf
        self._last_t: float | None = None
        self._rep_index = 0
        self._closed = False
        self._stop = threading.Event()
        with write_session(engine) as s:
            if principal is not None:
                check_patient_access(s, principal, patient_id)
            elif s.get(Patient, patient_id) is None:
                raise FieldError("patient_id", "an existing patient id", patient_id)
            now = utcnow()
            sess = ExerciseSession(patient_id=patient_id, exercise_id=exercise_id, side=side, source=source,
                                   status="in_progress", started_at=now, last_write_at=now,
                                   program_item_id=program_item_id, overrides=dict(overrides or {}))
            s.add(sess)
            s.flush()
            self.session_id: int = sess.id
        self._last_flush = self._clock()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name=f"SessionWriter-{self.session_id}", daemon=True)
            self._thread.start()
        log.debug("session %s opened for patient %s (%s)", self.session_id, patient_id, exercise_id)

    # ------------------------------------------------------------------------------------------ input

    def add_sample(self, t: float, values: Mapping[str, Any]) -> None:
        """Measure values at time ``t`` (seconds); thinned to ``sample_rate_hz``."""
        with self._lock:
            self._check_open()
            t = float(t)
            self._last_t = t if self._last_t is None else max(self._last_t, t)
            if t - self._last_sample_t >= self._min_dt - 1e-9:
                self._last_sample_t = t
                self._pending.append(Sample(session_id=self.session_id, t=t, values=_clean_values(values)))
            self._maybe_flush()

    def add_rep(self, rep: Mapping[str, Any] | Any) -> None:
        r = RepIn.model_validate(_as_mapping(rep))
        with self._lock:
            self._check_open()
            self._rep_index += 1
            self._pending.append(Rep(session_id=self.session_id, index=r.index or self._rep_index, side=r.side,
                                     start_s=r.start_s, end_s=r.end_s, peak=r.peak,
                                     range_of_motion=r.range_of_motion, hold_s=r.hold_s, complete=r.complete,
                                     form_score=r.form_score, faults=list(r.faults)))
            self._maybe_flush()

    def add_hold(self, hold: Mapping[str, Any] | Any) -> None:
        h = HoldIn.model_validate(_as_mapping(hold))
        with self._lock:
            self._check_open()
            self._pending.append(Event(session_id=self.session_id, kind="hold", start_s=h.start_s, end_s=h.end_s,
                                       duration_s=h.duration_s, completed=h.completed))
            self._maybe_flush()

    def add_fault(self, fault: Mapping[str, Any] | Any) -> None:
        f = FaultIn.model_validate(_as_mapping(fault))
        with self._lock:
            self._check_open()
            self._pending.append(Event(session_id=self.session_id, kind="fault", code=f.id, severity=f.severity,
                                       start_s=f.start_s, end_s=f.end_s, message=f.message,
                                       duration_s=(f.end_s - f.start_s) if f.end_s is not None else None))
            self._maybe_flush()

    def add_events(self, events: Iterable[Any]) -> None:
        """Exercise-engine events: anything with a ``kind``/``type`` of rep, hold or fault (others ignored)."""
        for ev in events:
            d = _as_mapping(ev)
            kind = str(d.get("kind") or d.get("type") or "").lower()
            payload = d.get("data") if isinstance(d.get("data"), Mapping) else d
            if kind.endswith("rep") or kind in ("rep_end", "rep_completed"):
                self.add_rep(payload)
            elif kind.startswith("hold") and "duration_s" in payload:
                self.add_hold(payload)
            elif kind.startswith("fault") and ("id" in payload or "fault" in payload):
                if "id" not in payload:
                    payload = {**payload, "id": payload["fault"]}
                self.add_fault(payload)

    def update(self, t: float, measures: Mapping[str, Any] | None = None, events: Iterable[Any] = ()) -> None:
        """One frame: its measures (sampled) and the events the exercise engine returned for it."""
        if measures:
            self.add_sample(t, measures)
        else:
            with self._lock:
                self._last_t = float(t) if self._last_t is None else max(self._last_t, float(t))
        self.add_events(events)
        with self._lock:
            self._maybe_flush()

    # ------------------------------------------------------------------------------------------ output

    def flush(self) -> int:
        """Commit everything buffered (and refresh ``last_write_at``); returns the number of rows written."""
        with self._lock:
            rows, self._pending = self._pending, []
            last_t = self._last_t
            try:
                with write_session(self.engine) as s:
                    s.add_all(rows)
                    sess = s.get(ExerciseSession, self.session_id)
                    if sess is not None:
                        sess.last_write_at = utcnow()
                        if last_t is not None:
                            sess.duration_s = max(sess.duration_s or 0.0, last_t)
                        if any(isinstance(r, Rep) for r in rows):
                            s.flush()
                            sess.rep_count = int(s.scalar(select(func.count()).select_from(Rep).where(
                                Rep.session_id == self.session_id, Rep.complete)) or 0)
            except Exception:
                self._pending = rows + self._pending  # keep them for the next attempt
                raise
            self._last_flush = self._clock()
            return len(rows)

    def _maybe_flush(self) -> None:
        if self._clock() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s / 5):
            try:
                with self._lock:
                    if self._closed:
                        return
                    self._maybe_flush()
            except Exception:
                log.exception("background flush of session %s failed; will retry", self.session_id)

    def finish(self, result: Mapping[str, Any] | Any | None = None, *, status: str = "completed") -> int:
        """Close the session. With ``result`` (the final result.json dict), its reps, holds and faults
        replace the incremental ones in one transaction (samples are kept). Returns the session id."""
        if status not in ("completed", "interrupted"):
            raise FieldError("status", "completed or interrupted", status)
        res = parse_result(result) if result is not None else None
        with self._lock:
            if self._closed:
                return self.session_id
            self._stop.set()
            self.flush()
            with write_session(self.engine) as s:
                sess = s.get(ExerciseSession, self.session_id)
                if sess is None:
                    raise InputError(f"session {self.session_id} was deleted while being recorded")
                if res is not None:
                    from formcheck.storage.repo import clear_session_details

                    clear_session_details(s, self.session_id)
                    write_result_rows(s, sess, res)
                else:
                    sess.rep_count = sum(1 for r in s.scalars(
                        select(Rep).where(Rep.session_id == self.session_id)) if r.complete)
                    sess.partial = status != "completed"
                sess.status = status
                now = utcnow()
                sess.ended_at = now
                sess.last_write_at = now
            self._closed = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2 * self.flush_interval_s)
        log.debug("session %s closed (%s)", self.session_id, status)
        return self.session_id

    def abort(self) -> int:
        """Close as ``interrupted``, keeping everything recorded so far."""
        return self.finish(status="interrupted")

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"session {self.session_id} is already closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.finish()
        else:
            try:
                self.abort()
            except Exception:  # keep the original exception; the data already committed stays
                log.exception("could not mark session %s interrupted", self.session_id)
