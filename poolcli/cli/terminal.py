"""What the commands print, and where: notes on stderr, views in rich consoles, and a closed pipe met quietly."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

__all__ = ["colour_on", "note", "quiet_broken_pipe", "stderr_console", "stdout_console"]


def note(quiet: bool, message: object) -> None:
    """Say ``message`` (a note) on stderr, unless ``quiet``."""
    if not quiet:
        # nobody may read stderr any more: the work goes on, only stdout decides how it ends
        with contextlib.suppress(BrokenPipeError, OSError):
            click.echo(f"poolcli: {message}", err=True)


def quiet_broken_pipe() -> None:
    """The reader went away (| head): stop writing, and keep Python's exit-time flush quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _console(stderr: bool, color: bool | None) -> Any:
    from rich.console import Console

    class QuietConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            if stderr:
                return  # messages nobody reads: the work goes on (rich would exit 1)
            # the reader of the output went away (| head): end quietly with 0, as `pool` does
            quiet_broken_pipe()
            raise SystemExit(0)

    return QuietConsole(
        stderr=stderr, force_terminal=color, no_color=None if color is None else not color, highlight=False
    )


def stderr_console(color: bool | None = None) -> Any:
    return _console(True, color)


def stdout_console(color: bool | None = None) -> Any:
    return _console(False, color)


def colour_on(console: Any) -> bool:
    """Whether views should be styled: a colour terminal, NO_COLOR unset (or --color)."""
    return console.color_system is not None and not console.no_color
