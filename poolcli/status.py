"""How poolcli ends: its exit statuses, and the one way to end at once (for signal handlers)."""

from __future__ import annotations

import os
from enum import IntEnum
from typing import NoReturn

__all__ = ["ExitStatus", "end_now"]


class ExitStatus(IntEnum):
    """The exit status of every command."""

    OK = 0
    FAILURE = 1  # an input, an output or the run failed; the message says which
    USAGE = 2  # options or arguments that cannot be used
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: 128 + SIGINT, as shells report a process ended by Ctrl-C


def end_now(*, say: bool = True, before: bytes = b"") -> NoReturn:
    """Remove what this process has half written, write ``before`` and "interrupted" to stderr, and exit at once.

    For signal handlers: an exception raised at an arbitrary point (inside an import, a ``finally``) can come out
    as another exception or a traceback, so the process ends here with :attr:`ExitStatus.INTERRUPTED`, running
    no more Python. ``say=False`` ends without a word (a worker whose parent is gone).
    """
    from .io import remove_temporaries

    remove_temporaries()
    try:
        if say:
            os.write(2, before + b"poolcli: interrupted\n")
    finally:
        os._exit(ExitStatus.INTERRUPTED)
