"""Demo data: a demo therapist, patients, a program and three weeks of sessions (``formcheck demo-data``).

Everything here is invented and marked ``source = "demo"``; it goes through the same
:func:`~formcheck.storage.results.store_result` path as a real analysis. Deterministic for a seed.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from formcheck.errors import FieldError
from formcheck.storage.auth import create_user, principal_for_user
from formcheck.storage.db import read_session, write_session
from formcheck.storage.models import PainRating, User, utcnow
from formcheck.storage.repo import create_patient, link_patient_user, set_program
from formcheck.storage.results import store_result

log = logging.getLogger(__name__)

DEMO_THERAPIST = ("therapist", "demo-therapist")
DEMO_PATIENT = ("patient", "demo-patient")


@dataclass(frozen=True)
class DemoAccounts:
    therapist_user_id: int
    patient_user_id: int
    patient_id: int  # the demo patient who has an account
    other_patient_id: int  # a second patient of the same therapist (no account)


# (exercise, key measure, rest value, target value, hold s, reps, harmful fault, fault severity)
_PLAN = [
    ("wall_squat", "knee_flexion_left", 5.0, 30.0, 5.0, 10, "too_deep", "harmful"),
    ("glute_bridge", "hip_flexion_left", 80.0, 5.0, 3.0, 10, "hips_too_high", "harmful"),
    ("hamstring_stretch", "hip_flexion_left", 5.0, 70.0, 20.0, 5, None, None),
]


def _session_result(rng: random.Random, plan: tuple, progress: float, faults_on: bool
                    ) -> tuple[dict, list[float], dict[str, list[float]]]:
    exercise, measure, rest, target, hold, reps, fault_id, severity = plan
    fps = 15.0
    t = 0.0
    ts: list[float] = []
    vals: list[float] = []
    rep_rows, hold_rows, fault_rows = [], [], []
    reach = 0.75 + 0.25 * progress  # patients reach more of the target as weeks go by
    for i in range(reps):
        depth = (target - rest) * min(1.05, reach + rng.uniform(-0.08, 0.08))
        move, held = 1.5, hold * min(1.0, 0.6 + 0.4 * progress + rng.uniform(-0.1, 0.1))
        start = t
        seg = [(move, lambda u, d=depth: rest + d * (1 - math.cos(math.pi * u)) / 2),
               (held, lambda u, d=depth: rest + d + rng.uniform(-1.0, 1.0)),
               (move, lambda u, d=depth: rest + d * (1 + math.cos(math.pi * u)) / 2),
               (1.0, lambda u: rest + rng.uniform(-0.5, 0.5))]
        for dur, f in seg:
            n = max(1, int(dur * fps))
            for k in range(n):
                ts.append(round(t + k / fps, 3))
                vals.append(round(f(k / n), 2))
            t += dur
        peak = rest + depth
        complete = abs(depth) >= 0.9 * abs(target - rest) and held >= 0.95 * hold
        rep_faults = []
        if faults_on and fault_id and i == reps - 2:
            rep_faults = [fault_id]
            fault_rows.append({"id": fault_id, "severity": severity, "start_s": round(start + move, 2),
                               "end_s": round(start + move + held, 2),
                               "message": f"{fault_id.replace('_', ' ')}: ease off"})
        rep_rows.append({"index": i + 1, "start_s": round(start, 2), "end_s": round(start + 2 * move + held, 2),
                         "peak": round(peak, 1), "range_of_motion": round(abs(depth), 1),
                         "hold_s": round(held, 1), "complete": complete,
                         "form_score": 60.0 if rep_faults else 100.0, "faults": rep_faults})
        hold_rows.append({"start_s": round(start + move, 2), "end_s": round(start + move + held, 2),
                          "duration_s": round(held, 1), "completed": held >= 0.95 * hold})
    scores = [r["form_score"] for r in rep_rows]
    result = {
        "schema_version": "1.0", "exercise": exercise, "side": None,
        "video": {"path": f"demo/{exercise}.mp4", "fps": fps, "duration_s": round(t, 2), "frames": len(ts)},
        "rep_count": sum(1 for r in rep_rows if r["complete"]), "reps": rep_rows, "holds": hold_rows,
        "faults": fault_rows, "form_score": round(sum(scores) / len(scores), 1),
        "frames_with_person": len(ts), "partial": False,
    }
    return result, ts, {measure: vals}


def seed_demo(engine: Engine, *, seed: int = 7, weeks: int = 3, now: datetime | None = None) -> DemoAccounts:
    """Create the demo accounts, program and sessions. Refuses if the demo therapist already exists."""
    with read_session(engine) as s:
        if s.scalar(select(User.id).where(User.username == DEMO_THERAPIST[0])) is not None:
            raise FieldError("username", "no existing demo therapist (demo data is already there)",
                             DEMO_THERAPIST[0])
    rng = random.Random(seed)
    now = now or utcnow()
    tid = create_user(engine, *DEMO_THERAPIST, role="therapist", display_name="Dr. Demo Therapist")
    puid = create_user(engine, *DEMO_PATIENT, role="patient", display_name="Pat Demo")
    therapist = principal_for_user(engine, tid)
    pid = create_patient(engine, therapist, "Pat Demo", notes="Demo patient: chronic non-specific LBP.")
    other = create_patient(engine, therapist, "Sam Example", notes="Demo patient without an account.")
    link_patient_user(engine, therapist, pid, puid)
    program = [
        {"exercise_id": "wall_squat", "sets": 1, "reps": 10, "hold_s": 5, "times_per_week": 5,
         "overrides": {"target": 30.0}, "notes": "Start with knees to 30 degrees, back flat on the wall."},
        {"exercise_id": "glute_bridge", "sets": 2, "reps": 10, "hold_s": 3, "times_per_week": 4},
        {"exercise_id": "hamstring_stretch", "sets": 1, "reps": 5, "hold_s": 20, "times_per_week": 5},
    ]
    set_program(engine, therapist, pid, program, name="Beginning program")
    set_program(engine, therapist, other, program[:2], name="Beginning program")
    days = weeks * 7
    with write_session(engine) as s:
        for patient_id, adherence, pain0 in ((pid, 0.75, 6), (other, 0.35, 4)):
            for day in range(days, -1, -1):
                progress = 1 - day / days
                for j, plan in enumerate(_PLAN if patient_id == pid else _PLAN[:2]):
                    if rng.random() > adherence:
                        continue
                    start = (now - timedelta(days=day)).replace(hour=8 + 2 * j, minute=rng.randint(0, 59),
                                                               second=0, microsecond=0)
                    if start > now:
                        start -= timedelta(days=1)
                    result, ts, series = _session_result(rng, plan, progress, faults_on=rng.random() < 0.25)
                    sess = store_result(s, patient_id, result, source="demo", started_at=start, series=series,
                                        series_t=ts, overrides=program[j].get("overrides", {}))
                    before = max(0, min(10, round(pain0 - 3 * progress + rng.uniform(-1, 1))))
                    if patient_id == other:
                        before = max(0, min(10, round(pain0 + 2 * progress)))  # getting worse: flagged
                    after = max(0, min(10, before + rng.choice((-1, 0, 0, 1))))
                    s.add(PainRating(patient_id=patient_id, session_id=sess.id, phase="before", score=before,
                                     recorded_at=start))
                    s.add(PainRating(patient_id=patient_id, session_id=sess.id, phase="after", score=after,
                                     recorded_at=start + timedelta(seconds=sess.duration_s or 60)))
    log.info("demo data: therapist %s, patient %s (+%s)", tid, pid, other)
    return DemoAccounts(tid, puid, pid, other)
