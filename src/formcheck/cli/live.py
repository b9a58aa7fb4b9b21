"""``formcheck live``: coaching from the webcam (or a video file played as a camera)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)



def _window_available() -> str | None:
    """None when OpenCV can open a window here, else why not (one line)."""
    import os

    import cv2

    info = cv2.getBuildInformation()
    gui = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.strip().startswith("GUI:")), "")
    if gui.upper() == "NONE":
        return ("this OpenCV has no window support (opencv-python-headless is installed): "
                "`pip install opencv-python` (needs libGL: `apt-get install libgl1`), or run with --headless")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display to open a window on (DISPLAY is not set): run with --headless"
    return None


def _ask_pain(label: str) -> int | None:
    if not sys.stdin.isatty():
        return None
    from formcheck.live.safety import check_pain

    raw = typer.prompt(f"{label} (0 = none, 10 = worst; Enter to skip)", default="", show_default=False)
    return None if str(raw).strip() == "" else check_pain(raw, label.lower().replace(" ", "_"))


def _print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="formcheck live session", title_justify="left")
    for col in ("exercise", "reps", "holds", "faults", "form", "ended"):
        table.add_column(col)
    for ex in summary["exercises"]:
        res = ex.get("result") or {}
        target = res.get("reps_target")
        reps = f"{res.get('rep_count', 0)}" + (f" / {target}" if target else "")
        holds = res.get("holds") or []
        holds_txt = f"{sum(1 for h in holds if h.get('completed'))} / {len(holds)}" if holds else "-"
        faults = res.get("faults") or []
        faults_txt = ", ".join(sorted({f.get("id", "?") for f in faults})) or "-"
        score = res.get("form_score")
        table.add_row(ex["exercise"] + (f" ({ex['side']})" if ex.get("side") else ""), reps, holds_txt,
                      faults_txt, "-" if score is None else f"{score:.0f}", ex.get("end_reason") or "-")
    console.print(table)
    safety = summary.get("safety", {})
    if safety.get("pain_before") is not None or safety.get("pain_after") is not None:
        console.print(f"pain before {safety.get('pain_before', '-')}/10, after {safety.get('pain_after', '-')}/10")
    for adv in safety.get("advice", []):
        console.print(f"[bold red]advice:[/] {adv['message']}", highlight=False)
    run = summary.get("run", {})
    if run:
        console.print(f"frames processed {run['processed']}, dropped {run['dropped']}, latency p50 "
                      f"{run['latency_p50_ms']:.0f} ms, p95 {run['latency_p95_ms']:.0f} ms; ended: "
                      f"{summary.get('end_reason')}", highlight=False)


def live(
    exercise: Annotated[str | None, typer.Option("--exercise", "-e", help="Exercise id (see the exercise specs).")]
    = None,
    level: Annotated[str | None, typer.Option("--level", help="Program mode: every exercise of a level (beginning, "
                                              "intermediate, advanced, core) in sequence with rests.")] = None,
    camera: Annotated[int, typer.Option("--camera", help="Webcam index.")] = 0,
    video: Annotated[Path | None, typer.Option("--video", help="Play this video file as the camera.")] = None,
    side: Annotated[str | None, typer.Option("--side", help="left | right for one-sided exercises.")] = None,
    voice: Annotated[bool, typer.Option("--voice/--no-voice", help="Speak cues (espeak-ng, if installed).")] = True,
    headless: Annotated[bool, typer.Option("--headless", help="No window: print the summary only.")] = False,
    setup: Annotated[bool, typer.Option("--setup/--skip-setup", help="Guide the camera setup and count down "
                                        "first.")] = True,
    rest: Annotated[float, typer.Option("--rest", help="Rest between exercises in program mode, seconds.")] = 30.0,
    pain_before: Annotated[int | None, typer.Option("--pain-before", help="Pain now, 0-10 (asked if omitted).")]
    = None,
    pain_after: Annotated[int | None, typer.Option("--pain-after", help="Pain after, 0-10 (asked if omitted).")]
    = None,
    realtime: Annotated[bool, typer.Option("--realtime/--every-frame", help="With --video: play at real speed "
                                           "dropping frames when slow (like a camera), or process every "
                                           "frame.")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the session summary as JSON here.")] = None,
) -> None:
    """Live coaching: skeleton, key angle, rep counter, hold countdown, cues; a summary on exit."""
    import json

    from formcheck.errors import InputError
    from formcheck.live.coach import LiveCoach, LiveOptions
    from formcheck.live.program import Program
    from formcheck.live.safety import check_pain
    from formcheck.live.session import run_live
    from formcheck.live.sources import FileCamera, WebcamSource
    from formcheck.live.voice import make_voice

    if (exercise is None) == (level is None):
        raise InputError("give either --exercise ID or --level LEVEL")
    if not headless:
        why = _window_available()
        if why:
            raise InputError(why)
    from formcheck.exercises import load_spec

    program = Program.single(exercise, side=side) if exercise else Program.level(level, rest_s=rest)
    for step in program.steps:
        load_spec(step.exercise)  # an unknown exercise is reported before the camera opens
    before = check_pain(pain_before, "pain_before") if pain_before is not None else _ask_pain("Pain now")
    source = FileCamera(video, realtime=realtime) if video else WebcamSource(camera)
    coach = LiveCoach(program, LiveOptions(setup=setup))
    on_output = None
    if not headless:
        import cv2

        window = "formcheck live (p pause, n next, q quit)"
        # resizable, without Qt's zoom/save toolbar; sized to the first frame below (Qt opens it at 400x300
        # and would shrink the overlay's text)
        cv2.namedWindow(window, cv2.WINDOW_NORMAL | cv2.WINDOW_GUI_NORMAL)
        sized = []

        def on_output(out, coach_):
            if out.image is not None:
                if not sized:
                    cv2.resizeWindow(window, out.image.shape[1], out.image.shape[0])
                    sized.append(True)
                cv2.imshow(window, out.image)
            key = cv2.waitKey(1) & 0xFF
            if key in (ord("q"), 27):
                coach_.stop(out.t, "quit")
                return False
            if key == ord("p"):
                coach_.toggle_pause(out.t)
            elif key == ord("n"):
                coach_.next_exercise(out.t, "next")
            elif ord("0") <= key <= ord("9"):
                coach_.report_pain(key - ord("0"), out.t)
            return None

    def ask_after() -> int | None:
        if not headless:
            import cv2

            cv2.destroyAllWindows()
        if pain_after is not None:
            return check_pain(pain_after, "pain_after")
        return _ask_pain("Pain after the session")

    result = run_live(source, program, engine=None, voice=make_voice(voice), drop=realtime or video is None,
                      render=not headless, pain_before=before, on_output=on_output, coach=coach,
                      pain_after=ask_after)
    summary = result.summary
    _print_summary(summary)
    if json_out is not None:
        json_out.write_text(json.dumps(summary, indent=2, default=float))


def register(app: typer.Typer) -> None:
    app.command("live", help="Live coaching from the webcam: overlay, counts, voice cues, safe stopping. "
                "Window keys: p pause/resume, n next exercise, 0-9 report pain now, q or Esc stop.")(live)
