"""What every reader and writer raises: ValueError subclasses whose message names the file and the place at fault.

Only cli.py turns them into one line on stderr. Nothing else lives here, so the registry imports it cheaply.
"""

from __future__ import annotations

__all__ = ["FormatError", "InputError", "OutputError"]


class InputError(ValueError):
    """Input that cannot be read: the message names the file, line or column."""


class OutputError(ValueError):
    """Output that cannot be written as asked."""


class FormatError(OutputError):
    """A format no writer is registered for: it is refused, never handed to another format's writer."""
