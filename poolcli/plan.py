"""Where a run writes, checked before anything is read: the paths, the formats, the terminal.

:func:`plan_outputs` refuses outputs that contradict each other or the input
(:class:`OptionError`, a usage error) and destinations that cannot be written
(:class:`OutputError`), so that `pool` fails before it reads a byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import formats
from .engine.reductions import REDUCTIONS, reduction
from .formats.errors import OutputError
from .formats.files import check_destination, same_file
from .specs import OptionError, PoolSpec

__all__ = ["OutputPlan", "plan_outputs", "resolve_format"]


@dataclass(frozen=True)
class OutputPlan:
    """Where a run writes, checked: the result's destination and format, and the indices'."""

    destination: str | None  # a path or "-"; None: nothing is written (the result is shown as a table)
    fmt: str | None
    indices: str | None
    indices_fmt: str | None

    @property
    def formats(self) -> set[str]:
        """The formats written ("table" for the result shown on a terminal)."""
        return {self.fmt or "table"} | ({self.indices_fmt} if self.indices_fmt else set())


def plan_outputs(
    source: str,
    output: str,
    spec: PoolSpec,
    *,
    to: str | None = None,
    indices: str | None = None,
    terminal: bool = False,
) -> OutputPlan:
    """Check where the outputs go, before any input is read or any file written.

    ``output`` is a path or ``-`` (stdout, a terminal when ``terminal``: with
    no ``to`` the result is then shown, not written); ``indices`` the path
    for the indices, if asked. Raises :class:`OptionError` for paths and
    options that contradict each other (an output that is the input, a
    binary format for a terminal ...) and :class:`OutputError` for a
    destination that cannot be written (a missing folder ...).
    """
    rec = reduction(spec.window.mode)
    if indices is not None and not rec.indices:
        modes = " or ".join(r.name for r in REDUCTIONS.values() if r.indices)
        raise OptionError(f"--indices applies to --mode {modes}, not {rec.name}")
    if same_file(source, output):
        raise OptionError(f"output {output} is the input; choose another path")
    if indices is not None and same_file(source, indices):
        raise OptionError(f"--indices {indices} is the input; choose another path")
    for path in (output, indices):
        if path not in (None, "-"):
            check_destination(path)
    table = output == "-" and to is None and terminal
    fmt = None
    if not table:
        try:
            fmt = resolve_format(output, to)
        except OutputError as exc:
            raise OptionError(str(exc)) from None
        if output == "-" and formats.writer_for(fmt).binary and terminal:
            raise OptionError(f"refusing to write {fmt.upper()} to a terminal; use -o FILE or redirect stdout")
        if spec.volume and not formats.writer_for(fmt).volume:
            where, hint = ("stdout", " (give -o FILE or --to)") if output == "-" else (output, "")
            raise OptionError(
                f"{where}: {formats.writer_for(fmt).label} holds no volume; {formats.volume_formats()}{hint}"
            )
    indices_fmt = None
    if indices is not None:
        indices_fmt = formats.format_for_path(indices) if indices != "-" else "csv"
        if (
            indices_fmt is None or formats.writer_for(indices_fmt).dtypes
        ):  # indices are int64: only exact writers hold them
            exact = [f".{f}" for f, w in formats.WRITERS.items() if not w.dtypes]
            raise OptionError(f"--indices {indices}: indices are written as {', '.join(exact[:-1])} or {exact[-1]}")
        if spec.volume and not formats.writer_for(indices_fmt).volume:
            raise OptionError(f"--indices {indices}: a volume's indices are written as .npy")
        if same_file(indices, output):
            raise OptionError(f"--indices {indices} and -o {output} are the same file; give two paths")
        if indices == "-" and output == "-":
            raise OptionError("--indices - and the result cannot both go to stdout; give -o or an --indices file")
    return OutputPlan(None if table else output, fmt, indices, indices_fmt)


def resolve_format(output: str, to: str | None) -> str:
    """Return the output format: ``to`` if given, else the extension's; CSV on stdout."""
    if to:
        formats.writer_for(to)  # a format no writer is registered for is refused here
        return to.lower()
    if output == "-":
        return "csv"
    fmt = formats.format_for_path(output)
    if fmt is None:
        ext = os.path.splitext(output)[1] or "(none)"
        raise OutputError(
            f"{output}: unknown output extension {ext}; use one of "
            f"{', '.join('.' + f for f in formats.OUTPUT_FORMATS)} or choose with --to"
        )
    return fmt
