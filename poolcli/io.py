"""Reading and writing matrices and images: the names callers have always imported from here.

The readers and writers live in :mod:`poolcli.formats`, registered in its tables; this module re-exports
them, the text matrices (CSV, TSV, whitespace) included.
Formats are recognised by content, never by a file's name. Errors are :class:`InputError` /
:class:`OutputError` (ValueError subclasses) with a message that names the file, line and column at fault.
"""

from __future__ import annotations

from . import formats
from .formats import DEFAULT_MAX_PIXELS, OUTPUT_FORMATS, format_for_path
from .formats.errors import InputError, OutputError
from .formats.files import (
    Loaded,
    atomic_writer,
    byte_limit,
    check_destination,
    load_bytes,
    read_bytes,
    read_input,
    remove_temporaries,
    same_file,
    write_output,
)
from .formats.images import gray
from .formats.imagewrite import image_bits, image_writer, to_image_array
from .formats.textread import parse_matrix
from .formats.textwrite import check_delimiter, format_matrix

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "InputError",
    "Loaded",
    "OutputError",
    "atomic_writer",
    "byte_limit",
    "check_delimiter",
    "check_destination",
    "format_for_path",
    "format_matrix",
    "gray",
    "image_bits",
    "image_writer",
    "load_bytes",
    "parse_matrix",
    "read_bytes",
    "read_input",
    "remove_temporaries",
    "same_file",
    "sniff",
    "to_image_array",
    "write_output",
]


def sniff(data: bytes) -> str:
    """The name of the reader for the content ``data`` starts with: "npy", "image", "json" or "text"."""
    return formats.sniff(data).name
