"""``formcheck db init|migrate|status``, ``formcheck users add``, ``formcheck patients add|list``,
``formcheck demo-data``: the database from the command line."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

log = logging.getLogger(__name__)
console = Console()

DB_OPTION = typer.Option(None, "--db", envvar="FORMCHECK_DB_URL",
                         help="Database URL or SQLite file (default: formcheck-data/formcheck.db).")

db_app = typer.Typer(help="Create or upgrade the database.", no_args_is_help=True)
users_app = typer.Typer(help="Sign-in accounts for the dashboard.", no_args_is_help=True)
patients_app = typer.Typer(help="Patients (of a therapist account).", no_args_is_help=True)


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from formcheck.storage.db import make_engine

    return make_engine(db)


def _ready_engine(db: str | None):  # type: ignore[no-untyped-def]
    from formcheck.storage.db import check_schema

    engine = _engine(db)
    check_schema(engine)
    return engine


@db_app.command("init")
def db_init(db: str | None = DB_OPTION) -> None:
    """Create the database (or upgrade it) to the current schema."""
    from formcheck.storage.db import head_revision, migrate
    from formcheck.storage.repo import mark_stale_sessions_interrupted

    engine = _engine(db)
    rev = migrate(engine)
    mark_stale_sessions_interrupted(engine)
    console.print(f"database ready at {engine.url.render_as_string()} (schema {rev}, latest {head_revision()})")


@db_app.command("migrate")
def db_migrate(
    db: str | None = DB_OPTION,
    revision: str = typer.Option("head", help="Target schema revision (default: the latest)."),
) -> None:
    """Upgrade the database schema (keeps all data); closes sessions a crash left open."""
    from formcheck.storage.db import current_revision, migrate
    from formcheck.storage.repo import mark_stale_sessions_interrupted

    engine = _engine(db)
    before = current_revision(engine)
    after = migrate(engine, revision)
    n = mark_stale_sessions_interrupted(engine)
    console.print(f"schema {before or 'empty'} -> {after}" + (f"; {n} interrupted session(s) closed" if n else ""))


@db_app.command("status")
def db_status(db: str | None = DB_OPTION) -> None:
    """Show the database URL and schema revision."""
    from formcheck.storage.db import current_revision, head_revision

    engine = _engine(db)
    rev = current_revision(engine)
    head = head_revision()
    state = "up to date" if rev == head else ("empty: run `formcheck db init`" if rev is None
                                               else "out of date: run `formcheck db migrate`")
    console.print(f"{engine.url.render_as_string()}: schema {rev or '-'} (latest {head}), {state}")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
    else:
        pw = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return pw


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Option(..., "--role", help="therapist or patient."),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the user name)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    patient: int | None = typer.Option(None, "--patient",
                                       help="For a patient account: the patient record it may see."),
    db: str | None = DB_OPTION,
) -> None:
    """Add an account (e.g. the first therapist). The password is prompted for, never an argument."""
    from formcheck.errors import FieldError
    from formcheck.storage.auth import check_password_strength, create_user, principal_for_user
    from formcheck.storage.db import write_session
    from formcheck.storage.models import Patient

    if role not in ("therapist", "patient"):
        raise FieldError("--role", "therapist or patient", role)
    if patient is not None and role != "patient":
        raise FieldError("--patient", "only with --role patient", patient)
    engine = _ready_engine(db)
    pw = _read_password(password_stdin)
    check_password_strength(pw)
    uid = create_user(engine, username, pw, role, display_name=name)
    if patient is not None:
        with write_session(engine) as s:
            p = s.get(Patient, patient)
            if p is None:
                raise FieldError("--patient", "an existing patient id", patient)
            p.user_id = uid
    principal = principal_for_user(engine, uid)
    console.print(f"added {role} {principal.username!r} (id {uid})")


@patients_app.command("add")
def patients_add(
    name: str = typer.Argument(..., help="Patient's display name."),
    therapist: str = typer.Option(..., "--therapist", help="User name of the treating therapist."),
    db: str | None = DB_OPTION,
) -> None:
    """Add a patient under a therapist; prints the patient id (for `formcheck analyze --patient ID`)."""
    from sqlalchemy import select

    from formcheck.errors import FieldError
    from formcheck.storage.auth import principal_for_user
    from formcheck.storage.db import read_session
    from formcheck.storage.models import User
    from formcheck.storage.repo import create_patient

    engine = _ready_engine(db)
    with read_session(engine) as s:
        uid = s.scalar(select(User.id).where(User.username == therapist.strip().lower(), User.role == "therapist"))
    if uid is None:
        raise FieldError("--therapist", "the user name of a therapist account", therapist)
    pid = create_patient(engine, principal_for_user(engine, uid), name)
    console.print(f"added patient {name!r} with id {pid}")


@patients_app.command("list")
def patients_list(db: str | None = DB_OPTION) -> None:
    """List all patients with their therapist (local administration)."""
    from rich.table import Table
    from sqlalchemy import select

    from formcheck.storage.db import read_session
    from formcheck.storage.models import Patient

    engine = _ready_engine(db)
    table = Table("id", "patient", "therapist", "account")
    with read_session(engine) as s:
        for p in s.scalars(select(Patient).order_by(Patient.id)):
            table.add_row(str(p.id), p.display_name, p.therapist.username, p.user.username if p.user else "-")
    console.print(table)


def demo_data(
    db: str | None = DB_OPTION,
    seed: int = typer.Option(7, help="Random seed for the invented sessions."),
) -> None:
    """Seed a demo therapist (therapist / demo-therapist), a demo patient (patient / demo-patient) and
    three weeks of invented sessions, so the dashboard has something to show."""
    from formcheck.storage.db import migrate
    from formcheck.storage.demo import DEMO_PATIENT, DEMO_THERAPIST, seed_demo

    engine = _engine(db)
    migrate(engine)
    with console.status("creating demo data"):
        acc = seed_demo(engine, seed=seed)
    console.print(
        f"demo data ready in {engine.url.render_as_string()}: sign in as {DEMO_THERAPIST[0]!r} / "
        f"{DEMO_THERAPIST[1]!r} (therapist) or {DEMO_PATIENT[0]!r} / {DEMO_PATIENT[1]!r} "
        f"(patient {acc.patient_id}); start the dashboard with `streamlit run streamlit_app.py`"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(patients_app, name="patients")
    app.command("demo-data")(demo_data)
