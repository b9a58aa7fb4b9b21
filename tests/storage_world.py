"""Shared builders for the storage and dashboard tests: a real SQLite database with two therapists,
their patients and a patient account, built once per test session and copied per test (argon2 hashing
is deliberately slow)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from formcheck.storage import create_patient, create_user, init_db, make_engine, principal_for_user
from formcheck.storage.repo import link_patient_user

PASSWORDS = {"alice": "alice-password", "bruno": "bruno-password", "pat1": "pat1-password",
             "pat3": "pat3-password"}


def build_world(path: Path) -> dict[str, Any]:
    engine = init_db(path)
    t1 = create_user(engine, "alice", PASSWORDS["alice"], "therapist", display_name="Alice Therapist")
    t2 = create_user(engine, "bruno", PASSWORDS["bruno"], "therapist", display_name="Bruno Therapist")
    pa1, pa2 = principal_for_user(engine, t1), principal_for_user(engine, t2)
    p1 = create_patient(engine, pa1, "Pat One")
    p2 = create_patient(engine, pa1, "Pat Two")
    p3 = create_patient(engine, pa2, "Pat Three")
    link_patient_user(engine, pa1, p1, create_user(engine, "pat1", PASSWORDS["pat1"], "patient"))
    link_patient_user(engine, pa2, p3, create_user(engine, "pat3", PASSWORDS["pat3"], "patient"))
    engine.dispose()
    return {"t1": t1, "t2": t2, "p1": p1, "p2": p2, "p3": p3}


def copy_world(template: tuple[Path, dict[str, Any]], dest: Path) -> dict[str, Any]:
    """A fresh copy of the template database with principals for every account."""
    src, ids = template
    shutil.copy(src, dest)
    engine = make_engine(dest)
    from sqlalchemy import select

    from formcheck.storage.db import read_session
    from formcheck.storage.models import User

    with read_session(engine) as s:
        users = {u.username: u.id for u in s.scalars(select(User))}
    world = dict(ids)
    world.update(engine=engine, url=f"sqlite:///{dest}", path=dest,
                 t1=principal_for_user(engine, users["alice"]), t2=principal_for_user(engine, users["bruno"]),
                 pat1=principal_for_user(engine, users["pat1"]), pat3=principal_for_user(engine, users["pat3"]))
    return world
