"""Pool what does not fit in memory: rows in bands, output rows written as soon as their windows are complete.

:func:`try_stream` is the streamed form of :func:`poolcli.pipeline.run` for text matrices (files and standard
input), NPY files (memory-mapped), large PNG and TIFF files (decoded by libvips, the codecs extra, see
:mod:`poolcli.formats.imagestream`) and large raw PGM/PPM/PAM files (:mod:`poolcli.formats.pnmstream`). It
holds a band of input rows and the rows later windows still need, never the input: memory is O(window rows x
width) whatever the number of rows. The values, the notes and the bytes written are the whole-array path's:
each band is filtered and pooled by the engine's public functions (see :mod:`.rows`), and written by the
formats' own writers (see :mod:`.sinks`).
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import tempfile
from typing import IO, Any, Callable

from .. import formats
from ..engine import output_shape, reduction
from ..formats.errors import InputError
from ..formats.files import Loaded, byte_limit, load_bytes, peek, read_bytes
from ..shapes import spatial_ndim
from ..specs import PoolSpec
from .run import Job, pool_bands

__all__ = ["try_stream"]

#: Bytes of standard input read to tell its format (as :func:`poolcli.formats.sniff` looks at)
SNIFF_BYTES = 64
#: Bytes read at a time (a private knob: tests set it to a few bytes, so that bands are single rows)
BAND_BYTES = 1 << 20


def try_stream(
    source: str,
    destination: str,
    spec: PoolSpec,
    *,
    fmt: str,
    indices: str | None,
    indices_fmt: str | None,
    make_folders: bool,
    say: Callable[[list[Any]], None],
    watch: Callable[[str, Any], None] | None = None,
) -> Any:
    """Pool ``source`` band by band where it can be; return the run's Result (``watch``: see :class:`Job`).

    Returns None, having read nothing, where the run needs the whole array (an input that is neither text,
    NPY nor an image read band by band; adaptive avg or sum to one row of several columns), or the
    :class:`Loaded` input when standard input turned out to hold neither (it has been read whole).
    Keras ``same`` padding and adaptive pooling need the number of rows first: a file's text is counted
    first, a stream held in a temporary file, with a note. Global pooling (and max or min to one row) gathers
    as the rows come.
    """
    if spec.volume or spec.window.fractional is not None:
        return None  # a volume's windows span slices; fractional windows are drawn for the whole input
    output_size = spec.window.output_size
    if output_size is not None and "output_size" not in reduction(spec.window.mode).window_args:
        return None  # the whole path says the mode takes no output_size
    if output_size is not None and output_shape((2, 1), output_size=output_size)[0] < 2 and not _gathers(spec):
        return None  # adaptive sums to one row of several columns: the whole path holds the rows as it would
    job = Job(destination, fmt, indices, indices_fmt, make_folders, say, watch)
    if source == "-":
        return _from_stdin(spec, job)
    head = peek(source)
    reader = formats.sniff(head) if head else None
    named_image = os.path.splitext(source)[1].lower() in formats.reader_named("image").extensions
    if (
        reader is not None and reader.name == "text" and not named_image
    ):  # text named .png: the whole reader says both failed
        with open(source, "rb") as f:
            return _text(f, source, spec, job, bytes_in=os.path.getsize(source))
    if reader is not None and reader.name == "npy":
        return _npy(source, spec, job)
    if reader is not None and reader.name == "image" and spec.layout != "chw":  # chw: the whole path refuses it
        return _image(source, spec, job)
    return None


def _from_stdin(spec: PoolSpec, job: Job) -> Any:
    from ..pipeline import Note

    stream: Any = sys.stdin.buffer
    head = b""
    while len(head) < SNIFF_BYTES and (more := stream.read1(SNIFF_BYTES - len(head))):
        head += more
    if not head or formats.sniff(head).name != "text":
        limit = byte_limit(spec.max_pixels)
        data = head + read_bytes("-", limit=limit)
        if len(data) > limit:  # as read_bytes says it of the whole stream
            raise InputError(f"<stdin>: more than {limit:,} bytes; raise --max-pixels if this input is meant")
        return load_bytes(data, "<stdin>", max_pixels=spec.max_pixels)
    if not _needs_height(spec):
        return _text(_Prefixed(head, stream), "<stdin>", spec, job, bytes_in=None)
    with tempfile.TemporaryFile() as spool:
        spool.write(head)
        shutil.copyfileobj(stream, spool)
        spool.seek(0)
        what = "adaptive pooling" if spec.window.output_size is not None else "Keras 'same' padding"
        text = f"{what} places its windows by the number of rows: the stream was held in a temporary file to count them"
        job.say([Note("<stdin>", text, "input")])
        return _text(spool, "<stdin>", spec, job, bytes_in=None)


def _text(f: Any, name: str, spec: PoolSpec, job: Job, *, bytes_in: int | None) -> Any:
    from ..formats.textstream import read_bands

    def bands() -> Any:
        return read_bands(f, name, max_width=spec.max_pixels, band_bytes=BAND_BYTES)

    height = None
    if _needs_height(spec):  # a seekable file: counted first
        height = sum(len(band) for band in bands())
        f.seek(0)
    single = bytes_in is not None and bytes_in <= BAND_BYTES
    return pool_bands(bands(), "text", spec, job, bytes_in=bytes_in, single=single, height=height)


def _npy(path: str, spec: PoolSpec, job: Job) -> Any:
    from ..formats.npystream import open_npy
    from ..pipeline import to_hwc

    opened = open_npy(path, band_bytes=BAND_BYTES)
    if opened is None:  # damaged or of a type refused: the whole path says what is wrong
        return None
    with opened as bands:
        if spatial_ndim(bands.array.shape, spec) != 2:
            return None  # a signal (1-D, one row or one column) is pooled whole
        if job.watch is not None and bands.array.nbytes <= BAND_BYTES:
            return None  # one band shown (--show): the whole path's views come before the result, as they did
        loaded, notes = to_hwc(Loaded(bands.array, "npy", path), spec)
        job.say(notes)
        bands.array = loaded.array
        single = bands.array.nbytes <= BAND_BYTES
        height = len(bands.array)
        return pool_bands(bands, "npy", spec, job, bytes_in=os.path.getsize(path), single=single, height=height)


def open_image(path: str, max_pixels: int) -> Any:
    """The bands of a large PNG, TIFF or PGM/PPM/PAM read as the whole path reads it, or None (read it whole)."""
    from ..formats import imagestream
    from ..formats.pnmstream import open_pnm

    # a quarter of the bands of text: libvips holds rows of its own besides, and smaller bands cost no time here
    band = BAND_BYTES // 4
    return (
        imagestream.open_png(path, max_pixels, band)
        or imagestream.open_tiff(path, max_pixels, band)
        or open_pnm(path, max_pixels, band, imagestream.STREAM_PIXELS)
    )


def _image(path: str, spec: PoolSpec, job: Job) -> Any:
    opened = open_image(path, spec.max_pixels)
    if opened is None:  # not a large image read band by band as the whole path reads it: read whole
        return None
    with opened as bands:
        if spatial_ndim(bands.shape, spec) != 2:
            return None  # a signal (one row or one column) is pooled whole
        return pool_bands(
            bands, "image", spec, job, bytes_in=os.path.getsize(path), single=False, height=bands.shape[0]
        )


def _needs_height(spec: PoolSpec) -> bool:
    # one window down every row gathers as the rows come; other adaptive windows are placed by the number of rows
    return spec.window.padding == "same" or (spec.window.output_size is not None and not _gathers(spec))


def _gathers(spec: PoolSpec) -> bool:
    """Whether one window runs down every row and the stream gathers it band by band: global pooling, and
    max or min to one row (their best is that of the bands' bests)."""
    size = spec.window.output_size
    if size is None:
        return False
    one_row = output_shape((2, 1), output_size=size)[0] == 1
    return one_row and (output_shape((2, 2), output_size=size) == (1, 1) or spec.window.mode in ("max", "min"))


class _Prefixed:
    """Standard input whose first bytes were read already (to tell its format); a read gives what has come."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self.head, self.stream = head, stream

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        out = self.stream.read1(n)  # type: ignore[attr-defined]
        # what has come, up to n bytes: more while more is there (a band per pipe buffer costs time), never waiting
        while out and len(out) < n and _ready(self.stream):
            more = self.stream.read1(n - len(out))  # type: ignore[attr-defined]
            if not more:
                break
            out += more
        return out


def _ready(stream: IO[bytes]) -> bool:
    try:
        return bool(select.select([stream], [], [], 0)[0])
    except (OSError, ValueError):  # not a file select takes: a band is what one read gives
        return False
