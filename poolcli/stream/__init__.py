"""Pool what does not fit in memory: rows in bands, output rows written as soon as their windows are complete.

:func:`try_stream` is the streamed form of :func:`poolcli.pipeline.run` for text matrices (files and standard
input) and NPY files (memory-mapped). It holds a band of input rows and the rows later windows still need,
never the input: memory is O(window rows x width) whatever the number of rows. The values, the notes and
the bytes written are the whole-array path's: each band is filtered and pooled by the engine's public
functions (see :mod:`.rows`), and written by the formats' own writers (see :mod:`.sinks`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any, Protocol

import numpy as np

from .. import formats
from ..engine import output_shape
from ..formats.files import Loaded, byte_limit, load_bytes, peek, read_bytes
from ..specs import PoolSpec
from .rows import RowStage, chain, joined
from .sinks import WholeSink, make_sink

__all__ = ["Bands", "try_stream"]


class Bands(Protocol):
    """An input as bands of rows: iterate for arrays of rows; ``notes`` are known once the first is given."""

    name: str
    notes: list[str]

    def __iter__(self) -> Iterator[np.ndarray]: ...


#: Bytes of standard input read to tell its format (as :func:`poolcli.formats.sniff` looks at)
SNIFF_BYTES = 64


def try_stream(
    source: str,
    destination: str | None,
    spec: PoolSpec,
    *,
    fmt: str,
    indices: str | None,
    indices_fmt: str | None,
    make_folders: bool,
    say: Callable[[list[Any]], None],
) -> Any:
    """Pool ``source`` band by band where it can be; return the run's Result.

    Returns None, having read nothing, when the run needs the whole array (no destination: the result is
    shown; Keras ``same`` padding, adaptive and global pooling: their windows depend on the number of rows),
    or the :class:`Loaded` input when standard input turned out to hold no text (it has been read whole).
    """
    window = spec.window
    if destination is None or window.output_size is not None or window.padding == "same":
        return None
    if source == "-":
        stream = sys.stdin.buffer
        head = _head(stream)
        reader = formats.sniff(head) if head else None
        if reader is None or reader.name != "text":
            data = head + read_bytes("-", limit=byte_limit(spec.max_pixels) - len(head))
            return load_bytes(data, "<stdin>", max_pixels=spec.max_pixels)
        from ..formats.textstream import read_bands

        bands = read_bands(_Prefixed(head, stream), "<stdin>", max_width=spec.max_pixels, band_bytes=BAND_BYTES)
        return _run(bands, "text", destination, spec, fmt, indices, indices_fmt, make_folders, say, None, False)
    head = peek(source)
    reader = formats.sniff(head) if head else None
    if reader is None or reader.name != "text":
        return None
    from ..formats.textstream import read_bands

    with open(source, "rb") as f:
        bands = read_bands(f, source, max_width=spec.max_pixels, band_bytes=BAND_BYTES)
        size = os.path.getsize(source)
        return _run(
            bands, "text", destination, spec, fmt, indices, indices_fmt, make_folders, say, size, size <= BAND_BYTES
        )


#: Bytes read at a time (a private knob: tests set it to a few bytes, so that bands are single rows)
BAND_BYTES = 1 << 20


def _head(stream: Any) -> bytes:
    head = b""
    while len(head) < SNIFF_BYTES:
        more = stream.read1(SNIFF_BYTES - len(head))
        if not more:
            break
        head += more
    return head


class _Prefixed:
    """A stream whose first bytes were read already (to tell its format)."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head, self.stream = head, stream

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.stream.read1(n) if hasattr(self.stream, "read1") else self.stream.read(n)


def _along(v: Any, axis: int) -> int:
    return int(v[axis] if isinstance(v, tuple) else v)


def _pool_stage(spec: PoolSpec, width: int, with_indices: bool) -> RowStage:
    from ..pipeline import apply_pool

    window = spec.window
    k = _along(window.size, 0)
    s = k if window.stride is None else _along(window.stride, 0)
    p = 0 if window.padding == "valid" else _along(window.padding, 0)

    def op(band: np.ndarray, t: int) -> tuple[np.ndarray, ...]:
        if not with_indices:
            return (apply_pool(band, window),)
        values, idx = apply_pool(band, window, indices=True)
        return values, idx + t * band.shape[1]  # flat indices in the band, made the whole input's

    return RowStage(
        op,
        stride=s,
        extent=_along(window.dilation, 0) * (k - 1) + 1,
        before=p,
        rows_out=lambda h: output_shape((h, width), **window.shape_kwargs())[0],
    )


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


def _run(
    source: Bands,
    kind: str,
    destination: str,
    spec: PoolSpec,
    fmt: str,
    indices: str | None,
    indices_fmt: str | None,
    make_folders: bool,
    say: Callable[[list[Any]], None],
    bytes_in: int | None,
    single: bool,
) -> Any:
    """Pool ``source`` band by band into the sinks; ``single`` says its first band is all of it."""
    from ..pipeline import Note, Result, apply_filter, check_result_size, select_channels, value_type

    name = source.name
    bands = iter(source)
    first = next(bands)
    say([Note.about(name, n, "input") for n in source.notes])
    stats = _ValueStats()

    def prepared(band: np.ndarray) -> np.ndarray:
        if whole_sink:
            stats.add(band)
        return select_channels(Loaded(band, kind, name), spec)

    def source_dtype() -> np.dtype:
        if formats.reader_named(kind).typed:
            return first.dtype
        return value_type(Loaded(stats.sample(), kind, name))

    whole_sink = False
    x0 = prepared(first)
    channels = 1 if x0.ndim == 2 else x0.shape[2]
    filtered = spec.filter.kernel is not None
    width = x0.shape[1] - (spec.filter.shape[1] - 1 if filtered and spec.filter.padding == "valid" else 0)
    pool = _pool_stage(spec, width, indices is not None)
    step: Callable[[Any], Any]
    if filtered:
        step = chain(_filter_stage(spec), pool)
    else:

        def step(rows: Any) -> Any:
            return joined([pool.push(apply_filter(rows, spec.filter))] if rows is not None else [pool.finish()])

    if single:  # the whole path's limits where the input is one band
        check_result_size(x0.shape, spec, name)
    _probe(x0, spec, bands)
    if not single:  # else those of the rows the windows need at once
        rows = spec.filter.shape[0] + _along(spec.window.dilation, 0) * (_along(spec.window.size, 0) - 1) + 1
        check_result_size((rows,) + x0.shape[1:], spec, name)
    with ExitStack() as stack:
        if make_folders:
            for path in (destination, indices):
                if path not in (None, "-"):
                    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        sinks = [make_sink(destination, fmt, spec, channels, stack, say)]
        if indices is not None:
            idx_fmt = indices_fmt or (formats.format_for_path(indices) if indices != "-" else None) or "csv"
            sinks.append(make_sink(indices, idx_fmt, spec, channels, stack, say))
        whole_sink = any(isinstance(sink, WholeSink) for sink in sinks)
        stats.add(first) if whole_sink else None
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
                for sink, rows_out in zip(sinks, out):
                    sink.add(rows_out)
            if x is None:
                break
            band = next(bands, None)
            x = None if band is None else prepared(band)
        for sink in sinks:
            sink.close(source_dtype)
    # the rows are written, not held: the result's values are an empty array of its type and row shape
    idx = last[1][:0] if len(last) > 1 else None
    return Result(last[0][:0], idx, [], bytes_in, sum(s.bytes for s in sinks))


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
