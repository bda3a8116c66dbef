"""`show` on a stream: a large text, NPY or PNG input read band by band into a glimpse (its corners and the
statistics of every value), so that its view takes the memory of a band and of the corners, not of the input.

Small inputs (one band or less) and every other kind are left to the whole path, which reads them as before.
The values, the notes and the refusals are those of the whole path: the same band readers as a streamed
`pool`, the same channel selection and layout rule band by band.
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import Any, Callable

from .. import formats
from ..formats.errors import InputError
from ..formats.files import Loaded, byte_limit, load_bytes, peek, read_bytes
from ..glimpse import Glimpse
from ..specs import PoolSpec

__all__ = ["glimpse_input"]


def glimpse_input(
    source: str,
    glimpse: Glimpse,
    *,
    max_pixels: int,
    channel: int | None,
    layout: str | None,
    say: Callable[[list[str]], None],
) -> Any:
    """Feed ``source`` (a path or ``-``) into ``glimpse`` band by band, the channels selected, and return its name.

    Returns None, having read nothing, where the whole path is to read it, or the :class:`Loaded` input when
    standard input turned out to be small or not text (it has been read whole, as the whole path reads it).
    ``say`` is given the input's notes (a header skipped, how its axes are taken).
    """
    from . import BAND_BYTES

    spec = PoolSpec(channel=channel, layout=layout)
    if source == "-":
        return _stdin(glimpse, spec, max_pixels, say)
    head = peek(source)
    reader = formats.sniff(head) if head else None
    if reader is None:
        return None
    named_image = os.path.splitext(source)[1].lower() in formats.reader_named("image").extensions
    if reader.name == "text" and not named_image and os.path.getsize(source) > BAND_BYTES:
        from ..formats.textstream import read_bands

        with open(source, "rb") as f:
            bands = read_bands(f, source, max_width=max_pixels, band_bytes=BAND_BYTES)
            return _feed(bands, "text", glimpse, spec, say)
    if reader.name == "npy":
        return _npy(source, glimpse, spec, say, BAND_BYTES)
    if reader.name == "image" and spec.layout != "chw":  # chw: the whole path refuses it
        from . import open_image

        opened = open_image(source, max_pixels)
        if opened is None:  # small, or not an image read band by band as the whole path reads it
            return None
        with opened as bands:
            return _feed(bands, "image", glimpse, spec, say)
    return None


def _npy(path: str, glimpse: Glimpse, spec: PoolSpec, say: Callable[[list[str]], None], band_bytes: int) -> Any:
    from ..formats.npystream import open_npy
    from ..pipeline import to_hwc

    opened = open_npy(path, band_bytes=band_bytes)
    if opened is None:  # damaged, refused, or not 2-D/3-D: the whole path says what it holds
        return None
    with opened as bands:
        if bands.array.nbytes <= band_bytes:
            return None
        loaded, notes = to_hwc(Loaded(bands.array, "npy", path), spec)
        say([str(n) for n in notes])
        bands.array = loaded.array
        return _feed(bands, "npy", glimpse, spec, say)


def _stdin(glimpse: Glimpse, spec: PoolSpec, max_pixels: int, say: Callable[[list[str]], None]) -> Any:
    from . import BAND_BYTES, _Prefixed
    from ..formats.textstream import read_bands

    stream: Any = sys.stdin.buffer
    data = b""
    while len(data) <= BAND_BYTES and (more := stream.read1(BAND_BYTES + 1 - len(data))):
        data += more
    if len(data) <= BAND_BYTES or formats.sniff(data).name != "text":  # read whole, as the whole path reads it
        limit = byte_limit(max_pixels)
        data += read_bytes("-", limit=limit)
        if len(data) > limit:  # as read_bytes says it of the whole stream
            raise InputError(f"<stdin>: more than {limit:,} bytes; raise --max-pixels if this input is meant")
        return load_bytes(data, "<stdin>", max_pixels=max_pixels)
    bands = read_bands(_Prefixed(data, stream), "<stdin>", max_width=max_pixels, band_bytes=BAND_BYTES)
    return _feed(bands, "text", glimpse, spec, say)


def _feed(bands: Any, kind: str, glimpse: Glimpse, spec: PoolSpec, say: Callable[[list[str]], None]) -> str:
    from ..pipeline import select_channels, to_hwc

    name = bands.name
    given = iter(bands)
    first = next(given)
    if kind == "text":
        to_hwc(Loaded(first, kind, name), spec)  # refuses --layout chw, as for the whole matrix
    say(list(bands.notes))
    for band in itertools.chain([first], given):
        glimpse.add(select_channels(Loaded(band, kind, name), spec))
    return name
