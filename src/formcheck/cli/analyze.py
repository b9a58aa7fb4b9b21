"""``formcheck analyze`` (review a recorded session) and ``formcheck exercises`` (list the specs)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import typer

from formcheck.errors import InputError, VideoError

log = logging.getLogger(__name__)


class PartialVideoError(VideoError):
    """The video could not be read to the end: results for the readable part were written (exit 3)."""

    exit_code = 3


def _default_out(video: Path, exercise: str) -> Path:
    return Path("out") / f"{video.stem}-{exercise}"


def _stdout_console():  # -> rich Console
    """stdout console; when piped or captured, wide enough that tables and messages do not wrap."""
    from rich.console import Console

    c = Console()
    return c if c.is_terminal else Console(width=160)


def _clock(s: float) -> str:
    m, sec = divmod(max(0.0, s), 60)
    return f"{int(m)}:{sec:04.1f}"


def analyze(
    video: Path = typer.Argument(..., help="Video of the session (MP4, MOV, ...).", show_default=False),
    exercise: str = typer.Option(..., "--exercise", "-e", help="Exercise id (see `formcheck exercises`)."),
    side: str | None = typer.Option(None, "--side", help="Side exercised for one-sided exercises: left|right."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                       help="Output directory [default: out/<video>-<exercise>]."),
    json_file: Path | None = typer.Option(None, "--json", help="Also write result.json to this file."),
    no_video: bool = typer.Option(False, "--no-video", help="Do not write the annotated video (faster)."),
    max_side: int = typer.Option(1280, "--max-side", help="Downscale frames to this longer side first."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print the report to report.pdf (needs Chromium)."),
    patient: int | None = typer.Option(None, "--patient",
                                       help="Store the result for this patient id in the database "
                                            "(FORMCHECK_DB_URL or formcheck-data/formcheck.db)."),
    db: str | None = typer.Option(None, "--db", help="Database URL or SQLite file for --patient."),
) -> None:
    """Analyse a recorded session: reps, holds, faults, annotated video and a report for the therapist."""
    from formcheck.analysis import resolve_exercise

    if side is not None and side not in ("left", "right"):
        raise InputError(f"--side: expected 'left' or 'right', got '{side}'")
    spec = resolve_exercise(exercise)  # unknown id: one line with the closest match
    engine = None
    if patient is not None:  # check the database before spending minutes on the video
        from formcheck.storage import make_engine
        from formcheck.storage.db import check_schema

        engine = make_engine(db)
        check_schema(engine)
    result, files = run_analysis(video, spec, out, side=side, json_file=json_file, no_video=no_video,
                                 max_side=max_side, pdf=pdf)
    out_dir = files.result_json.parent
    console = _stdout_console()
    _print_summary(console, result.document, files, result.timings)
    if engine is not None:
        session_id = store_result(engine, patient, result, video if not no_video else None, out_dir)
        console.print(f"stored as session {session_id} of patient {patient}")
    if result.partial:
        raise PartialVideoError(f"{video}: could not be read to the end; results for the first "
                                f"{result.document.video.duration_s:.1f} s were written to {out_dir} (partial)")


def run_analysis(video: Path, spec, out: Path | None, *, side: str | None = None,  # noqa: ANN001
                 json_file: Path | None = None, no_video: bool = False, max_side: int = 1280,
                 pdf: bool = False):  # noqa: ANN201 - (AnalysisResult, ReportFiles)
    """Analyse ``video`` with a progress bar and write every report into the output directory."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from formcheck.analysis import AnalysisOptions, analyze_video
    from formcheck.report import check_writable_dir, write_reports

    if not video.exists():
        raise InputError(f"{video}: no such file")
    out_dir = check_writable_dir(out if out is not None else _default_out(video, spec.id))
    if json_file is not None and json_file.parent != Path(""):
        check_writable_dir(json_file.parent)
    video_path = None if no_video else out_dir / "annotated.mp4"

    err = Console(stderr=True)
    with Progress(TextColumn("[bold]analysing[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
                  TimeRemainingColumn(), console=err, transient=True) as progress:
        task = progress.add_task("analyse", total=None)

        def on_progress(done: int, total: int) -> None:
            if done % 5 == 0 or done == total:
                progress.update(task, completed=done, total=total)

        opts = AnalysisOptions(max_side=max_side, video_path=video_path, progress=on_progress)
        result = analyze_video(video, spec, side=side, options=opts)  # type: ignore[arg-type]
    files = write_reports(result.document, out_dir, series=result.series, thumbnails=result.thumbnails,
                          video=result.video_path, json_path=json_file)
    if pdf:
        from formcheck.report import export_pdf

        files = dataclasses.replace(files, pdf=export_pdf(files.report_html, out_dir / "report.pdf"))
    return result, files


def store_result(engine, patient_id: int, result, video: Path | None, out_dir: Path) -> int:  # noqa: ANN001
    """Store an analysis for a patient (the video itself is referenced, never copied)."""
    from formcheck.storage import store_analysis

    series = t = None
    if result.series is not None:
        series = {result.series.name: result.series.values.tolist()}
        t = result.series.t.tolist()
    return store_analysis(engine, patient_id, result, video_path=video, report_dir=out_dir,
                          series=series, series_t=t)


def _print_summary(console, doc, files, timings) -> None:
    from rich.table import Table

    p = doc.prescription
    title = f"[bold]{doc.exercise_name or doc.exercise}[/]" + (f" ({doc.side})" if doc.side else "")
    console.print(title + f" - {doc.video.path}, {_clock(doc.video.duration_s)}")
    if doc.partial:
        console.print("[yellow]partial:[/] the video could not be read to the end; results cover the readable "
                      "part only")
    reps = f"{doc.rep_count}" + (f" / {p.reps} prescribed" if p.reps else "")
    console.print(f"reps completed: [bold]{reps}[/] ({len(doc.reps)} attempted)")
    if doc.holds:
        done = sum(h.completed for h in doc.holds)
        times = ", ".join(f"{h.duration_s:.1f}" for h in doc.holds)
        console.print(f"holds: {done} / {len(doc.holds)} reached {p.hold_s or 0:g} s (held: {times} s)")
    score = "-" if doc.form_score is None else f"{doc.form_score:.0f} / 100"
    console.print(f"form score: [bold]{score}[/]")
    if doc.reps:
        t = Table(show_header=True, header_style="bold", box=None)
        for c in ("#", "start", "end", "peak", "hold s", "complete", "score", "faults"):
            t.add_column(c)
        for r in doc.reps:
            t.add_row(str(r.index), _clock(r.start_s), _clock(r.end_s),
                      "-" if r.peak is None else f"{r.peak:.0f}", "-" if r.hold_s is None else f"{r.hold_s:.1f}",
                      "[green]yes[/]" if r.complete else "[dim]no[/]",
                      "-" if r.form_score is None else f"{r.form_score:.0f}", ", ".join(r.faults))
        console.print(t)
    if doc.faults:
        console.print(f"faults ({len(doc.faults)}):")
        colour = {"harmful": "red", "warning": "yellow", "info": "blue"}
        for f in doc.faults:
            console.print(f"  {_clock(f.start_s)}-{_clock(f.end_s)} [{colour[f.severity]}]{f.severity}[/] "
                          f"{f.id}: {f.message}", highlight=False)
        if any(f.severity == "harmful" for f in doc.faults):
            console.print("[red]Harmful posture detected: if any exercise worsens the pain or causes new pain, "
                          "stop.[/]")
    else:
        console.print("faults: none")
    for w in doc.warnings:
        console.print(f"[yellow]note:[/] {w}", highlight=False)
    written = [files.report_html, files.result_json, files.reps_csv] + [x for x in (files.video, files.pdf, files.extra_json)
                                                                        if x is not None]
    console.print("written: " + ", ".join(str(x) for x in written), highlight=False)
    if timings.get("total_s"):
        speed = doc.video.duration_s / timings["total_s"]
        log.info("analysed %.1f s of video in %.1f s (%.2fx real time)", doc.video.duration_s,
                 timings["total_s"], speed)


def exercises() -> None:
    """List the exercises formcheck knows, with their prescriptions."""
    from rich.table import Table

    from formcheck.exercises import list_specs

    t = Table(show_header=True, header_style="bold")
    t.add_column("id", no_wrap=True)
    for c in ("name", "level", "prescription", "camera"):
        t.add_column(c)
    for s in list_specs():
        p = s.prescription
        presc = f"{p.reps} reps" + (" each side" if p.per_side or s.sides == "each_side" else "")
        if p.sets > 1:
            presc = f"{p.sets} x {presc}"
        if p.hold_s:
            presc += f", hold {p.hold_s:g} s"
        t.add_row(s.id, s.name, s.level, presc, ", ".join(s.camera.views))
    _stdout_console().print(t)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("exercises")(exercises)
