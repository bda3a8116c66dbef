"""The pooling modes as data: one :class:`Reduction` record per mode.

The engine, ``explain`` and the command line read these records instead of
branching on a mode's name, so a new mode is one record (and its tests).
Importable without numpy: the command line builds ``--mode`` and its help
from this table before numpy is loaded.

>>> reduction("Mean").name
'avg'
>>> [r.name for r in REDUCTIONS.values() if r.indices]
['max', 'min']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["MODES", "MODE_NAMES", "REDUCTIONS", "WINDOW_ARGS", "Reduction", "reduction"]


@dataclass(frozen=True)
class Reduction:
    """One pooling mode: how a window's cells become one value, and how it is shown."""

    #: the canonical name, as ``mode=`` and ``-m`` take it
    name: str
    #: other names accepted for it
    aliases: tuple[str, ...]
    #: the numpy ufunc (by name) that folds two cells into one: "maximum", "minimum" or "add"
    ufunc: str
    #: what a padded cell is worth: "lowest" (never wins a max), "highest" (never wins a min), "zero" (adds nothing)
    pad: str
    #: where the fold runs: "input" (the input's own type: the value is one of the cells) or "sum" (a type that holds
    #: the window's sum: exact wider integers, or float32 for float16)
    accumulate: str
    #: what is applied to the fold: None, "divide" (by the window's counted cells) or "root" (``** (1/p)``)
    finish: str | None
    #: what is applied to each cell before the fold: None or "power" (``x ** p``)
    prepare: str | None
    #: whether ``return_indices`` applies (the value is one of the window's cells)
    indices: bool
    #: the keyword argument the mode needs (its ``p``), or None
    parameter: str | None
    #: the window arguments it takes besides size and stride
    window_args: tuple[str, ...]
    #: how explain names it; ``{p}`` stands for the parameter
    symbol: str
    #: one line for --help
    help: str

    def __post_init__(self) -> None:
        # the engine reads these words: a misspelt one must not fall through to another meaning
        for field, value, allowed in (
            ("ufunc", self.ufunc, ("maximum", "minimum", "add")),
            ("pad", self.pad, ("lowest", "highest", "zero")),
            ("accumulate", self.accumulate, ("input", "sum")),
            ("finish", self.finish, (None, "divide", "root")),
            ("prepare", self.prepare, (None, "power")),
            ("parameter", self.parameter, (None, "norm_type")),
        ):
            if value not in allowed:
                raise ValueError(f"mode {self.name!r}: {field} must be one of {allowed}, got {value!r}")
        unknown = set(self.window_args) - set(WINDOW_ARGS)
        if unknown:
            raise ValueError(f"mode {self.name!r}: unknown window arguments {sorted(unknown)}")
        if self.indices and self.accumulate != "input":
            raise ValueError(f"mode {self.name!r}: indices need a value that is one of the cells (accumulate 'input')")


#: The window arguments a mode may take besides size and stride.
WINDOW_ARGS = ("padding", "dilation", "ceil_mode", "count_pad", "output_size")


_ALL_WINDOWS = ("padding", "dilation", "ceil_mode", "output_size")

_TABLE = (
    Reduction(
        name="max",
        aliases=(),
        ufunc="maximum",
        pad="lowest",
        accumulate="input",
        finish=None,
        prepare=None,
        indices=True,
        parameter=None,
        window_args=_ALL_WINDOWS,
        symbol="max",
        help="the largest cell",
    ),
    Reduction(
        name="avg",
        aliases=("average", "mean"),
        ufunc="add",
        pad="zero",
        accumulate="sum",
        finish="divide",
        prepare=None,
        indices=False,
        parameter=None,
        window_args=_ALL_WINDOWS + ("count_pad",),
        symbol="avg",
        help="the mean of the cells",
    ),
    Reduction(
        name="min",
        aliases=(),
        ufunc="minimum",
        pad="highest",
        accumulate="input",
        finish=None,
        prepare=None,
        indices=True,
        parameter=None,
        window_args=_ALL_WINDOWS,
        symbol="min",
        help="the smallest cell",
    ),
    Reduction(
        name="sum",
        aliases=(),
        ufunc="add",
        pad="zero",
        accumulate="sum",
        finish=None,
        prepare=None,
        indices=False,
        parameter=None,
        window_args=_ALL_WINDOWS,
        symbol="sum",
        help="the sum of the cells",
    ),
    Reduction(
        name="lp",
        aliases=(),
        ufunc="add",
        pad="zero",
        accumulate="sum",
        finish="root",
        prepare="power",
        indices=False,
        parameter="norm_type",
        window_args=("ceil_mode",),
        symbol="lp{p}",
        help="(sum of x**p) ** (1/p), p the norm type (PyTorch LPPool1d/2d/3d)",
    ),
)

#: The modes, canonical name -> record, in the order --help lists them.
REDUCTIONS: Mapping[str, Reduction] = MappingProxyType({r.name: r for r in _TABLE})
#: The canonical mode names.
MODES: tuple[str, ...] = tuple(REDUCTIONS)
#: Every name a mode is accepted by: the canonical names, then the aliases.
MODE_NAMES: tuple[str, ...] = MODES + tuple(a for r in _TABLE for a in r.aliases)

_BY_NAME = {**{a: r for r in _TABLE for a in r.aliases}, **REDUCTIONS}


def reduction(name: str) -> Reduction:
    """Return the record of a mode, by its name or an alias, in any case; ValueError naming the modes otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {name!r}")
    found = _BY_NAME.get(name.lower())
    if found is None:
        aliases = "; ".join("/".join(f"'{a}'" for a in r.aliases) + f" for {r.name}" for r in _TABLE if r.aliases)
        raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(MODES)} (or {aliases})")
    return found
