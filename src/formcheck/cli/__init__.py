"""The ``formcheck`` command line.

Each group of commands lives in its own module and registers itself on ``app`` through
``register(app)``; heavy imports happen inside the commands, so ``formcheck --help`` is fast.
"""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from formcheck.errors import FormcheckError

app = typer.Typer(
    name="formcheck",
    help="Exercise form checking for low back pain: pose estimation, reps, holds and harmful-posture flags, "
    "all on this computer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show diagnostic logging.")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _register_all() -> None:
    from importlib import import_module

    for name in ("demo", "pose", "synth", "analyze", "live", "db"):
        try:
            mod = import_module(f"formcheck.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"formcheck.cli.{name}":
                continue  # command group not built yet
            raise
        mod.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and turns user errors into one clear line."""
    _register_all()
    try:
        app(args=argv, standalone_mode=False)
    except FormcheckError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


def run() -> None:
    sys.exit(main())
