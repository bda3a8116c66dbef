"""Text matrices read as they arrive: bands of whole rows, each parsed as soon as its last line is in.

The rules are those of :func:`poolcli.formats.textread.parse_matrix` (delimiter and header from the first data
lines, ``#`` comments and blank lines skipped, CRLF and a UTF-8 BOM taken), and every value is the one it
reads: a band of plain rows goes through the vectorised reader of :mod:`.textfast`, any other band through
the precise one, which names the line and column at fault. Only a row, never the input, must fit in memory:
the number of rows is not limited. UTF-16 text, rare and not splittable at a byte, is read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn, Protocol

import numpy as np

from .errors import InputError
from .textfast import _parse_lines
from .textread import _parse_rows, detect_delimiter, header_note, is_data_line, is_number, parse_matrix
from .textread import split_cells

__all__ = ["TextBands", "read_bands"]

#: Bytes read at a time: a band of rows is what they hold
BAND_BYTES = 1 << 20
#: The longest line accepted, in bytes per cell a row may hold (as the whole reader's byte limit counts)
BYTES_PER_CELL = 32


class Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


class TextBands:
    """The bands of rows of a text matrix arriving on ``stream``: iterate for (H, W) float64 arrays.

    ``notes`` (a skipped header) and ``width`` are known once the first band has been given.
    """

    def __init__(self, stream: Readable, name: str, *, max_width: int, band_bytes: int = BAND_BYTES) -> None:
        self.stream, self.name = stream, name
        self.max_line = max_width * BYTES_PER_CELL + (1 << 10)
        self.band_bytes = band_bytes
        self.notes: list[str] = []
        self.width = 0
        self.max_width = max_width
        self._line = 0  # lines consumed so far (the next line is _line + 1)
        self._first = 0  # the line of the first row: the width is that row's
        self._delim: str | None = None

    def _read(self) -> bytes:
        return self.stream.read(self.band_bytes)

    def __iter__(self) -> Iterator[np.ndarray]:
        buf = b""
        while len(buf) < 3 and (more := self._read()):  # enough to see a byte order mark
            buf += more
        if buf.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: only whole
            yield from self._whole(buf)
            return
        if buf.startswith(b"\xef\xbb\xbf"):
            buf = buf[3:]
        buf, ended, whole = self._head(buf)
        if whole:
            yield from self._whole(buf)
            return
        while True:
            cut = buf.rfind(b"\n") + 1
            if ended:
                cut = len(buf)
            elif not cut and len(buf) > self.max_line:
                self._too_long()
            if cut:
                band = self._band(buf[:cut])
                buf = buf[cut:]
                if band.size:
                    yield band
            if ended:
                return
            more = self._read()
            ended = not more
            buf += more

    def _whole(self, buf: bytes) -> Iterator[np.ndarray]:
        chunks = [buf]
        while chunk := self._read():
            chunks.append(chunk)
        arr, self.notes = parse_matrix(b"".join(chunks), self.name, max_cells=np.iinfo(np.int64).max)
        self.width = arr.shape[1]
        yield arr

    def _head(self, buf: bytes) -> tuple[bytes, bool, bool]:
        """Read lines up to the first row of numbers (the delimiter, a header, the width); return what is left
        of ``buf`` from that row on, whether the stream has ended, and whether only the whole text can tell its
        lines apart (a line break other than LF or CRLF: then ``buf`` is all that was read)."""
        ended, header, pos = False, False, 0
        while True:
            stop = buf.find(b"\n", pos)
            if stop < 0 and not ended:
                if len(buf) - pos > self.max_line:
                    if len(buf[pos:].splitlines()) > 1:
                        return buf, ended, True
                    self._too_long()
                more = self._read()
                ended = not more
                buf += more
                continue
            raw = buf[pos : stop + 1] if stop >= 0 else buf[pos:]
            if not raw:
                what = (
                    "only a header row, no numbers"
                    if header
                    else "no numbers (empty, or only comments and blank lines)"
                )
                raise InputError(f"{self.name}: {what}")
            try:
                lines = raw.decode("utf-8").splitlines()
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{self.name}: line {self._line + 1}: not UTF-8 text (byte 0x{raw[exc.start]:02x})"
                ) from None
            if len(lines) > 1:
                return buf, ended, True
            line = lines[0] if lines else ""
            if is_data_line(line):
                if not header:
                    self._delim = detect_delimiter(line)
                cells = split_cells(line, self._delim)
                if header or any(is_number(c) for c in cells):
                    self.width, self._first = len(cells), self._line + 1
                    if self.width > self.max_width:
                        raise InputError(
                            f"{self.name}: line {self._first} has {self.width:,} values, more than --max-pixels "
                            f"{self.max_width:,}"
                        )
                    return buf[pos:], ended, False  # the first row is read again with the others
                header = True
                self.notes.append(header_note(self.name, self._line + 1, cells))
            self._line += 1
            pos += len(raw)

    def _too_long(self) -> NoReturn:
        raise InputError(
            f"{self.name}: line {self._line + 1} is longer than {self.max_line:,} bytes; raise --max-pixels "
            f"if rows this wide are meant"
        )

    def _band(self, data: bytes) -> np.ndarray:
        """The rows of the whole lines in ``data`` (its lines numbered from ``self._line + 1``)."""
        values = None
        if data.count(b"\n") and data.endswith(b"\n"):
            values = _parse_lines(data, 0, len(data), ord(self._delim or " "), self.width)
        if values is not None:
            self._line += data.count(b"\n")
            return values.reshape(-1, self.width)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self._line + data[: exc.start].count(b"\n") + 1
            raise InputError(f"{self.name}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None
        lines = text.splitlines()
        rows = [(self._line + i, line) for i, line in enumerate(lines, 1) if is_data_line(line)]
        self._line += len(lines)
        if not rows:
            return np.empty((0, self.width))
        return _parse_rows(rows, self._delim, self.width, self.name, first_line=self._first)


def read_bands(stream: Readable, name: str, *, max_width: int, band_bytes: int = BAND_BYTES) -> TextBands:
    """The bands of rows of the text matrix on ``stream`` (see :class:`TextBands`)."""
    return TextBands(stream, name, max_width=max_width, band_bytes=band_bytes)
