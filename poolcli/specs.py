"""What one run is asked to do, in parts: the windows, the filter, the output settings, and the whole.

Each default is stated here once; the command line takes its option defaults
from these records. The records are frozen, hashable and compare by value (a
filter's kernel is held as a tuple of rows), so a spec can be a dictionary key
or be sent to a worker process as it is. Importable without numpy: ``--help``
reads the defaults.

>>> PoolSpec(window=WindowSpec(mode="mean")) == PoolSpec(window=WindowSpec(mode="avg"))
True
>>> len({PoolSpec(), PoolSpec(filter=FilterSpec(kernel=[[1, 2], [3, 4]]))})
2
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .engine.reductions import reduction
from .engine.windows import DEFAULT_SIZE, Ints, OutputSizes, Paddings
from .formats import DEFAULT_MAX_PIXELS

__all__ = [
    "DASK_TIMEOUT",
    "FilterSpec",
    "FractionalSpec",
    "Kernel",
    "OptionError",
    "OutputSpec",
    "PoolSpec",
    "WindowSpec",
]

#: Seconds a batch tries to reach its Dask scheduler, unless told otherwise.
DASK_TIMEOUT = 10.0


class OptionError(ValueError):
    """Options that contradict each other or the paths they name: refused before anything is read (a usage error)."""


#: A filter's weights, row by row.
Kernel = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class FractionalSpec:
    """Fractional max pooling's windows (PyTorch FractionalMaxPool2d): the output's size, and the samples' seed."""

    output_size: Ints | None = None  # the output's (H, W) or (D, H, W) ...
    output_ratio: float | tuple[float, ...] | None = None  # ... or int(n * ratio) per axis: one of the two
    seed: int | None = None  # of numpy's default_rng, which draws the samples; None: fresh ones


@dataclass(frozen=True)
class WindowSpec:
    """The pooling windows and the reduction: the arguments of :func:`poolcli.pool` but for ``ndim``.

    An int acts on every spatial axis; a tuple gives one value per axis (a pair for images, a triple for
    volumes), so the tuples given say how many axes the windows were written for (:meth:`axes`).
    """

    size: Ints = DEFAULT_SIZE
    stride: Ints | None = None  # None: the size
    padding: Paddings = "valid"
    mode: str = "max"  # a name or alias of a mode; held as the canonical name
    dilation: Ints = 1
    ceil_mode: bool = False
    count_pad: bool | None = None  # None: the engine's default (PyTorch's)
    output_size: OutputSizes | None = None  # adaptive pooling: the windows are its own
    norm_type: float | None = None  # the p of the modes that take one (lp)
    fractional: FractionalSpec | None = None  # fractional max pooling: its windows replace size's and stride's
    dtype: str | None = None  # the result's type: None (the mode's own rule), "same" (the input's) or a numpy type name

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", reduction(self.mode).name)

    def axes(self) -> int:
        """How many axes the windows were written for: the length of the longest tuple given, 1 when all are ints.

        >>> WindowSpec(size=(1, 2)).axes(), WindowSpec(size=4, padding="same").axes()
        (2, 1)
        """
        given = (self.size, self.stride, self.padding, self.dilation, self.output_size)
        return max((len(v) for v in given if isinstance(v, tuple)), default=1)

    def shape_kwargs(self) -> dict[str, Any]:
        """The window arguments of :func:`poolcli.output_shape`."""
        if self.output_size is not None:
            return {"output_size": self.output_size}
        return {
            "size": self.size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "ceil_mode": self.ceil_mode,
        }

    def cell_kwargs(self) -> dict[str, Any]:
        """The window arguments of :func:`poolcli.window_cells` (which cells avg counts, too)."""
        kwargs = self.shape_kwargs()
        if self.output_size is None:
            kwargs["count_pad"] = self.count_pad
        return kwargs

    def pool_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`poolcli.pool2d`."""
        return {**self.cell_kwargs(), "mode": self.mode, "norm_type": self.norm_type, "dtype": self.dtype}


@dataclass(frozen=True)
class FilterSpec:
    """The filter applied before pooling, if any, and the ReLU after it."""

    kernel: Kernel | None = None  # any 2-D array-like is taken, and held as a tuple of rows of floats
    padding: str = "valid"  # "valid": a KxK filter trims K-1 rows and columns; "same": zero padding keeps the size
    relu: bool = False  # max(0, x) after the filter (on the input itself without one)

    def __post_init__(self) -> None:
        if self.kernel is not None:
            object.__setattr__(self, "kernel", _rows(self.kernel))

    @property
    def shape(self) -> tuple[int, int]:
        """The kernel's (rows, columns); (0, 0) without a filter."""
        return (len(self.kernel), len(self.kernel[0])) if self.kernel else (0, 0)


def _rows(kernel: Kernel | Iterable[Iterable[float]]) -> Kernel:
    # float(v) keeps every weight as the float64 it was (numpy's or Python's)
    return tuple(tuple(float(v) for v in row) for row in kernel)


@dataclass(frozen=True)
class OutputSpec:
    """How the result is written: the settings the writers read (each acts on the formats that take it)."""

    precision: int | None = None  # text: decimals; None: exact (shortest round trip)
    delimiter: str | None = None  # text: None is the format's own (comma, tab for TSV, space for TXT)
    rescale: str = "auto"  # images: values that do not fit the pixel type ("auto", "clip", "minmax")
    compress_level: int = 1  # PNG zlib level: 1 is measured fastest for a small size cost
    quality: int | None = None  # JPEG (None: 95) and WebP (None: lossless)


@dataclass(frozen=True)
class PoolSpec:
    """Everything that decides what one input becomes."""

    window: WindowSpec = field(default_factory=WindowSpec)
    filter: FilterSpec = field(default_factory=FilterSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    gray: bool = False  # colour to one channel first (Pillow's L weights)
    channel: int | None = None  # take this channel only
    layout: str | None = None  # "hwc" (channels last) or "chw"; None: hwc, with a note when an NPY looks chw
    max_pixels: int = DEFAULT_MAX_PIXELS  # the largest input, padded input or result accepted (cells of a volume)
    volume: bool = False  # the input is a volume (D, H, W[, C]): a 3-D/4-D NPY, a multi-page TIFF, a folder of slices
