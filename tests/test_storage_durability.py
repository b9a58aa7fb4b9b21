"""Migrations, concurrent writers, crashes mid-session, sign-in rate limiting, PostgreSQL, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from formcheck.storage import (
    AuthError,
    RateLimitedError,
    SessionWriter,
    authenticate,
    get_session,
    head_revision,
    list_sessions,
    make_engine,
    migrate,
)
from formcheck.storage.auth import issue_token, principal_from_token, revoke_token
from formcheck.storage.db import current_revision, downgrade, read_session
from formcheck.storage.models import Base, ExerciseSession, Rep, Sample, utcnow
from formcheck.storage.repo import mark_stale_sessions_interrupted
from storage_world import PASSWORDS

PY = sys.executable




# ------------------------------------------------------------------------------------------------ migrations


def _schema_diff(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_migrations_from_empty_match_the_models(tmp_path):
    engine = make_engine(tmp_path / "new.db")
    assert current_revision(engine) is None
    assert migrate(engine) == head_revision()
    assert _schema_diff(engine) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migration_from_previous_revision_keeps_data(tmp_path):
    engine = make_engine(tmp_path / "old.db")
    migrate(engine, "0001")
    assert "pain_ratings" not in inspect(engine).get_table_names()
    with engine.begin() as conn:  # data written by the previous release (plain SQL, its schema)
        conn.execute(text("INSERT INTO users (id, username, display_name, role, password_hash, active, created_at)"
                          " VALUES (1, 'old', 'Old Therapist', 'therapist', 'x', 1, '2025-01-02 10:00:00')"))
        conn.execute(text("INSERT INTO patients (id, display_name, therapist_id, notes, created_at)"
                          " VALUES (1, 'Legacy Patient', 1, '', '2025-01-02 10:00:00')"))
        conn.execute(text("INSERT INTO sessions (id, patient_id, exercise_id, source, status, started_at, ended_at,"
                          " rep_count, partial, notes) VALUES (1, 1, 'plank', 'recorded', 'completed',"
                          " '2025-01-03 09:00:00', '2025-01-03 09:05:00', 4, 0, '')"))
        conn.execute(text("INSERT INTO reps (session_id, \"index\", start_s, end_s, complete, faults)"
                          " VALUES (1, 1, 0.0, 3.0, 1, '[]')"))
    assert migrate(engine) == head_revision()
    assert _schema_diff(engine) == []
    from formcheck.storage.auth import principal_for_user

    therapist = principal_for_user(engine, 1)
    rows = list_sessions(engine, therapist, 1)
    assert len(rows) == 1 and rows[0]["rep_count"] == 4 and rows[0]["status"] == "completed"
    with read_session(engine) as s:
        sess = s.get(ExerciseSession, 1)
        assert sess.overrides == {} and sess.last_write_at == sess.ended_at  # backfilled
    from formcheck.storage.repo import add_pain_rating

    add_pain_rating(engine, therapist, 1, 4, phase="after", session_id=1)  # new table usable on old data
    assert get_session(engine, therapist, 1).reps[0]["end_s"] == 3.0
    # and back down again (data of the old tables kept)
    assert downgrade(engine, "0001") == "0001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reps")).scalar() == 1


def test_database_without_schema_gives_an_actionable_error(tmp_path):
    from formcheck.storage import check_schema
    from formcheck.storage.db import DatabaseError

    engine = make_engine(tmp_path / "blank.db")
    with pytest.raises(DatabaseError, match="formcheck db init"):
        check_schema(engine)
    migrate(engine, "0001")
    with pytest.raises(DatabaseError, match="formcheck db migrate"):
        check_schema(engine)


# ------------------------------------------------------------------------------------------------ writers


def test_writer_commits_within_a_second_while_running(world):
    e = world["engine"]
    with SessionWriter(e, world["p1"], "wall_squat", flush_interval_s=0.3) as w:
        for i in range(10):
            w.update(i / 10, {"knee_flexion_left": 10.0 + i})
        time.sleep(0.8)  # input pauses: the background thread must still commit
        with read_session(e) as s:
            stored = s.scalars(select(Sample.t).where(Sample.session_id == w.session_id)).all()
            status = s.get(ExerciseSession, w.session_id).status
        assert len(stored) == 10 and status == "in_progress"
        w.add_rep({"start_s": 0.0, "end_s": 0.9, "peak": 19.0, "range_of_motion": 9.0, "complete": True})
    d = get_session(e, world["t1"], w.session_id)
    assert d.session["status"] == "completed" and d.session["rep_count"] == 1


def test_exception_inside_writer_marks_interrupted_and_keeps_data(world):
    e = world["engine"]
    with pytest.raises(RuntimeError), SessionWriter(e, world["p1"], "plank", background=False) as w:
        w.update(0.0, {"body_line": 1.0})
        w.add_fault({"id": "hips_sagging", "severity": "harmful", "start_s": 0.0, "end_s": 0.5})
        raise RuntimeError("camera unplugged")
    d = get_session(e, world["t1"], w.session_id)
    assert d.session["status"] == "interrupted"
    assert d.samples_t == [0.0] and d.faults[0]["id"] == "hips_sagging"


def test_finish_with_result_replaces_incremental_rows(world):
    from test_storage import make_result

    e = world["engine"]
    w = SessionWriter(e, world["p1"], "wall_squat", background=False)
    w.add_rep({"start_s": 0.0, "end_s": 1.0, "complete": True})
    w.finish(make_result())
    d = get_session(e, world["t1"], w.session_id)
    assert len(d.reps) == 3 and d.session["rep_count"] == 2 and d.session["form_score"] == 85.0


CRASH_CHILD = textwrap.dedent("""
    import sys, time
    from formcheck.storage import make_engine, SessionWriter
    engine = make_engine(sys.argv[1])
    w = SessionWriter(engine, int(sys.argv[2]), "wall_squat")
    print(w.session_id, flush=True)
    log = open(sys.argv[3], "w")
    t0 = time.monotonic()
    i = 0
    while True:
        t = time.monotonic() - t0
        w.update(t, {"knee_flexion_left": 20.0 + (i % 30)})
        if i % 45 == 44:
            w.add_rep({"start_s": t - 1.5, "end_s": t, "peak": 45.0, "complete": True})
        log.write(f"{t}\\n"); log.flush()
        i += 1
        time.sleep(1 / 30)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_process_loses_at_most_one_second(world, tmp_path):
    """A live session killed with SIGKILL (no cleanup at all) keeps everything but the last second."""
    given = tmp_path / "given.txt"
    proc = subprocess.Popen([PY, "-c", CRASH_CHILD, str(world["path"]), str(world["p1"]), str(given)],
                            stdout=subprocess.PIPE, text=True)
    try:
        session_id = int(proc.stdout.readline())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = given.read_text().split() if given.exists() else []
            if lines and float(lines[-1]) > 3.2:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    last_given = float(given.read_text().split()[-1])
    e = world["engine"]
    d = get_session(e, world["t1"], session_id)
    assert d.samples_t, "nothing was stored"
    assert max(d.samples_t) >= last_given - 1.0, (max(d.samples_t), last_given)
    assert len(d.reps) >= 1 and all(r["complete"] for r in d.reps)
    # readers see it as interrupted once stale; recovery closes it keeping the reps
    later = utcnow() + timedelta(minutes=5)
    assert mark_stale_sessions_interrupted(e, now=later) == 1
    d2 = get_session(e, world["t1"], session_id)
    assert d2.session["status"] == "interrupted" and d2.session["rep_count"] == len(d.reps)
    assert d2.samples_t == d.samples_t


WRITER_CHILD = textwrap.dedent("""
    import sys
    from formcheck.storage import make_engine, SessionWriter
    engine = make_engine(sys.argv[1])
    n = int(sys.argv[3])
    for k in range(2):
        with SessionWriter(engine, int(sys.argv[2]), "wall_squat", flush_interval_s=0.05, sample_rate_hz=0) as w:
            for i in range(n):
                w.update(i / 30, {"knee_flexion_left": float(i)})
                if i % 20 == 19:
                    w.add_rep({"start_s": i / 30 - 0.5, "end_s": i / 30, "complete": True})
""")


def test_concurrent_writers_in_two_processes_and_a_thread(world):
    """Two processes and a thread write sessions at once: no 'database is locked', nothing lost."""
    n = 300
    procs = [subprocess.Popen([PY, "-c", WRITER_CHILD, str(world["path"]), str(pid), str(n)],
                              stderr=subprocess.PIPE, text=True) for pid in (world["p1"], world["p2"])]
    errors: list[BaseException] = []

    def reader_writer() -> None:
        from formcheck.storage import store_analysis
        from test_storage import make_result

        try:
            for _ in range(5):
                store_analysis(world["engine"], world["p3"], make_result())
                list_sessions(world["engine"], world["t1"], world["p1"])
        except Exception as exc:  # noqa: BLE001 - re-raised by the assertion below
            errors.append(exc)

    th = threading.Thread(target=reader_writer)
    th.start()
    outs = [p.communicate(timeout=120)[1] for p in procs]
    th.join(timeout=120)
    assert [p.returncode for p in procs] == [0, 0], outs
    assert not errors, errors
    e = world["engine"]
    with read_session(e) as s:
        for pid in (world["p1"], world["p2"]):
            sessions = s.scalars(select(ExerciseSession).where(ExerciseSession.patient_id == pid)).all()
            assert len(sessions) == 2 and {x.status for x in sessions} == {"completed"}
            for x in sessions:
                assert s.scalar(select(Sample.id).where(Sample.session_id == x.id).order_by(Sample.id.desc())
                                .limit(1)) is not None
                assert len(s.scalars(select(Sample.t).where(Sample.session_id == x.id)).all()) == n
                assert len(s.scalars(select(Rep.id).where(Rep.session_id == x.id)).all()) == n // 20
                assert x.rep_count == n // 20
        assert len(s.scalars(select(ExerciseSession).where(ExerciseSession.patient_id == world["p3"])).all()) == 5


# ------------------------------------------------------------------------------------------------ sign-in


def test_sign_in_rate_limited_after_repeated_failures(world):
    e = world["engine"]
    now = utcnow()
    assert authenticate(e, "alice", PASSWORDS["alice"], now=now).role == "therapist"
    for i in range(5):
        with pytest.raises(AuthError, match="wrong user name or password"):
            authenticate(e, "Alice", f"guess-{i}", now=now + timedelta(seconds=i))
    with pytest.raises(RateLimitedError, match="try again in about 5 minutes") as exc:
        authenticate(e, "alice", PASSWORDS["alice"], now=now + timedelta(seconds=10))
    assert 200 < exc.value.retry_after_s <= 300
    # other accounts are not affected; the lock ends after the lockout
    assert authenticate(e, "bruno", PASSWORDS["bruno"], now=now + timedelta(seconds=11)).username == "bruno"
    ok = authenticate(e, "alice", PASSWORDS["alice"], now=now + timedelta(minutes=6))
    assert ok.user_id == world["t1"].user_id


def test_unknown_user_is_rate_limited_with_the_same_message(world):
    e = world["engine"]
    now = utcnow()
    msgs = set()
    for i in range(5):
        with pytest.raises(AuthError) as exc:
            authenticate(e, "nobody", "whatever1", now=now + timedelta(seconds=i))
        msgs.add(str(exc.value))
    with pytest.raises(AuthError) as exc:
        authenticate(e, "alice", "wrong-one", now=now)
    assert msgs == {str(exc.value)}
    with pytest.raises(RateLimitedError):
        authenticate(e, "nobody", "whatever1", now=now + timedelta(seconds=6))


def test_tokens_resolve_expire_and_revoke(world):
    e = world["engine"]
    p = authenticate(e, "pat1", PASSWORDS["pat1"])
    assert p.patient_id == world["p1"]
    tok = issue_token(e, p)
    assert principal_from_token(e, tok) == p
    assert principal_from_token(e, tok + "x") is None
    assert principal_from_token(e, tok, now=utcnow() + timedelta(days=1)) is None
    revoke_token(e, tok)
    assert principal_from_token(e, tok) is None


# ------------------------------------------------------------------------------------------------ PostgreSQL


@pytest.mark.skipif(not os.environ.get("FORMCHECK_TEST_PG_URL"), reason="set FORMCHECK_TEST_PG_URL to a scratch "
                    "PostgreSQL database (its tables are dropped)")
def test_postgresql_migrate_and_round_trip():
    from formcheck.storage import create_patient, create_user, principal_for_user, store_analysis
    from test_storage import make_result

    engine = make_engine(os.environ["FORMCHECK_TEST_PG_URL"])
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(engine, "0001")
    migrate(engine)
    assert _schema_diff(engine) == []
    t = principal_for_user(engine, create_user(engine, "pgther", "pg-password", "therapist"))
    pid = create_patient(engine, t, "PG Patient")
    sid = store_analysis(engine, pid, make_result(), series={"a": [1.0, float("nan")]}, series_t=[0.0, 1.0])
    d = get_session(engine, t, sid)
    assert len(d.reps) == 3 and d.samples["a"] == [1.0, None]


# ------------------------------------------------------------------------------------------------ CLI


def _cli(args, stdin=""):
    env = dict(os.environ)
    env.pop("FORMCHECK_DB_URL", None)
    return subprocess.run([PY, "-c", "from formcheck.cli import run; run()", *args], check=False,
                          input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_cli_init_add_user_and_errors_are_one_line(tmp_path):
    db = str(tmp_path / "cli.db")
    r = _cli(["db", "status", "--db", db])
    assert r.returncode == 0 and "formcheck db init" in r.stdout
    r = _cli(["users", "add", "first", "--role", "therapist", "--password-stdin", "--db", db], "long-enough\n")
    assert r.returncode == 2 and "formcheck db init" in r.stderr and "Traceback" not in r.stderr
    assert _cli(["db", "init", "--db", db]).returncode == 0
    r = _cli(["users", "add", "first", "--role", "therapist", "--password-stdin", "--db", db], "short\n")
    assert r.returncode == 2 and "at least 8 characters" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _cli(["users", "add", "first", "--role", "therapist", "--password-stdin", "--db", db], "long-enough\n")
    assert r.returncode == 0, r.stderr
    r = _cli(["patients", "add", "Jo", "--therapist", "first", "--db", db])
    assert r.returncode == 0 and "id 1" in r.stdout
    engine = make_engine(db)
    assert authenticate(engine, "first", "long-enough").role == "therapist"
    assert _cli(["db", "migrate", "--db", db]).returncode == 0
