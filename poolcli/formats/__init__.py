"""The formats poolcli reads and writes, as data: one table of readers, one of writers.

Formats are recognised by content, never by a file's name: each :class:`Reader` in :data:`READERS` tests
the first bytes in turn, and the first that claims them reads them (text last, as it claims anything). Each
:class:`Writer` in :data:`WRITERS` is found by its format name (an output's extension, or ``--to``); an
unknown name is a :class:`FormatError`, never another format's writer.

This module imports neither numpy nor Pillow (the CLI builds ``--help`` from it): a record names its
functions as ``"module:function"``, imported when first used.

>>> sniff(b"[[1, 2], [3, 4]]").name, sniff(b"1,2\\n3,4\\n").name, sniff(b"\\x93NUMPY\\x01\\x00").name
('json', 'text', 'npy')
>>> writer_for("jpeg").label, writer_for("jpeg").lossy
('JPEG', True)
>>> format_for_path("out/pooled.JSON")
'json'
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import IO, Any, Callable, NamedTuple

from .errors import FormatError, InputError, OutputError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "OUTPUT_OPTIONS",
    "READERS",
    "WRITERS",
    "FormatError",
    "InputError",
    "OutputError",
    "Reader",
    "Write",
    "Writer",
    "batch_extensions",
    "format_for_path",
    "formats_taking",
    "option_scope",
    "reader_named",
    "sniff",
    "split_dims",
    "volume_formats",
    "writer_for",
]

#: What an encoder returns with its notes: a function that writes the encoded output into a binary file.
Write = Callable[[IO[bytes]], object]

#: Pillow refuses images above twice its MAX_IMAGE_PIXELS; that is our default limit too.
DEFAULT_MAX_PIXELS = 178_956_970


def split_dims(text: str) -> tuple[int, ...]:
    """The integers of "K", "HxW" or "HxWxC" ("×" too); ValueError when a part is not an integer.

    >>> split_dims("3x2"), split_dims(" 28×28×3 ")
    ((3, 2), (28, 28, 3))
    """
    return tuple(int(v) for v in str(text).strip().lower().replace("×", "x").split("x"))


def _function(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


# The records are NamedTuples: immutable, comparable and hashable as frozen dataclasses are, and a few
# milliseconds cheaper to define, which `poolcli --help` pays.
class Reader(NamedTuple):
    """One input format: how it is recognised, what reads it, what that gives."""

    name: str  # what Loaded.kind says
    sniff: Callable[[bytes], bool]  # on the first 64 bytes; tried in table order
    load: str  # "module:function": (bytes, or a path when `streams`, name, max_pixels) -> (array, notes)
    yields: str  # what it gives, for help and the docs
    extensions: tuple[str, ...] = ()  # the names batch selects by default (with the dot)
    more_extensions: str = ""  # "module:function" -> more such names, known only at run time (Pillow's plugins)
    streams: bool = False  # reads a path itself: the file's bytes never sit in memory beside its values
    typed: bool = True  # its values carry their type; False: whole numbers decide it (see pipeline.value_type)
    volume: str = (
        ""  # "module:function" reading a volume (D, H, W[, C]) for --volume: (bytes or path, name, max_pixels)
    )

    def loader(self) -> Callable[..., Any]:
        return _function(self.load)

    def volume_loader(self) -> Callable[..., Any]:
        return _function(self.volume)


class Writer(NamedTuple):
    """One output format: the names that choose it, what it holds, which options act on it, what encodes it."""

    name: str
    label: str  # as messages name it: "JPEG", "WebP"
    extensions: tuple[str, ...]  # the names that choose it, as an extension or with --to; the first is `name`
    kind: str  # "text" | "npy" | "json" | "image"
    holds: str  # what it holds, for help and the docs
    dtypes: tuple[str, ...]  # the sample types written as they are; () = every bool, integer and float type
    lossy: bool  # written values are approximate whatever the options
    options: tuple[str, ...]  # the settings its encoder reads: OUTPUT_OPTIONS that act on it, and "layout"
    # "module:function": (result, writer, options, *, source_dtype, name) -> (write(f), notes), each note a pair
    # (line, kind): kind "format" for what the format does to any values, "values" for what it did to these
    encode: str
    codec: str = ""  # told to the encoder: a text format's delimiter, an image's Pillow format
    volume: str = ""  # "module:function" encoding a volume (D, H, W[, C]), as `encode` does; "": holds no volume

    @property
    def binary(self) -> bool:
        """Bytes a terminal cannot show (text and JSON are words)."""
        return self.kind in ("npy", "image")

    def encoder(self) -> Callable[..., Any]:
        return _function(self.encode)

    def volume_encoder(self) -> Callable[..., Any]:
        return _function(self.volume)


# --------------------------------------------------------------------------- recognising inputs

#: NPY's magic
_NPY_MAGIC = b"\x93NUMPY"
#: PNG, JPEG, GIF, BMP, TIFF (both byte orders), RIFF (WebP)
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
#: NetPBM: "P1".."P6", then width and height (comments allowed), or PAM's "P7" with a WIDTH line. Plain
#: ones are all ASCII, so they are tested before text; a text header such as "P1<tab>P2" does not match.
_NETPBM = rb"P[1-6]\s+(?:#[^\n]*\n\s*)*\d+\s+\d+|P7\s[\s\S]*WIDTH"
#: JSON: "[" and a number, a nested "[" or "]" (a UTF-8 BOM and whitespace first allowed). A text matrix
#: never starts so: "[" is no part of a number, and a header such as "[mm],[s]" does not match.
_JSON = rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\[[ \t\r\n]*(?:[\[\]0-9NI-]|\Z)"


def _is_npy(head: bytes) -> bool:
    return head.startswith(_NPY_MAGIC)


def _is_text_start(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        head.decode("ascii")
        return True
    except UnicodeDecodeError:
        return False


def _is_image(head: bytes) -> bool:
    if head.startswith(_IMAGE_MAGIC) or re.match(_NETPBM, head) or head[4:8] == b"ftyp":  # ftyp: AVIF and HEIF
        return True
    if _is_text_start(head):
        return False
    from .images import looks_like_image  # the formats only Pillow's plugins know

    return looks_like_image(head)


def _is_json(head: bytes) -> bool:
    return re.match(_JSON, head) is not None


def _anything(head: bytes) -> bool:
    return True


READERS: tuple[Reader, ...] = (
    Reader(
        "npy",
        _is_npy,
        "poolcli.formats.npy:load",
        "the array as stored: any bool, integer or float type",
        volume="poolcli.formats.volumes:load_npy",
    ),
    Reader(
        "image",
        _is_image,
        "poolcli.formats.images:load",
        "pixels in the sample type the file holds (uint8, uint16, int16, float32 ...), H x W or H x W x C",
        extensions=(".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm", ".ico"),
        more_extensions="poolcli.formats.images:pillow_extensions",
        streams=True,
        volume="poolcli.formats.volumes:load_tiff",
    ),
    Reader(
        "json",
        _is_json,
        "poolcli.formats.jsonfmt:load",
        "int64 (uint64) when every number is an integer, else float64",
        typed=False,
    ),
    Reader("text", _anything, "poolcli.formats.text:load", "a float64 matrix", typed=False),
)


def sniff(head: bytes) -> Reader:
    """The reader for content starting with ``head`` (only its first 64 bytes are looked at)."""
    head = head[:64]
    return next(r for r in READERS if r.sniff(head))


def reader_named(name: str) -> Reader:
    """The reader whose :attr:`Reader.name` (what :attr:`Loaded.kind` says) is ``name``."""
    return next(r for r in READERS if r.name == name)


def batch_extensions() -> tuple[str, ...]:
    """The extensions batch takes without --glob, lower case with the dot, sorted."""
    found: set[str] = set()
    for r in READERS:
        found.update(r.extensions)
        if r.more_extensions:
            found.update(_function(r.more_extensions)())
    return tuple(sorted(found))


# --------------------------------------------------------------------------- writing outputs

#: The output options, as Writer.options names them (each is refused where no output it acts on is written)
OUTPUT_OPTIONS = ("precision", "delimiter", "rescale", "compress_level", "quality")

_TEXT = "poolcli.formats.text:encode"
_IMAGE = "poolcli.formats.imagewrite:encode"
_TEXT_OPTIONS = ("precision", "delimiter")
_EXACTLY = "every integer and float value exactly (its shortest round-trip form)"

_WRITERS = (
    Writer("csv", "CSV", ("csv",), "text", "one matrix; " + _EXACTLY, (), False, _TEXT_OPTIONS, _TEXT, codec=","),
    Writer("tsv", "TSV", ("tsv",), "text", "one matrix; " + _EXACTLY, (), False, _TEXT_OPTIONS, _TEXT, codec="\t"),
    Writer("txt", "TXT", ("txt",), "text", "one matrix; " + _EXACTLY, (), False, _TEXT_OPTIONS, _TEXT, codec=" "),
    Writer(
        "npy",
        "NPY",
        ("npy",),
        "npy",
        "any bool, integer or float array, as stored",
        (),
        False,
        ("layout",),
        "poolcli.formats.npy:encode",
        volume="poolcli.formats.volumes:encode_npy",
    ),
    Writer(
        "json",
        "JSON",
        ("json",),
        "json",
        "2-D or 3-D; " + _EXACTLY,
        (),
        False,
        ("layout",),
        "poolcli.formats.jsonfmt:encode",
    ),
    Writer(
        "png",
        "PNG",
        ("png",),
        "image",
        "8- or 16-bit grey, grey+alpha, RGB, RGBA",
        ("uint8", "uint16"),
        False,
        ("rescale", "compress_level"),
        _IMAGE,
        codec="PNG",
    ),
    Writer(
        "jpg",
        "JPEG",
        ("jpg", "jpeg"),
        "image",
        "8-bit grey or RGB; lossy",
        ("uint8",),
        True,
        ("rescale", "quality"),
        _IMAGE,
        codec="JPEG",
    ),
    Writer("bmp", "BMP", ("bmp",), "image", "8-bit grey or RGB", ("uint8",), False, ("rescale",), _IMAGE, codec="BMP"),
    Writer(
        "tif",
        "TIFF",
        ("tif", "tiff"),
        "image",
        "8-, 16- or 32-bit integers (signed or not) or float32, 1 to 4 channels",
        ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32"),
        False,
        ("rescale",),
        _IMAGE,
        codec="TIFF",
        volume="poolcli.formats.volumes:encode_tiff",
    ),
    Writer(
        "webp",
        "WebP",
        ("webp",),
        "image",
        "8-bit, alpha too; lossless unless --quality",
        ("uint8",),
        False,
        ("rescale", "quality"),
        _IMAGE,
        codec="WEBP",
    ),
    Writer("gif", "GIF", ("gif",), "image", "8-bit; 256 colours", ("uint8",), False, ("rescale",), _IMAGE, codec="GIF"),
)

#: Every name that chooses a writer (an output's extension, or --to), in --help order
WRITERS: Mapping[str, Writer] = {ext: w for w in _WRITERS for ext in w.extensions}
OUTPUT_FORMATS: tuple[str, ...] = tuple(WRITERS)


def writer_for(fmt: str) -> Writer:
    """The writer of format ``fmt`` (case ignored); :class:`FormatError` for a format no writer is registered for."""
    try:
        return WRITERS[fmt.lower()]
    except KeyError:
        raise FormatError(f"no writer for the format {fmt!r}; poolcli writes {', '.join(OUTPUT_FORMATS)}") from None


def volume_formats() -> str:
    """Which outputs hold a volume, as messages say it.

    >>> volume_formats()
    'a volume is written as .npy or .tif/.tiff'
    """
    names = ["/".join("." + e for e in w.extensions) for w in _WRITERS if w.volume]
    return "a volume is written as " + " or ".join(names)


def format_for_path(path: str) -> str | None:
    """The output format named by a path's extension, or None."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return ext if ext in WRITERS else None


def formats_taking(option: str) -> tuple[str, ...]:
    """The format names whose writer an output option acts on.

    >>> formats_taking("quality")
    ('jpg', 'jpeg', 'webp')
    """
    return tuple(f for f, w in WRITERS.items() if option in w.options)


def option_scope(option: str) -> str:
    """The outputs an option acts on, as messages say it: every writer of one kind, or their labels.

    >>> option_scope("precision"), option_scope("rescale"), option_scope("quality")
    ('text output (CSV, TSV, TXT)', 'image output', 'JPEG and WebP output')
    """
    takers = list(dict.fromkeys(WRITERS[f] for f in formats_taking(option)))
    kinds = {w.kind for w in takers}
    if len(takers) > 1 and len(kinds) == 1:
        kind = kinds.pop()
        if takers == [w for w in _WRITERS if w.kind == kind]:
            return "image output" if kind == "image" else f"{kind} output ({', '.join(w.label for w in takers)})"
    labels = [w.label for w in takers]
    return (", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else "".join(labels)) + " output"
