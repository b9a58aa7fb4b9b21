"""A sink for the live coach's records (``formcheck.live.coach.LiveCoach(sink=...)``) that stores them.

Each exercise of a live program becomes one session, written incrementally through
:class:`~formcheck.storage.writer.SessionWriter` (so a crash loses at most the last second); the
exercise's final result replaces the incremental rows when the exercise ends. Pain ratings given
before/after are stored against the session they belong to.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from formcheck.storage.auth import Principal
from formcheck.storage.repo import add_pain_rating
from formcheck.storage.writer import SessionWriter

log = logging.getLogger(__name__)


class LiveSink:
    """Callable taking one live record dict (``{"type": ..., "t": ..., ...}``)."""

    def __init__(self, engine: Engine, principal: Principal, patient_id: int) -> None:
        self.engine = engine
        self.principal = principal
        self.patient_id = patient_id
        self.writer: SessionWriter | None = None
        self.session_ids: list[int] = []
        self._pending_pain: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, rec: Mapping[str, Any]) -> None:
        with self._lock:
            kind = rec.get("type")
            t = float(rec.get("t") or 0.0)
            if kind == "exercise_start":
                self._close()
                self.writer = SessionWriter(
                    self.engine, self.patient_id, str(rec["exercise"]), principal=self.principal, source="live",
                    side=rec.get("side"), overrides=dict(rec.get("overrides") or {}))
                self.session_ids.append(self.writer.session_id)
                for phase, score in self._pending_pain:
                    self._pain(phase, score)
                self._pending_pain.clear()
            elif kind == "rep" and self.writer is not None:
                self.writer.add_rep({"start_s": rec.get("start_s", t), "end_s": rec.get("end_s", t), **rec})
            elif kind == "hold" and self.writer is not None:
                dur = rec.get("duration_s", rec.get("held_s"))
                if dur is not None:
                    self.writer.add_hold({"start_s": rec.get("start_s", t - float(dur)), "end_s": t,
                                          "duration_s": dur, "completed": bool(rec.get("completed"))})
            elif kind == "fault" and self.writer is not None:
                self.writer.add_fault({"start_s": t, "message": rec.get("message") or "", **rec})
            elif kind == "measures" and self.writer is not None:
                self.writer.add_sample(t, rec.get("values") or {})
            elif kind == "exercise_end":
                self._close(rec.get("result"), exercise=rec.get("exercise"),
                            interrupted=rec.get("reason") in ("stopped", "camera_lost", "error"))
            elif kind == "pain":
                phase, score = str(rec.get("phase") or "other"), rec.get("score")
                if score is None:
                    return
                if self.writer is None and not self.session_ids:
                    self._pending_pain.append((phase, int(score)))
                else:
                    self._pain(phase, int(score))
            elif kind == "session_end":
                self._close(interrupted=rec.get("end_reason") not in (None, "completed", "done"))

    def _pain(self, phase: str, score: int) -> None:
        sid = self.writer.session_id if self.writer is not None else (self.session_ids[-1] if self.session_ids
                                                                      else None)
        add_pain_rating(self.engine, self.principal, self.patient_id, score,
                        phase=phase if phase in ("before", "after") else "other", session_id=sid)

    def _close(self, result: Any = None, *, exercise: str | None = None, interrupted: bool = False) -> None:
        w, self.writer = self.writer, None
        if w is None or w.closed:
            return
        status = "interrupted" if interrupted else "completed"
        if isinstance(result, Mapping):
            result = {"exercise": exercise, **result} if "exercise" not in result else dict(result)
            try:
                w.finish(result, status=status)
                return
            except Exception:  # keep the incremental rows rather than nothing
                log.exception("live result of session %s could not be stored; keeping incremental data",
                              w.session_id)
        w.finish(status=status)

    def close(self) -> None:
        with self._lock:
            self._close(interrupted=True)
