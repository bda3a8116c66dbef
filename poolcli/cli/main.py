"""The `poolcli` group, and the one edge where everything a command raises becomes a line on stderr and an exit status.

A library ValueError or OSError is one line and :attr:`ExitStatus.FAILURE`;
bad usage (click's, or the library's :class:`OptionError`) one line naming
the help to read and :attr:`ExitStatus.USAGE`; Ctrl-C or SIGTERM
:attr:`ExitStatus.INTERRUPTED`; a closed pipe ends quietly. ``--debug``
(:func:`options.debug_option`) shows the full traceback instead.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from .. import __version__
from ..specs import OptionError
from ..status import ExitStatus, end_now
from .batch import batch
from .options import CONTEXT
from .pool import pool
from .terminal import quiet_broken_pipe
from .unpool import unpool
from .views import demo, explain, filters, show, summary

__all__ = ["ExitStatus", "Group", "main"]


class Group(click.Group):
    """The poolcli group: every error, usage errors included, is one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; what the library raises becomes click's exceptions, which :meth:`main` says."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            quiet_broken_pipe()
            ctx.exit(ExitStatus.OK)
        except OptionError as exc:
            raise click.UsageError(str(exc)) from None
        except (ValueError, OSError, MemoryError) as exc:
            if ctx.meta.get("poolcli.debug"):
                raise
            raise click.ClickException(_message(exc)) from None

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        with _signals_end_at_once():
            try:
                status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except click.ClickException as exc:
                status = self._say(exc, args, prog_name)
            except click.Abort:
                click.echo("poolcli: interrupted", err=True)
                status = ExitStatus.INTERRUPTED
        sys.exit(status if isinstance(status, int) else ExitStatus.OK)

    def _say(self, exc: click.ClickException, args: list[str] | None, prog_name: str | None) -> int:
        """Say an error in one line; return its exit status."""
        if not isinstance(exc, click.UsageError):
            click.echo(f"poolcli: error: {exc.format_message()}", err=True)
            return exc.exit_code
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `poolcli`: the help, as click shows it
            click.echo(exc.format_message(), err=True)
            return exc.exit_code
        if exc.ctx is not None:
            where = exc.ctx.command_path
        else:  # raised by a command, or an option's missing value found before the command's context exists
            argv = list(args) if args is not None else sys.argv[1:]
            sub = f" {argv[0]}" if argv and argv[0] in self.commands else ""
            where = f"{prog_name or 'poolcli'}{sub}"
        click.echo(f"poolcli: error: {exc.format_message()} (see '{where} --help')", err=True)
        return exc.exit_code


def _message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller input, or a lower --max-pixels to refuse such inputs early"
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror.lower()}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@contextmanager
def _signals_end_at_once() -> Iterator[None]:
    """Ctrl-C and SIGTERM end a command at once: its temporary files are removed, exit INTERRUPTED.

    (batch installs its own handlers while it runs, to stop its workers and print the summary.)
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _end_now) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _end_now(signum: int, frame: object) -> None:
    # not a KeyboardInterrupt: raised at an arbitrary point (inside an import, a __set_name__, a finally)
    # it can come out as another exception or a traceback
    end_now()


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="poolcli")
def main() -> None:
    """Max, average, min, sum and LP pooling of images and matrices, as Keras and PyTorch define them.

    \b
    Examples:
      poolcli pool sample_images/digit7.png -o pooled.png
      poolcli pool sample_images/seven_conv_26x26.txt -k 2 -s 2
      poolcli pool a.csv | poolcli pool - -m avg
    """


for _command in (pool, unpool, filters, show, explain, summary, demo, batch):
    main.add_command(_command)
