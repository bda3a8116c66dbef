"""Files and streams: bounded reads, atomic writes, and the temporaries a stopped process must remove.

``-`` means standard input or output. Outputs are written atomically: a temporary file in the target folder,
then a rename, so a failed or interrupted run leaves no partial file behind. Every error is an
:class:`InputError` / :class:`OutputError` naming the path. No numpy: nothing here looks inside the bytes.
"""

from __future__ import annotations

import glob
import io as _io
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, BinaryIO

from . import DEFAULT_MAX_PIXELS, Write, sniff
from .errors import InputError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "Loaded",
    "atomic_writer",
    "byte_limit",
    "check_destination",
    "load_bytes",
    "peek",
    "read_bytes",
    "read_input",
    "remove_temporaries",
    "same_file",
    "write_output",
]

#: Input is refused past this many bytes per allowed cell (a long float with its delimiter is < 32) ...
TEXT_BYTES_PER_CELL = 32
#: ... and past 1 GiB unless --max-pixels was raised above its default.
DEFAULT_BYTE_LIMIT = 1 << 30


def byte_limit(max_pixels: int) -> int:
    """The most bytes read from one input: a 10 GB stream is refused, not loaded."""
    limit = max_pixels * TEXT_BYTES_PER_CELL + (1 << 20)
    return limit if max_pixels > DEFAULT_MAX_PIXELS else min(limit, DEFAULT_BYTE_LIMIT)


@dataclass
class Loaded:
    """A loaded input: the array and what is known of where it came from."""

    array: np.ndarray
    kind: str  # the name of the reader that read it: "image", "npy", "json" or "text"
    name: str  # the path, or "<stdin>"
    notes: list[str] = field(default_factory=list)


def read_input(source: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Loaded:
    """Return the array held by ``source`` (a path or ``-``), recognised by content.

    Images come back in the sample type their file holds (uint8, uint16, int16, float32 ...), H x W or
    H x W x C; NPY as stored; text as float64; JSON as int64 or float64 (see :data:`poolcli.formats.READERS`).
    """
    name = "<stdin>" if source == "-" else source
    head = peek(source)
    reader = sniff(head) if head else None
    if reader is not None and reader.streams:
        array, notes = reader.loader()(source, name, max_pixels)
        return Loaded(array, reader.name, name, notes)
    data = read_bytes(source, limit=byte_limit(max_pixels))
    return load_bytes(data, name, max_pixels=max_pixels)


def load_bytes(data: bytes, name: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Loaded:
    """Return the array in ``data``, read by the reader its first bytes call for; ``name`` is for messages.

    Raises :class:`InputError` for anything that is not a readable numeric
    matrix or image, and nothing else (the fuzz target holds it to that).
    """
    if not data:
        raise InputError(f"{name}: is empty")
    reader = sniff(data)
    array, notes = reader.loader()(data, name, max_pixels)
    return Loaded(array, reader.name, name, notes)


def peek(source: str, size: int = 64) -> bytes:
    """The first ``size`` bytes of a regular file, for sniffing; empty for ``-``, a pipe, or a file that cannot be read.

    Nothing is consumed from a stream: what cannot be peeked is read whole, and read_bytes says what is wrong.
    """
    if source == "-" or not os.path.isfile(source):
        return b""
    try:
        with open(source, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


#: Said of a folder given where a file is read: only --volume reads a folder (its files are the slices).
IS_A_FOLDER = "is a folder; add --volume to read its slices as a volume"


def read_bytes(source: str, limit: int | None = None) -> bytes:
    """Return the bytes of a path, or of standard input for ``-``, refusing more than ``limit``."""
    name = "<stdin>" if source == "-" else source
    try:
        if source == "-":
            data = _read_capped(sys.stdin.buffer, limit)
        else:
            if os.path.isdir(source):
                raise InputError(f"{source}: {IS_A_FOLDER}")
            with open(source, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if limit is not None and size > limit:
                    raise InputError(f"{name}: more than {limit:,} bytes; raise --max-pixels if this input is meant")
                data = f.read() if size else _read_capped(f, limit)  # size 0: maybe a pipe or /proc file
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except IsADirectoryError:
        raise InputError(f"{name}: {IS_A_FOLDER}") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if limit is not None and len(data) > limit:
        raise InputError(f"{name}: more than {limit:,} bytes; raise --max-pixels if this input is meant")
    return data


def _read_capped(stream: BinaryIO, limit: int | None) -> bytes:
    """Read a stream to its end, or to one byte past ``limit``, a chunk at a time (no huge buffer up front)."""
    if limit is None:
        return stream.read()
    chunks, total = [], 0
    while total <= limit:
        chunk = stream.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same file (the second may not exist yet)."""
    if a == "-" or b == "-":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_destination(path: str) -> None:
    """Refuse an output path whose folder is missing, that names a folder or a link loop, before anything is done."""
    _write_target(path)


def _write_target(path: str) -> tuple[str, bool]:
    """Return the file a write to ``path`` lands in, and whether it is renamed into place.

    A symlink is followed to its target (a dangling one too), so the link
    stays and its target gets the output. A device or pipe that exists
    (``/dev/null``, a FIFO) is written in place: it cannot be renamed over.
    """
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a link loop, a file used as a folder ...
        raise OutputError(f"{path}: cannot write there ({_why(exc)})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a folder; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        return path, False
    target = os.path.realpath(path) if os.path.islink(path) else path
    if not os.path.isdir(os.path.dirname(os.path.abspath(target))):
        if target != path:
            raise OutputError(f"{path}: links to {target}, whose folder does not exist")
        raise OutputError(f"{path}: output folder {os.path.dirname(path) or '.'} does not exist")
    return target, True


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


@contextmanager
def _named(name: str) -> Iterator[None]:
    """Turn an OSError into one line naming ``name`` (a reader that went away stays a BrokenPipeError)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{name}: cannot write ({_why(exc)})") from None


def _read_umask() -> int:
    """The process's umask, read without changing it where Linux tells it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)  # elsewhere it can only be read by setting it, once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextmanager
def atomic_writer(path: str) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces ``path`` (a symlink's target) only once it is completely written.

    Every error on the way (no room, no permission, a read-only disk, a
    failed rename) is an :class:`OutputError` naming ``path``.
    """
    target, renamed = _write_target(path)
    if not renamed:
        buf = _io.BytesIO()  # a pipe cannot seek, and some encoders (TIFF) do
        yield buf
        with _named(path), open(target, "wb") as f:
            f.write(buf.getvalue())
        return
    folder = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        try:
            start = os.path.join(folder, "." + os.path.basename(target) + ".")
            _STARTING.add(start)  # the file exists before mkstemp returns its name: a stop meanwhile finds it so
            try:
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(start), suffix=".tmp")
                _LIVE_TEMPORARIES.add(tmp)
            finally:
                _STARTING.discard(start)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write in {os.path.dirname(target) or '.'} ({_why(exc)})") from None
        with _named(path):
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())  # the data is on disk before the name points at it
            try:
                mode = os.stat(target).st_mode & 0o777  # replacing a file keeps its permissions
            except OSError:
                mode = 0o666 & ~_UMASK
            os.chmod(tmp, mode)
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputError(f"{path}: cannot put the finished output in place ({_why(exc)})") from None
        _LIVE_TEMPORARIES.discard(tmp)
        tmp = None
    except BaseException:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
            _LIVE_TEMPORARIES.discard(tmp)
        raise


#: Temporary files being written now, for a signal handler that must end the process at once ...
_LIVE_TEMPORARIES: set[str] = set()
#: ... and the start of the names of those being created, whose names are not known yet
_STARTING: set[str] = set()


def remove_temporaries() -> None:
    """Delete every temporary output file still being written (called when the process is stopped)."""
    starting = [tmp for start in list(_STARTING) for tmp in glob.glob(glob.escape(start) + "*.tmp")]
    for tmp in starting + list(_LIVE_TEMPORARIES):
        with suppress(OSError):
            os.unlink(tmp)


def write_output(path: str, payload: bytes | Write) -> int:
    """Write bytes, or what a writer function writes, to ``path`` atomically (or stdout for ``-``); return the size."""
    writer = payload if callable(payload) else (lambda f: f.write(payload))
    if path == "-":
        buf = _io.BytesIO()  # some encoders (TIFF) seek, which a pipe cannot
        writer(buf)
        with _named("<stdout>"):
            sys.stdout.buffer.write(buf.getvalue())
            sys.stdout.buffer.flush()
        return buf.tell()
    with atomic_writer(path) as f:
        writer(f)
        return f.tell()
