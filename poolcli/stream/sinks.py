"""Where a streamed result goes: rows written as they come (text, NPY, PNG), or gathered and encoded at the end.

Each sink is opened before the first row and finished after the last; an error in between leaves no file
(the atomic writer), while rows sent to standard output stay sent.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import ExitStack, nullcontext
from typing import IO, Any, Callable, cast

import numpy as np
from numpy.lib import format as npy_format

from .. import formats
from ..formats import codecs
from ..formats.files import _named, atomic_writer, write_output
from ..formats.imagewrite import image_bits, round_half_up, to_image_array
from ..specs import PoolSpec

Say = Callable[[list[Any]], None]

#: values made pixels at once from a temporary file: about a megabyte of float64, as the pixel rule makes a few
#: copies of them (a private knob: tests make it a few cells, so that parts are single rows)
PART_CELLS = 1 << 17


class Sink:
    """Takes the result a band of rows at a time (:meth:`add`), and completes it (:meth:`close`)."""

    def __init__(self, path: str, fmt: str, spec: PoolSpec, stack: ExitStack, say: Say) -> None:
        self.path, self.fmt, self.spec, self.say = path, fmt, spec, say
        self.name = "<stdout>" if path == "-" else path
        self.bytes = 0
        self.rows = 0
        self.said: set[str] = set()
        self.file: IO[bytes] | None = None
        self.stack = stack

    def open(self) -> IO[bytes]:
        if self.file is None:
            self.file = sys.stdout.buffer if self.path == "-" else self.stack.enter_context(atomic_writer(self.path))
        return self.file

    def note(self, notes: list[Any]) -> None:
        new = [n for n in notes if n.text not in self.said]
        self.said.update(n.text for n in new)
        if new:
            self.say(new)

    def add(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def close(self, source_dtype: Callable[[], np.dtype]) -> None:
        """Complete the output; ``source_dtype()`` is the input's value type (read at the end: text's needs all values)."""


class TextSink(Sink):
    """CSV, TSV, text: each band of rows encoded by the format's own writer and written at once."""

    def add(self, rows: np.ndarray) -> None:
        from ..pipeline import encode

        write, notes = encode(rows, self.fmt, self.spec, source_dtype=rows.dtype, name=self.name)
        self.note(notes)
        out = _Counter(self.open())
        if self.path == "-":
            with _named("<stdout>"):
                write(cast(IO[bytes], out))
                out.f.flush()
        else:
            write(cast(IO[bytes], out))
        self.bytes += out.count
        self.rows += len(rows)


class _Counter:
    """A file that counts the bytes written through it (standard output cannot tell, nor can every file)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.count = f, 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return self.f.write(data)


class NpySink(Sink):
    """NPY: the header once the number of rows is known; the rows go after it (to a file, patched in place;
    to standard output, through a temporary file)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header: dict[str, Any] | None = None
        self.body: IO[bytes] | None = None

    def add(self, rows: np.ndarray) -> None:
        if self.header is None:
            self.header = npy_format.header_data_from_array_1_0(np.ascontiguousarray(rows[:0]))
            if self.path == "-":
                self.body = self.stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
            else:
                self.body = self.open()
                npy_format.write_array_header_1_0(self.body, self.header)  # its length holds any row count
        assert self.body is not None
        self.body.write(np.ascontiguousarray(rows).tobytes())
        self.rows += len(rows)

    def close(self, source_dtype: Callable[[], np.dtype]) -> None:
        assert self.header is not None and self.body is not None
        self.header["shape"] = (self.rows,) + self.header["shape"][1:]
        if self.path == "-":
            out = _Counter(self.open())
            with _named("<stdout>"):
                npy_format.write_array_header_1_0(out, self.header)
                self.body.seek(0)
                shutil.copyfileobj(self.body, out)
                out.f.flush()
            self.bytes = out.count
        else:
            end = self.body.tell()
            self.body.seek(0)
            npy_format.write_array_header_1_0(self.body, self.header)
            self.body.seek(end)
            self.bytes = end


class WholeSink(Sink):
    """Any other format (images, JSON, NPY in channels-first layout): the result is gathered, then encoded whole
    with the input's value type, as the whole-array path does.

    With ``rows``, the number of result rows, known beforehand, the rows are copied into one array of that
    many as they come: gathered as parts and joined, the parts and the joined result would be held at once.
    """

    def __init__(self, *args: Any, rows: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parts: list[np.ndarray] = []
        self.expected = rows
        self.buffer: np.ndarray | None = None

    def add(self, rows: np.ndarray) -> None:
        if self.expected is not None and not self.parts:
            if self.buffer is None:  # its pages take memory only as rows are written into them
                self.buffer = np.empty((self.expected,) + rows.shape[1:], rows.dtype)
            buffer = self.buffer
            fits = self.rows + len(rows) <= len(buffer) and rows.shape[1:] == buffer.shape[1:]
            if fits and rows.dtype == buffer.dtype:
                buffer[self.rows : self.rows + len(rows)] = rows
                self.rows += len(rows)
                return
            self.parts.append(buffer[: self.rows])  # not as foreseen: gathered as parts from here on
        self.parts.append(rows)
        self.rows += len(rows)

    def close(self, source_dtype: Callable[[], np.dtype]) -> None:
        from ..pipeline import encode

        if self.buffer is not None and not self.parts:
            result = self.buffer[: self.rows]
        else:
            result = np.concatenate(self.parts)
        write, notes = encode(result, self.fmt, self.spec, source_dtype=source_dtype(), name=self.name)
        self.note(notes)
        self.bytes = write_output(self.path, write)


class PngSink(WholeSink):
    """PNG: its rows encoded by the PNG writer's own encoder (:class:`poolcli.formats.codecs.PngRows`) in its
    blocks of rows, so the file is the whole path's byte for byte, with never more than a block of pixels held.

    Where the input's type is known before its values (an image or NPY, not text) and the number of rows is
    known (the header comes first), the result is either the pixels as they are (uint8 from 8-bit input, uint16
    from 16-bit input: max and min pooling; not ``--rescale minmax``), written as its rows come; or values that
    the rule of :func:`poolcli.formats.imagewrite.to_image_array` scales, rounds, clips or stretches by what
    every value is (averages, sums, float input): those are held in a temporary file as they come, then
    converted block by block with the extremes of the whole result and written. Else gathered, as any image.
    """

    def __init__(self, *args: Any, source: np.dtype | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from ..encoding import written_type

        # the type whose rules make the pixels: --dtype uint16 asks for 16-bit samples, as the whole path writes
        self.source = None if source is None else written_type(self.spec, formats.writer_for(self.fmt), source)
        self.how = ""  # "direct", "spooled" or "gathered", once the first rows have come
        self.encoder: codecs.PngRows | None = None
        self.block: list[np.ndarray] = []
        self.out: _Counter | None = None
        self.spool: IO[bytes] | None = None
        self.extremes = _Extremes()

    def add(self, rows: np.ndarray) -> None:
        if rows.ndim == 3 and rows.shape[2] == 1:
            rows = rows[:, :, 0]  # as the whole path writes it
        if not self.how:
            self.how = self._choose(rows)
        if self.how == "gathered":
            super().add(rows)
            return
        self.rows += len(rows)
        if self.how == "direct":
            self._push(rows)
            return
        assert self.spool is not None
        self.extremes.add(rows)
        self.spool.write(np.ascontiguousarray(rows).data)

    def _choose(self, rows: np.ndarray) -> str:
        from ..pipeline import encode

        if self.source is None or self.expected is None or not len(rows):
            return "gathered"
        try:
            _, notes = encode(rows, self.fmt, self.spec, source_dtype=self.source, name=self.name)
        except (ValueError, OSError):
            return "gathered"  # refused: said at the end, as the whole path says it
        self.row_shape, self.dtype = rows.shape[1:], rows.dtype
        self.pixel = np.dtype(np.uint8 if image_bits(self.fmt, self.source) == 8 else np.uint16)
        if rows.dtype == self.pixel and self.spec.output.rescale != "minmax" and not notes:
            self._start()
            return "direct"
        self.spool = self.stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
        return "spooled"

    def _start(self) -> None:
        self.out = _Counter(self.open())
        with _named(self.name) if self.path == "-" else nullcontext():
            level = self.spec.output.compress_level
            self.encoder = codecs.PngRows(
                cast(IO[bytes], self.out), self.row_shape, self.rows_expected, self.pixel, level
            )

    @property
    def rows_expected(self) -> int:
        assert self.expected is not None
        return self.expected

    def _push(self, rows: np.ndarray | None) -> None:
        """Encode whole blocks of rows as they fill; None: the last rows, and the end of the file."""
        assert self.encoder is not None and self.out is not None
        if rows is not None:
            self.block.append(rows)
        with _named(self.name) if self.path == "-" else nullcontext():
            while sum(len(b) for b in self.block) >= codecs.PNG_BLOCK_ROWS or (rows is None and self.block):
                joined = np.concatenate(self.block)
                self.encoder.add(joined[: codecs.PNG_BLOCK_ROWS])
                self.block = [joined[codecs.PNG_BLOCK_ROWS :]] if len(joined) > codecs.PNG_BLOCK_ROWS else []
            if rows is None:
                self.encoder.end()
            if self.path == "-":
                self.out.f.flush()

    def _convert(self) -> list[Any]:
        """The held values made pixels a part at a time by the whole path's rule, as if it saw every value
        (the extremes ride along with each part), pushed as they are made; the whole path's notes."""
        from ..pipeline import encode

        assert self.spool is not None
        self.spool.seek(0)
        rescale, cells = self.spec.output.rescale, int(np.prod(self.row_shape, dtype=np.int64))
        decisive = self.extremes.decisive(self.dtype)
        step = max(1, PART_CELLS // cells)
        self._start()
        for r0 in range(0, self.rows_expected, step):
            n = min(step, self.rows_expected - r0)
            part = np.fromfile(self.spool, self.dtype, count=n * cells)
            pixels, _ = to_image_array(
                np.concatenate([part, decisive]),
                bits=8 * self.pixel.itemsize,
                rescale=rescale,
                source_dtype=self.source,
            )
            self._push(pixels[: part.size].reshape((n,) + self.row_shape))
        _, notes = encode(
            self.extremes.telling(self.dtype), self.fmt, self.spec, source_dtype=self.source, name=self.name
        )
        return notes

    def close(self, source_dtype: Callable[[], np.dtype]) -> None:
        if self.how == "gathered":
            super().close(source_dtype)
            return
        assert self.rows == self.expected  # the header said as many
        notes = self._convert() if self.how == "spooled" else []
        self._push(None)
        self.note(notes)
        assert self.out is not None
        self.bytes = self.out.count


class _Extremes:
    """What the rule making values pixels reads of all of them, gathered part by part: the least and greatest
    finite value, infinities, the NaNs, and one value that is not whole."""

    def __init__(self) -> None:
        self.lo: Any = None
        self.hi: Any = None
        self.infinite: set[float] = set()
        self.nans = 0
        self.fraction: Any = None

    def add(self, rows: np.ndarray) -> None:
        values = rows.ravel()
        if rows.dtype.kind == "f":
            finite = values[np.isfinite(values)]
            self.nans += int(np.isnan(values).sum())
            self.infinite.update(float(v) for v in np.unique(values[np.isinf(values)]))
            if self.fraction is None:
                broken = finite[round_half_up(finite) != finite]
                self.fraction = broken[0] if broken.size else None
            values = finite
        if values.size:
            lo, hi = values.min(), values.max()
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)

    def decisive(self, dtype: np.dtype) -> np.ndarray:
        """Values that, added to any part, make the rule decide as it does for the whole result."""
        ends = [] if self.lo is None else [self.lo, self.hi]
        return np.array(ends + sorted(self.infinite) + ([np.nan] if self.nans else []), dtype)

    def telling(self, dtype: np.dtype) -> np.ndarray:
        """Values of which the rule says what it says of the whole result: the decisive ones, every NaN (it
        counts them), and a value it rounds, if any."""
        ends = [] if self.lo is None else [self.lo, self.hi]
        fraction = [] if self.fraction is None else [self.fraction]
        return np.array(ends + sorted(self.infinite) + fraction + [np.nan] * self.nans, dtype)


def make_sink(
    path: str,
    fmt: str,
    spec: PoolSpec,
    channels: int,
    stack: ExitStack,
    say: Say,
    rows: int | None = None,
    source: np.dtype | None = None,
) -> Sink:
    """The sink for writing ``fmt`` to ``path``: rows as they come where the format allows; ``rows`` is the
    number of result rows, where known; ``source`` the input's value type, where known before its values."""
    writer = formats.writer_for(fmt)
    if writer.kind == "text":
        return TextSink(path, fmt, spec, stack, say)
    if writer.kind == "npy" and not (spec.layout == "chw" and channels > 1):
        return NpySink(path, fmt, spec, stack, say)
    if writer.codec == "PNG":
        return PngSink(path, fmt, spec, stack, say, rows=rows, source=source)
    return WholeSink(path, fmt, spec, stack, say, rows=rows)
