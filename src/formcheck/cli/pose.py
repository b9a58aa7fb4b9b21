"""``formcheck pose VIDEO --out FILE``: landmarks of the person in a video, written as ``.npz``."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger(__name__)


def pose(
    video: Path = typer.Argument(..., help="Video file (mp4, mov, mkv, webm, ...)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                       help="Landmark file to write (.npz); default: out/<video>.pose.npz."),
    max_side: int | None = typer.Option(None, "--max-side", min=16,
                                           help="Downscale frames so the longer side is at most this many "
                                                "pixels before pose estimation."),
    no_smooth: bool = typer.Option(False, "--no-smooth", help="Switch off landmark smoothing."),
    no_tracking: bool = typer.Option(False, "--no-tracking",
                                     help="Run the person detector on every frame (slower)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads for inference."),
    models: Path | None = typer.Option(None, "--models", envvar="FORMCHECK_MODELS",
                                          help="Folder holding the ONNX pose models (default: models/)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Find the person's 33 body landmarks in every frame of VIDEO (on this computer, nothing uploaded)."""
    from rich.console import Console

    from formcheck.errors import InputError
    from formcheck.pose import PoseEngine, PoseOptions, estimate_video

    out = out or Path("out") / f"{video.stem}.pose.npz"
    if out.suffix.lower() != ".npz":
        raise InputError(f"--out {out}: expected a .npz file name")
    engine = PoseEngine(PoseOptions(models_dir=models, smooth=not no_smooth, tracking=not no_tracking,
                                    threads=threads))
    info: dict = {}
    seq = estimate_video(video, engine, progress=not quiet, max_side=max_side, info=info)
    out.parent.mkdir(parents=True, exist_ok=True)
    seq.save(out)
    n = len(seq)
    found = int(seq.found.sum())
    speed = n / info["wall_s"] if info.get("wall_s") else float("nan")
    w, h = seq.image_size
    note = f"; video truncated after frame {n} ({info['error']})" if info.get("truncated") else ""
    Console().print(f"{video.name}: {n} frames {w}x{h}, person found in {found} ({100 * found / max(n, 1):.1f}%), "
                    f"{speed:.1f} frames/s -> {out}{note}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("pose", help="Estimate body landmarks in a video and save them (.npz).")(pose)
