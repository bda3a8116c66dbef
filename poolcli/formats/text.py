"""Text matrices (CSV, TSV, whitespace) as a reader and writers of the registry.

The parser and the writer themselves are :func:`poolcli.formats.textread.parse_matrix` and :func:`poolcli.formats.textwrite.format_matrix`;
these functions give them the registry's calling convention.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from . import Write, Writer

__all__ = ["encode", "load"]


def load(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The reader of the registry: the float64 matrix of a text file, and notes (a skipped header)."""
    from .textread import parse_matrix
    from . import reader_named

    try:
        return parse_matrix(data, name, max_cells=max_pixels)
    except InputError as exc:
        # a file named as an image that is none: say both readers failed, not just the last one tried
        if os.path.splitext(name)[1].lower() in reader_named("image").extensions:
            raise InputError(f"{name}: not an image Pillow can read, nor a text matrix") from exc
        raise


def encode(
    result: np.ndarray, writer: Writer, options: Mapping[str, Any], *, source_dtype: np.dtype, name: str
) -> tuple[Write, list[tuple[str, str]]]:
    """The writer of the registry: one matrix, delimited by ``options["delimiter"]`` or the format's own."""
    from .textwrite import format_matrix

    if result.ndim == 3:
        raise OutputError(
            f"{name}: the result has {result.shape[2]} channels and {writer.label} holds one matrix; "
            f"use --gray, --channel N, or write .npy"
        )
    delimiter = options.get("delimiter")
    if delimiter is None:
        delimiter = writer.codec
    text = format_matrix(result, delimiter=delimiter, precision=options.get("precision")).encode()
    return (lambda f: f.write(text)), []
