"""What every reader and writer raises or returns; numpy-free, so the registry and the CLI import it cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["InputError", "OutputError", "FormatError", "Loaded"]


class InputError(ValueError):
    """Input that cannot be read: the message names the file, line or column."""


class OutputError(ValueError):
    """Output that cannot be written as asked."""


class FormatError(OutputError):
    """A format no writer is registered for: it is refused, never handed to another format's writer."""


@dataclass
class Loaded:
    """A loaded input: the array and what is known of where it came from."""

    array: np.ndarray
    kind: str  # the reader's name: "image", "npy", "json" or "text"
    name: str  # the path, or "<stdin>"
    notes: list[str] = field(default_factory=list)
