"""``formcheck demo``: the main job on the bundled defaults.

Analyses a bundled rendered fixture video (a wall squat with exact ground truth), writes the annotated
video and the reports, stores the session for the demo patient in the embedded SQLite database (creating
the demo therapist and patient the first time) and prints a summary.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from formcheck.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_VIDEO = "wall_squat__correct__side.mp4"


def _fixture_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "videos"


def demo(
    video: Path | None = typer.Option(None, "--video", help=f"Video to analyse [default: bundled {DEFAULT_VIDEO}]."),
    exercise: str = typer.Option("wall_squat", "--exercise", "-e", help="Exercise id of the video."),
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Output directory."),
    db: str | None = typer.Option(None, "--db", help="Database URL or SQLite file [default: formcheck-data/formcheck.db]."),
) -> None:
    """Run the main job on the bundled defaults: analyse a fixture video, store it, print a summary."""

    from formcheck.analysis import resolve_exercise
    from formcheck.cli.analyze import _print_summary, _stdout_console, run_analysis, store_result
    from formcheck.storage import make_engine, migrate
    from formcheck.storage.demo import DEMO_PATIENT, DEMO_THERAPIST, seed_demo

    video = video if video is not None else _fixture_dir() / DEFAULT_VIDEO
    if not video.is_file():
        raise InputError(f"{video}: the bundled fixture video is missing (regenerate it: see "
                         "tests/fixtures/videos/README.md) or pass --video FILE")
    spec = resolve_exercise(exercise)
    engine = make_engine(db)
    migrate(engine)
    patient_id = _demo_patient(engine, seed_demo, DEMO_PATIENT[0])

    result, files = run_analysis(video, spec, out)
    console = _stdout_console()
    _print_summary(console, result.document, files, result.timings)
    session_id = store_result(engine, patient_id, result, None, files.result_json.parent)
    console.print(f"stored as session {session_id} of the demo patient in {engine.url.render_as_string()}")
    console.print("dashboard: [bold]make app[/] (or `streamlit run streamlit_app.py`), then sign in as "
                  f"[bold]{DEMO_THERAPIST[0]}[/] / {DEMO_THERAPIST[1]} (therapist) or "
                  f"[bold]{DEMO_PATIENT[0]}[/] / {DEMO_PATIENT[1]} (patient)", highlight=False)


def _demo_patient(engine, seed_demo, patient_username: str) -> int:  # noqa: ANN001
    """The demo patient's id, seeding the demo accounts and sessions the first time."""
    from sqlalchemy import select

    from formcheck.storage.db import read_session
    from formcheck.storage.models import Patient, User

    def find() -> int | None:
        with read_session(engine) as s:
            return s.scalar(select(Patient.id).join(User, Patient.user_id == User.id)
                            .where(User.username == patient_username))

    pid = find()
    if pid is None:
        seed_demo(engine)
        pid = find()
    assert pid is not None
    return pid


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
