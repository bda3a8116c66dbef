"""One streamed run: the bands of an input filtered, pooled and written, with the whole path's checks and notes."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .. import formats
from ..engine import output_shape, reduction
from ..formats.files import Loaded
from ..shapes import as_2d_window, spatial_ndim
from ..specs import PoolSpec, WindowSpec
from .rows import AdaptiveRows, GlobalRows, RowStage, Stage, chain, joined
from .sinks import WholeSink, make_sink

__all__ = ["Bands", "Job", "pool_bands"]


class Bands(Protocol):
    """An input as bands of rows: iterate for arrays of rows; ``notes`` are known once the first is given."""

    name: str
    notes: list[str]

    def __iter__(self) -> Iterator[np.ndarray]: ...


@dataclass(frozen=True)
class Job:
    """Where a run's outputs go (the arguments of :func:`poolcli.pipeline.run` that say so), and its notes' way out."""

    destination: str
    fmt: str
    indices: str | None
    indices_fmt: str | None
    make_folders: bool
    say: Callable[[list[Any]], None]
    watch: Callable[[str, np.ndarray], None] | None = None  # shown each band: ("pooled", rows), ("result", rows)


def _along(v: Any, axis: int) -> int:
    return int(v[axis] if isinstance(v, tuple) else v)


def _pool_stage(
    spec: PoolSpec, width: int, height: int | None, with_indices: bool, rounded: list[bool] | None = None
) -> Stage:
    """The pooling, down the rows; ``height`` (the rows pooled, after the filter) is needed for Keras ``same``
    and adaptive pooling; ``rounded`` as for :func:`poolcli.pipeline.apply_pool`."""
    from ..pipeline import apply_pool

    window = spec.window
    if window.output_size is not None and output_shape((2, 1), output_size=window.output_size)[0] == 1:
        return _global_stage(window, with_indices)  # one window down every row: gathered band by band
    if window.output_size is not None:
        assert height is not None
        oh, ow = output_shape((height, width), output_size=window.output_size)
        one_row = dataclasses.replace(window, output_size=(1, ow))

        def rows_op(band: np.ndarray, t: int) -> tuple[np.ndarray, ...]:
            if not with_indices:
                return (apply_pool(band, one_row, rounded=rounded),)
            values, idx = apply_pool(band, one_row, indices=True)
            return values, idx + t * band.shape[1]

        return AdaptiveRows(rows_op, height=height, rows_out=oh)
    k = _along(window.size, 0)
    s = k if window.stride is None else _along(window.stride, 0)
    e = _along(window.dilation, 0) * (k - 1) + 1
    align = None
    if window.padding == "same":
        assert height is not None
        h = height
        before = max((-(-h // s) - 1) * s + e - h, 0) // 2

        def align(t: int, n: int) -> int:  # a band of as many rows as the input, modulo s, is padded as it is
            return n - (n - t - h) % s

    else:
        before = 0 if window.padding == "valid" else _along(window.padding, 0)

    def op(band: np.ndarray, t: int) -> tuple[np.ndarray, ...]:
        if not with_indices:
            return (apply_pool(band, window, rounded=rounded),)
        values, idx = apply_pool(band, window, indices=True)
        return values, idx + t * band.shape[1]  # flat indices in the band, made the whole input's

    return RowStage(
        op,
        stride=s,
        extent=e,
        before=before,
        rows_out=lambda n: output_shape((n, width), **window.shape_kwargs())[0],
        align=align,
    )


def _global_stage(window: WindowSpec, with_indices: bool) -> Stage:
    """One window down every row (global pooling; max or min to one row), band by band: no count of the rows."""
    from ..engine import GlobalSums
    from ..pipeline import apply_pool

    rec = reduction(window.mode)
    raw = dataclasses.replace(window, dtype=None)  # the bands' best compared as they are, converted at the end

    def op(band: np.ndarray, t: int) -> tuple[np.ndarray, ...]:
        if not with_indices:
            return (apply_pool(band, raw),)
        values, idx = apply_pool(band, raw, indices=True)
        return values, idx + t * band.shape[1]

    sums = GlobalSums(rec, 2, window.dtype) if rec.accumulate == "sum" else None
    # the global pool of the one best cell is that cell, in the type asked for
    return GlobalRows(op, largest=rec.ufunc == "maximum", sums=sums, convert=lambda v: apply_pool(v, window))


def _filter_stage(spec: PoolSpec) -> RowStage:
    from ..pipeline import apply_filter

    kh = spec.filter.shape[0]
    same = spec.filter.padding == "same"
    return RowStage(
        lambda band, t: (apply_filter(band, spec.filter),),
        stride=1,
        extent=kh,
        before=(kh - 1) // 2 if same else 0,
        rows_out=lambda h: h if same else h - kh + 1,
    )


def pool_bands(
    source: Bands, kind: str, spec: PoolSpec, job: Job, *, bytes_in: int | None, single: bool, height: int | None
) -> Any:
    """Pool ``source`` band by band into ``job``'s outputs; return the run's Result (its values an empty array).

    ``kind`` is the reader's name; ``single`` says the first band is all of the input (then the whole path's
    limits apply as they are); ``height`` is the number of rows, where known (Keras ``same`` needs it).
    """
    from ..pipeline import (
        Note,
        Result,
        _float64_note,
        apply_filter,
        check_result_size,
        dtype_notes,
        image_rounding,
        rounding_notes,
        select_channels,
        to_hwc,
        value_type,
    )

    name = source.name
    bands = iter(source)
    first = next(bands)
    if kind == "text":
        to_hwc(Loaded(first, kind, name), spec)  # refuses --layout chw, as for the whole matrix
    # a text of one band shown (--show) takes the whole path: its views come before the result, as they always did
    if (job.watch is not None and kind == "text") or (len(first) == 1 and spatial_ndim(first.shape, spec) == 1):
        following = next(bands, None)
        if following is None:  # one row: a signal, pooled whole (it is no longer than a row may be)
            return Loaded(first, kind, name, source.notes)
        bands = itertools.chain([following], bands)
    if spatial_ndim((2,) + first.shape[1:], spec) == 1:  # one column: a signal, pooled down its rows
        spec = dataclasses.replace(spec, window=as_2d_window(spec.window, row=False))
    job.say([Note.about(name, n, "input") for n in source.notes])
    stats = _ValueStats()
    said_64 = False

    def prepared(band: np.ndarray) -> np.ndarray:
        nonlocal said_64
        if whole_sink:
            stats.add(band)
        x = select_channels(Loaded(band, kind, name), spec)
        if not said_64:
            note = _float64_note(x, spec, name, kind)
            if note is not None:
                job.say([note])
                said_64 = True
        return x

    def source_dtype() -> np.dtype:
        if formats.reader_named(kind).typed:
            return first.dtype
        return value_type(Loaded(stats.sample(), kind, name))

    whole_sink = False
    x0 = prepared(first)
    channels = 1 if x0.ndim == 2 else x0.shape[2]
    if single:  # the whole path's limits where the input is one band
        check_result_size(x0.shape, spec, name)
    if height is not None:  # the refusals of the engine, for the true shape
        _fit((height,) + x0.shape[1:], x0.dtype, spec)
    else:
        _probe(x0, spec, bands)
    if not single:  # else those of the rows the windows need at once
        rows = spec.filter.shape[0] + _along(spec.window.dilation, 0) * (_along(spec.window.size, 0) - 1) + 1
        check_result_size((rows,) + x0.shape[1:], spec, name)
    filtered = spec.filter.kernel is not None
    kernel = np.zeros(spec.filter.shape + x0.shape[2:], x0.dtype) if filtered else x0[:0]
    pooled_dtype = apply_filter(kernel, spec.filter).dtype
    job.say(dtype_notes(name, pooled_dtype, spec.window))
    typed = formats.reader_named(kind).typed  # text's value type is known only at the end
    rounded = image_rounding(spec, job.fmt, first.dtype, pooled_dtype) if typed else None
    width = x0.shape[1] - (spec.filter.shape[1] - 1 if filtered and spec.filter.padding == "valid" else 0)
    valid_filter = filtered and spec.filter.padding == "valid"
    pooled_height = None if height is None else height - (spec.filter.shape[0] - 1 if valid_filter else 0)
    pool = _pool_stage(spec, width, pooled_height, job.indices is not None, rounded)
    if job.watch is not None:
        pool = _Watched(pool, job.watch)
    step: Callable[[Any], Any]
    if filtered:
        step = chain(_filter_stage(spec), pool)
    else:

        def step(rows: Any) -> Any:
            return joined([pool.push(apply_filter(rows, spec.filter))] if rows is not None else [pool.finish()])

    with ExitStack() as stack:
        outputs = [(job.destination, job.fmt)]
        if job.indices is not None:
            idx_fmt = job.indices_fmt or (formats.format_for_path(job.indices) if job.indices != "-" else None)
            outputs.append((job.indices, idx_fmt or "csv"))
        for path, _ in outputs:
            if job.make_folders and path != "-":
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        rows_out = (
            None if pooled_height is None else output_shape((pooled_height, width), **spec.window.shape_kwargs())[0]
        )
        source_type = first.dtype if typed else None  # the indices' type is their own
        sinks = [
            make_sink(path, fmt, spec, channels, stack, job.say, rows_out, source_type if i == 0 else None)
            for i, (path, fmt) in enumerate(outputs)
        ]
        whole_sink = any(isinstance(sink, WholeSink) for sink in sinks)
        if whole_sink:
            stats.add(first)
        out_cells = 0
        last: tuple[np.ndarray, ...] = (np.empty((0,)),)
        x: np.ndarray | None = x0
        while True:
            out = step(x)
            if out is not None:
                out_cells += out[0].size // channels
                if out_cells > spec.max_pixels:
                    rows = sinks[0].rows + len(out[0])
                    raise formats.InputError(
                        f"{name}: the result has reached {rows:,} rows of {out[0].shape[1]:,} pixels, more than "
                        f"--max-pixels {spec.max_pixels:,}; raise --max-pixels if this is meant"
                    )
                last = out
                if job.watch is not None:
                    job.watch("result", out[0])
                for sink, rows_out in zip(sinks, out):
                    sink.add(rows_out)
            if x is None:
                break
            band = next(bands, None)
            x = None if band is None else prepared(band)
        sinks[0].note(rounding_notes(sinks[0].name, rounded))
        sinks[0].close(source_dtype)
        for sink in sinks[1:]:  # the indices: their own type decides, as in the whole path
            sink.close(lambda: last[1].dtype)
    # the rows are written, not held: the result's values are an empty array of its type and row shape
    idx = last[1][:0] if len(last) > 1 else None
    return Result(last[0][:0], idx, [], bytes_in, sum(s.bytes for s in sinks))


class _Watched:
    """A stage whose input rows (the array pooled, after the filter) are shown to ``watch`` on their way in."""

    def __init__(self, stage: Stage, watch: Callable[[str, np.ndarray], None]) -> None:
        self.stage, self.watch = stage, watch

    def push(self, rows: np.ndarray) -> Any:
        if len(rows):
            self.watch("pooled", rows)
        return self.stage.push(rows)

    def finish(self) -> Any:
        return self.stage.finish()


def _probe(x0: np.ndarray, spec: PoolSpec, bands: Iterator[np.ndarray]) -> None:
    """Raise, before anything is written, what the engine says of the columns (a window wider than the rows).

    If the filter and the windows do not fit rows as wide as the input's with as many rows as they need,
    the whole path would refuse the whole input: the rest is read (its own errors come first, as they
    would) and the refusal given for the input's true shape.
    """
    rows = spec.filter.shape[0] + _along(spec.window.dilation, 0) * (_along(spec.window.size, 0) - 1) + 1
    try:
        _fit((rows,) + x0.shape[1:], x0.dtype, spec)
    except ValueError:
        _fit((len(x0) + sum(len(band) for band in bands),) + x0.shape[1:], x0.dtype, spec)
        raise


def _fit(shape: tuple[int, ...], dtype: np.dtype, spec: PoolSpec) -> None:
    """Raise the engine's refusal of the filter and the windows on an input of ``shape``, by arithmetic."""
    from ..pipeline import apply_filter

    h, w = shape[:2]
    if spec.filter.kernel is not None and spec.filter.padding == "valid":
        kh, kw = spec.filter.shape
        if h < kh or w < kw:  # conv2d refuses it before any work: zeros that take no memory
            apply_filter(np.broadcast_to(np.zeros((), dtype), shape), spec.filter)
        h, w = h - kh + 1, w - kw + 1
    output_shape((h, w), **spec.window.shape_kwargs())


class _ValueStats:
    """What :func:`poolcli.pipeline.value_type` reads of text's values, gathered band by band: the least and
    greatest finite value, and whether every value is finite and whole. :meth:`sample` gives a few values
    that say the same (0.5 stands for a fraction: it changes none of the rule's range tests)."""

    def __init__(self) -> None:
        self.lo, self.hi = np.inf, -np.inf
        self.some_finite = False
        self.all_whole_finite = True

    def add(self, band: np.ndarray) -> None:
        if band.dtype.kind != "f":
            return
        finite = band[np.isfinite(band)]
        if finite.size < band.size:
            self.all_whole_finite = False
        if finite.size:
            self.some_finite = True
            self.lo, self.hi = min(self.lo, float(finite.min())), max(self.hi, float(finite.max()))
            if self.all_whole_finite and not (finite == np.round(finite)).all():
                self.all_whole_finite = False

    def sample(self) -> np.ndarray:
        if not self.some_finite:
            return np.array([[np.nan]])
        values = [self.lo, self.hi] + ([] if self.all_whole_finite else [0.5])
        return np.array([values])
