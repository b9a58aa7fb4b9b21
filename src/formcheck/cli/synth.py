"""``formcheck synth``: render synthetic exercise videos with exact ground truth."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        exercise: str = typer.Argument(..., help="Exercise id (e.g. wall_squat); 'fixtures' regenerates the "
                                       "committed test set, 'bench-set' the larger benchmark set, 'list' shows "
                                       "exercises and variants."),
        variant: str = typer.Option("correct", "--variant", help="correct, or a fault / deviation name."),
        view: str = typer.Option("side", "--view", help="side, oblique, oblique_back or front."),
        seed: int = typer.Option(0, "--seed", help="Same seed, same bytes."),
        out: Path = typer.Option(Path("out/synth"), "--out", help="Output directory (<exercise>__<variant>__<view>"
                                 ".mp4 + .json)."),
        width: int = typer.Option(480, "--width"),
        height: int = typer.Option(360, "--height"),
        fps: float = typer.Option(None, "--fps", help="Frames per second (default: 10 for long holds, else 15)."),
        placement: str = typer.Option(None, "--placement", help="Laptop on the table, chair or floor (default "
                                      "depends on the exercise)."),
        side: str = typer.Option(None, "--side", help="Working side: left or right (default: drawn from the "
                                 "seed)."),
        only: str = typer.Option(None, "--only", help="With 'fixtures'/'bench-set': only stems containing this."),
    ) -> None:
        """Render an exercise clip of a synthetic person with its ground-truth sidecar."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from formcheck.errors import InputError
        from formcheck.synth import VARIANTS, ClipSpec, render_clip

        if exercise == "list":
            for ex, vs in VARIANTS.items():
                typer.echo(f"{ex}: {', '.join(vs)}")
            return
        if exercise in ("fixtures", "bench-set"):
            from formcheck.synth.fixtures import bench_specs, fixture_specs

            specs = fixture_specs() if exercise == "fixtures" else bench_specs()
            if only:
                specs = [s for s in specs if only in s.stem]
                if not specs:
                    raise InputError(f"--only {only!r} matches no clip of the {exercise} set")
        else:
            specs = [ClipSpec(exercise, variant, view, seed=seed, size=(width, height), fps=fps,
                              placement=placement, side=side)]
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeRemainingColumn()) as bar:
            for spec in specs:
                task = bar.add_task(spec.stem, total=None)

                def progress(i: int, n: int, task=task) -> None:
                    bar.update(task, completed=i, total=n)

                path = render_clip(spec, out, progress=progress)
                log.info("wrote %s", path)
        typer.echo(f"wrote {len(specs)} clip(s) to {out}")
