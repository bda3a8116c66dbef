"""Reading and writing matrices and images: text, NPY and whatever Pillow opens.

``-`` means standard input or output. Formats are recognised by content
(image magic bytes, the NPY magic, otherwise text), never by a file's name.
Outputs are written atomically: a temporary file in the target folder, then a
rename, so a failed or interrupted run leaves no partial file behind.

Errors are :class:`InputError` / :class:`OutputError` (ValueError subclasses)
with a message that names the file, line and column at fault.
"""

from __future__ import annotations

import io as _io
import os
import re
import stat
import threading
import sys
import tempfile
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import IO, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np

from .formats import DEFAULT_MAX_PIXELS, IMAGE_FORMATS, OUTPUT_FORMATS, TEXT_FORMATS

__all__ = [
    "InputError",
    "OutputError",
    "Loaded",
    "DEFAULT_MAX_PIXELS",
    "TEXT_FORMATS",
    "IMAGE_FORMATS",
    "OUTPUT_FORMATS",
    "read_input",
    "read_bytes",
    "parse_matrix",
    "format_matrix",
    "check_delimiter",
    "format_for_path",
    "write_output",
    "atomic_writer",
    "to_image_array",
    "image_writer",
    "same_file",
    "check_destination",
    "remove_temporaries",
]

#: Input is refused past this many bytes per allowed cell (a long float with its delimiter is < 32) ...
TEXT_BYTES_PER_CELL = 32
#: ... and past 1 GiB unless --max-pixels was raised above its default.
DEFAULT_BYTE_LIMIT = 1 << 30


def byte_limit(max_pixels: int) -> int:
    """The most bytes read from one input: a 10 GB stream is refused, not loaded."""
    limit = max_pixels * TEXT_BYTES_PER_CELL + (1 << 20)
    return limit if max_pixels > DEFAULT_MAX_PIXELS else min(limit, DEFAULT_BYTE_LIMIT)
_SIXTEEN_BIT = {"PNG", "TIFF"}
_NPY_MAGIC = b"\x93NUMPY"


class InputError(ValueError):
    """Input that cannot be read: the message names the file, line or column."""


class OutputError(ValueError):
    """Output that cannot be written as asked."""


@dataclass
class Loaded:
    """A loaded input: the array and what is known of where it came from."""

    array: np.ndarray
    kind: str  # "image", "npy" or "text"
    name: str  # the path, or "<stdin>"
    notes: List[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def read_bytes(source: str, limit: Optional[int] = None) -> bytes:
    """Return the bytes of a path, or of standard input for ``-``, refusing more than ``limit``."""
    name = "<stdin>" if source == "-" else source
    try:
        if source == "-":
            data = _read_capped(sys.stdin.buffer, limit)
        else:
            if os.path.isdir(source):
                raise InputError(f"{source}: is a folder, not a file")
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
        raise InputError(f"{name}: is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if limit is not None and len(data) > limit:
        raise InputError(f"{name}: more than {limit:,} bytes; raise --max-pixels if this input is meant")
    return data


def _read_capped(stream, limit: Optional[int]) -> bytes:
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


def _looks_like_image(head: bytes) -> bool:
    from PIL import Image

    Image.preinit()
    Image.init()
    for plugin_id in Image.ID:
        accept = Image.OPEN[plugin_id][1]
        if accept is not None:
            try:
                if accept(head):
                    return True
            except Exception:  # a plugin's sniffer must not decide for us
                continue
    return False


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
#: NetPBM: "P1".."P6", then width and height (comments allowed), or PAM's "P7" with a WIDTH line. Plain
#: ones are all ASCII, so they are tested before text; a text header such as "P1<tab>P2" does not match.
_NETPBM = re.compile(rb"P[1-6]\s+(?:#[^\n]*\n\s*)*\d+\s+\d+|P7\s[\s\S]*WIDTH")


def sniff(data: bytes) -> str:
    """Return "npy", "image" or "text" for the content ``data`` starts with."""
    head = data[:64]
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if head.startswith(_IMAGE_MAGIC) or _NETPBM.match(head) or head[4:8] == b"ftyp":  # ftyp: AVIF and HEIF, all ASCII at first
        return "image"
    if _is_text_start(head):
        return "text"
    return "image" if _looks_like_image(head) else "text"


def _is_text_start(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        head.decode("ascii")
        return True
    except UnicodeDecodeError:
        return False


def read_input(source: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Loaded:
    """Return the array held by ``source`` (a path or ``-``), recognised by content.

    Images come back in the sample type their file holds (uint8, uint16,
    int16, float32 ...), H x W or H x W x C; text as float64; NPY as stored.
    """
    name = "<stdin>" if source == "-" else source
    if source != "-" and os.path.isfile(source):
        try:
            with open(source, "rb") as f:
                head = f.read(64)
        except OSError:
            head = b""  # read_bytes below says what is wrong
        if head and sniff(head) == "image":
            # Pillow reads the file itself: the compressed bytes never sit in memory beside the pixels
            return _read_image(source, name, max_pixels)
    data = read_bytes(source, limit=byte_limit(max_pixels))
    return load_bytes(data, name, max_pixels=max_pixels)


def load_bytes(data: bytes, name: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Loaded:
    """Return the array in ``data`` (image, NPY or text, by content); ``name`` is for messages.

    Raises :class:`InputError` for anything that is not a readable numeric
    matrix or image, and nothing else (the fuzz target holds it to that).
    """
    if not data:
        raise InputError(f"{name}: is empty")
    kind = sniff(data)
    if kind == "npy":
        return Loaded(_read_npy(data, name), "npy", name)
    if kind == "image":
        return _read_image(data, name, max_pixels)
    try:
        array, notes = parse_matrix(data, name, max_cells=max_pixels)
    except InputError as exc:
        ext = os.path.splitext(name)[1].lower().lstrip(".")
        if ext in IMAGE_FORMATS or ext in ("ppm", "pgm", "pbm", "ico"):
            raise InputError(f"{name}: not an image Pillow can read, nor a text matrix") from exc
        raise
    return Loaded(array, "text", name, notes=notes)


#: NPY element types that hold no plain numbers, by numpy's kind code
_NPY_REFUSED = {
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "U": "text",
    "S": "bytes",
    "V": "raw bytes (void)",
    "O": "Python objects",
}


def _native(arr: np.ndarray, name: str) -> np.ndarray:
    """Return a loaded NPY array in the native-order type the engine takes, or refuse its type in one line.

    Byte order changes no value, so it is converted without a note; bool becomes uint8 0/1 (the same
    numbers, in a type every filter and image writer takes).
    """
    dt = arr.dtype
    if dt.names is not None:
        fields = ", ".join(dt.names[:4]) + (", ..." if len(dt.names) > 4 else "")
        raise InputError(f"{name}: NPY dtype is a structured record (fields {fields}), not supported; "
                         f"poolcli reads bool, integer and float arrays")
    if dt.kind in _NPY_REFUSED or (dt.kind == "f" and dt.itemsize > 8):
        what = _NPY_REFUSED.get(dt.kind, "extended precision")
        spelled = dt.str if dt.kind in "USV" else dt.name
        hint = "; convert it to float64 first" if dt.kind == "f" else ""
        raise InputError(f"{name}: NPY dtype {spelled} ({what}) is not supported; "
                         f"poolcli reads bool, integer and float arrays{hint}")
    if dt.kind == "b":
        return arr.astype(np.uint8)
    if not dt.isnative:
        # np.load gives a fresh, writable array: swap it in place rather than hold a second copy
        return arr.byteswap(inplace=True).view(dt.newbyteorder("="))
    return arr


def _read_npy(data: bytes, name: str) -> np.ndarray:
    """Return the 2-D or 3-D array of an NPY file, in native byte order (bool as uint8)."""
    try:
        arr = np.load(_io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise InputError(f"{name}: NPY holds Python objects; refused (it would need unpickling)") from None
        raise InputError(f"{name}: truncated or damaged NPY file ({exc})") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy's header parser raises many kinds (tokenize, struct, EOF ...)
        raise InputError(f"{name}: truncated or damaged NPY file ({type(exc).__name__}: {exc})") from None
    arr = _native(arr, name)
    if arr.ndim not in (2, 3):
        raise InputError(f"{name}: NPY array is {arr.ndim}-D with shape {arr.shape}; poolcli reads 2-D (H, W) or 3-D (H, W, C)")
    if 0 in arr.shape:
        raise InputError(f"{name}: NPY array is empty (shape {arr.shape})")
    return arr


#: Pillow's pixel limit and the warning filters are process-wide: one image opens at a time (threads of a Dask worker)
_PIL_LIMIT = threading.Lock()


def _read_image(data, name: str, max_pixels: int) -> Loaded:
    """Decode an image from bytes or a path, by the reader its header asks for.

    Pillow reads what it reads exactly; PGM/PPM/PAM are read as stored; samples Pillow would narrow
    (16-bit colour PNG, most TIFFs that are not 8-bit) go to libvips, or are refused when it is not
    installed. A PNG is checked whole first: Pillow would fill rows missing from a short file with 0.
    """
    from . import imagecodecs

    try:
        try:
            with open(data, "rb") if isinstance(data, str) else _io.BytesIO(data) as f:
                with _PIL_LIMIT, warnings.catch_warnings():  # the filter is process-wide, as Pillow's limit is
                    warnings.simplefilter("ignore")  # Pillow's TIFF tag parser remarks on odd tags: not the user's concern
                    header = imagecodecs.read_header(f)
                if header is not None and header.format == "PNG":
                    imagecodecs.check_png(f, max_pixels)  # inflates the pixel data once more: Pillow cannot say
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
        return _decode_image(data, name, max_pixels, header)
    except imagecodecs.Damaged as exc:
        raise InputError(f"{name}: damaged or truncated image ({exc})") from None
    except imagecodecs.ImageError as exc:
        raise InputError(f"{name}: {exc}") from None


def _decode_image(data, name: str, max_pixels: int, header) -> Loaded:
    """The pixels of an image whose header said ``header`` (None: a format Pillow reads as it is)."""
    from . import imagecodecs

    if header is None or header.reader == "pillow":
        return _read_with_pillow(data, name, max_pixels, header)
    notes: List[str] = []
    if header.reader == "pnm":
        raw = data if isinstance(data, bytes) else read_bytes(data, limit=byte_limit(max_pixels))
        arr, notes = imagecodecs.read_pnm(raw, max_pixels)
    elif header.reader == "vips":
        arr, pages = imagecodecs.read_vips(data, header, max_pixels)
        notes += [header.note] if header.note else []
        if pages > 1:
            notes.append(f"{header.format} has {pages} frames; using the first")
    else:
        raise imagecodecs.ImageError(
            f"a {header.what}: neither Pillow nor libvips reads its samples exactly; convert it to NPY, or to a 16-bit PNG or TIFF"
        )
    return Loaded(arr, "image", name, notes=[f"{name}: {n}" for n in notes])


def _read_with_pillow(data, name: str, max_pixels: int, header) -> Loaded:
    """The image as Pillow decodes it, in the sample type its header declares when it has one of ours."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from . import imagecodecs

    printed: List[str] = []  # what libtiff said on file descriptor 2
    try:
        with _PIL_LIMIT:  # the limit and the warning filter are process-wide; Pillow checks them when opening
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Pillow's remarks on odd metadata ("Corrupt EXIF data") are not the user's
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    opened = Image.open(_io.BytesIO(data) if isinstance(data, bytes) else data)
            finally:
                Image.MAX_IMAGE_PIXELS = old
        with opened, _c_stderr(printed) if opened.format == "TIFF" else nullcontext():
            fmt = opened.format
            n_frames = getattr(opened, "n_frames", 1)
            im = opened
            if im.getexif().get(0x0112, 1) != 1:  # only then: exif_transpose copies the whole image
                im = ImageOps.exif_transpose(im)
            im.load()
            arr = _image_to_array(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name}: {imagecodecs.too_many_pixels(max_pixels)}") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image Pillow can read") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many kinds (OSError, IndexError, struct ...)
        said = "".join(printed).split("\n")
        why = f"libtiff: {said[0].strip()}" if said[0].strip() else f"{type(exc).__name__}: {exc}"
        raise InputError(f"{name}: damaged or truncated image ({why})") from None
    if header is not None and arr.dtype != header.dtype and arr.dtype.kind in "iu" and header.dtype.kind in "iu":
        arr = arr.astype(header.dtype)  # Pillow's 32-bit mode I holding the file's int16 / uint16 samples
    notes = []
    if n_frames > 1:
        notes.append(f"{name}: {fmt} has {n_frames} frames; using the first")
    if arr.shape[0] * arr.shape[1] > max_pixels:
        raise InputError(f"{name}: image has more than {max_pixels:,} pixels; pass --max-pixels N to allow it")
    return Loaded(arr, "image", name, notes=notes)


#: file descriptor 2 is the process's: one decoder at a time takes it over
_FD2 = threading.Lock()


@contextmanager
def _c_stderr(into: List[str]) -> Iterator[None]:
    """Collect into ``into`` what C code (libtiff) prints on stderr meanwhile, so that it never reaches the user.

    Pillow's libtiff decoder prints its errors there, beside the one line poolcli gives.
    """
    with _FD2, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            into.append(sink.read().decode("utf-8", "replace"))


def _image_to_array(im) -> np.ndarray:
    mode = im.mode
    if mode == "1":
        im = im.convert("L")
    elif mode == "P":
        if "transparency" in im.info:
            im = im.convert("RGBA")
        else:
            pal = np.zeros((256, 3), dtype=np.uint8)  # indices past a short palette are black, as Pillow shows them
            given = np.array(im.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]
            pal[: len(given)] = given
            used = pal[np.flatnonzero(im.histogram()[:256])]
            # a gray palette (GIFs of gray images) reads back as one channel, as it was written
            im = im.convert("L" if (used[:, 0] == used[:, 1]).all() and (used[:, 1] == used[:, 2]).all() else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        im = im.convert("RGB")
    elif mode == "La":
        im = im.convert("LA")
    elif mode.startswith("I;16"):
        return _pixels(im).astype(np.uint16, copy=False)
    return _pixels(im)


#: Images with more pixels than this are converted a band of rows at a time.
_PIXEL_BAND_MIN = 1 << 22
_PIXEL_BAND_ROWS = 512


def _pixels(im) -> np.ndarray:
    """The image's pixels as an array.

    np.asarray(im) goes through im.tobytes(), which holds the pixels twice
    more; a large image is copied band by band instead, so the peak is the
    decoded image plus the array.
    """
    w, h = im.size
    if w * h <= _PIXEL_BAND_MIN or h <= _PIXEL_BAND_ROWS:
        return np.asarray(im)
    first = np.asarray(im.crop((0, 0, w, _PIXEL_BAND_ROWS)))
    out = np.empty((h,) + first.shape[1:], dtype=first.dtype)
    out[:_PIXEL_BAND_ROWS] = first
    for r0 in range(_PIXEL_BAND_ROWS, h, _PIXEL_BAND_ROWS):
        r1 = min(r0 + _PIXEL_BAND_ROWS, h)
        out[r0:r1] = np.asarray(im.crop((0, r0, w, r1)))
    return out


# --------------------------------------------------------------------------- text


_INF_WORDS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: damaged UTF-16 text") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{name}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def _delimiter(line: str) -> Optional[str]:
    for delim in (",", ";"):
        if delim in line:
            return delim
    if "\t" in line:
        cells = line.split("\t")
        # "1 2<tab>3 4": tabs and spaces both separate numbers, so any whitespace does
        if any(len(c.split()) > 1 and all(_is_number(t) for t in c.split()) for c in cells):
            return None
        return "\t"  # a TSV: an empty cell stays an error, a header may have spaces in its names
    return None  # whitespace


def _split(line: str, delim: Optional[str]) -> List[str]:
    if delim is None:
        return [c.strip('"') for c in line.split()]
    return [c.strip().strip('"') for c in line.split(delim)]


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def parse_matrix(data, name: str = "<stdin>", *, max_cells: int = DEFAULT_MAX_PIXELS) -> Tuple[np.ndarray, List[str]]:
    """Return the float64 matrix in ``data`` (bytes or str) and notes about it.

    Comma, tab, semicolon or whitespace separated (detected from the first data
    row); ``#`` comment lines and blank lines skipped; CRLF, a UTF-8 BOM and
    UTF-16 with a BOM accepted; ``nan`` and ``inf`` accepted. A first row with
    no number in it is a header and is skipped, with a note. Ragged rows,
    non-numeric cells, numbers beyond float64 and empty input raise
    :class:`InputError` naming the line and column.
    """
    text = _decode(data, name) if isinstance(data, (bytes, bytearray, memoryview)) else data
    lines = text.splitlines()
    rows: List[Tuple[int, str]] = [
        (i, line) for i, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        raise InputError(f"{name}: no numbers (empty, or only comments and blank lines)")
    delim = _delimiter(rows[0][1])
    notes = []
    first = _split(rows[0][1], delim)
    if not any(_is_number(c) for c in first):
        notes.append(f"{name}: line {rows[0][0]} looks like a header ({', '.join(first[:4])}{', ...' if len(first) > 4 else ''}); skipped it")
        rows = rows[1:]
        if not rows:
            raise InputError(f"{name}: only a header row, no numbers")
    width = len(_split(rows[0][1], delim))
    if width * len(rows) > max_cells:
        raise InputError(f"{name}: {len(rows):,} x {width:,} cells is more than {max_cells:,}; raise --max-pixels to allow it")
    body = "\n".join(line for _, line in rows)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            arr = np.loadtxt(_io.StringIO(body), delimiter=delim, dtype=np.float64, ndmin=2, comments=None)
        ok = arr.shape == (len(rows), width)
    except (ValueError, Warning):
        ok = False
    if not ok:
        arr = _parse_slowly(rows, delim, width, name)
    if np.isinf(arr).any():
        _check_infinities(arr, rows, delim, name)
    return arr, notes


def _parse_slowly(rows, delim, width, name) -> np.ndarray:
    """Parse row by row to say exactly which line and column is at fault."""
    first_line = rows[0][0]
    out = np.empty((len(rows), width), dtype=np.float64)
    for r, (lineno, line) in enumerate(rows):
        cells = _split(line, delim)
        if len(cells) != width:
            shown = {None: "whitespace", "\t": "tab"}.get(delim, repr(delim))
            raise InputError(
                f"{name}: line {lineno} has {len(cells)} values, expected {width} as on line {first_line} "
                f"(separated by {shown})"
            )
        for c, cell in enumerate(cells):
            try:
                out[r, c] = float(cell)
            except ValueError:
                if not cell:
                    raise InputError(f"{name}: line {lineno}, column {c + 1} is empty (a doubled or trailing delimiter?)") from None
                shown = cell if len(cell) <= 20 else cell[:20] + "..."
                raise InputError(f"{name}: line {lineno}, column {c + 1}: {shown!r} is not a number") from None
    return out


def _check_infinities(arr, rows, delim, name) -> None:
    """Allow inf only where the text says inf: 1e999 is out of range, not infinity."""
    for r, c in zip(*np.nonzero(np.isinf(arr))):
        lineno, line = rows[r]
        cell = _split(line, delim)[c]
        if cell.lower() not in _INF_WORDS:
            raise InputError(f"{name}: line {lineno}, column {c + 1}: {cell!r} is beyond the float64 range")


#: Characters a number can hold as poolcli writes or reads it: digits, sign, point, exponent, the letters of
#: nan/inf/infinity in either case, and "_" (Python reads "1_000"); a quote is stripped from cells on reading.
_NUMBER_CHARACTERS = frozenset("0123456789+-._\"" + "aefinty" + "AEFINTY")


def check_delimiter(delimiter: str) -> str:
    """Return ``delimiter`` if text written with it reads back cell for cell, else raise :class:`OutputError`.

    Refused: the empty string, a line break, and any character that can be
    part of a number (``1000,-25`` with delimiter ``1`` would be ``10001-25``).
    """
    if not delimiter:
        raise OutputError("the delimiter is empty")
    if len(("x" + delimiter + "x").splitlines()) != 1:
        raise OutputError(f"the delimiter {delimiter!r} holds a line break")
    for ch in delimiter:
        if ch in _NUMBER_CHARACTERS or ch.isdecimal():
            raise OutputError(
                f"{ch!r} can be part of a number (digits, sign, point, exponent, nan, inf), so it cannot "
                f"separate numbers; choose another delimiter, such as ',' ';' '|' or tab"
            )
    return delimiter


def _shortest(arr: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Return float64 values whose repr is each value's shortest round-trip form in its own dtype, and which are integral.

    -0 becomes 0. A float16/float32 value that is not integral is replaced by
    the float64 nearest to its shortest decimal in its own type (numpy's
    Dragon4, ``str(np.float32(0.1)) == "0.1"``); that decimal has at most 9
    significant digits, so the float64's repr is that same decimal.
    """
    with np.errstate(invalid="ignore"):  # a signalling NaN is still just NaN
        a = np.add(arr, 0.0, dtype=np.float64)  # a fresh copy; -0.0 + 0.0 is +0.0
        integral = np.isfinite(a) & (np.abs(a) < 1e16) & (a == np.round(a))
    if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
        frac = np.flatnonzero(~integral & np.isfinite(a))
        src, flat = arr.reshape(-1), a.reshape(-1)
        for i in range(0, frac.size, _SHORTEST_CHUNK):  # a string is 128 bytes a value: a chunk at a time
            part = frac[i:i + _SHORTEST_CHUNK]
            flat[part] = src[part].astype(str).astype(np.float64)
    return a, integral


_SHORTEST_CHUNK = 1 << 16


def _unsigned_zeros(arr: np.ndarray, precision: int) -> np.ndarray:
    """Return ``arr`` as float64 with every value that would print as -0.000... at ``precision`` made +0."""
    with np.errstate(invalid="ignore"):
        a = np.add(arr, 0.0, dtype=np.float64)
    tiny = np.flatnonzero((a < 0) & (a > -(10.0 ** -precision)))  # only these can round to a signed zero
    if tiny.size:
        flat = a.reshape(-1)
        vals = flat[tiny]
        zero = np.array([float(f"{v:.{precision}f}") == 0 for v in vals.tolist()])
        flat[tiny] = np.where(zero, 0.0, vals)
    return a


def format_matrix(arr: np.ndarray, *, delimiter: str = ",", precision: Optional[int] = None) -> str:
    """Return a 2-D matrix as delimited text, one row per line.

    Without ``precision`` every value is written in the shortest form that
    reads back as the same value of the array's own type (float16, float32
    or float64: ``0.1``, never float32's float64 expansion
    ``0.10000000149011612``), integral values exactly and without a decimal
    point. With ``precision`` floats get that many decimals. Never ``-0``:
    a negative zero, or a value that rounds to it, is written as ``0``.
    """
    if arr.ndim != 2:
        raise OutputError(f"text output needs a 2-D matrix, got shape {arr.shape}")
    check_delimiter(delimiter)
    if arr.dtype.kind in "biu":
        fmt, rows = "%d", arr.tolist()
    elif precision is not None:
        fmt, rows = f"%.{precision}f", _unsigned_zeros(arr, precision).tolist()
    else:
        a, integral = _shortest(arr)
        if integral.all():
            fmt, rows = "%d", a.astype(np.int64).tolist()
        elif not integral.any():
            fmt, rows = "%r", a.tolist()  # repr: the shortest string that reads back as the same float64
        else:
            cells = a.astype(object)
            cells[integral] = a[integral].astype(np.int64).astype(object)  # ints print without a point
            fmt, rows = "%s", cells.tolist()
    # one format string per row, as np.savetxt does: far faster than formatting value by value
    line = delimiter.replace("%", "%%").join([fmt] * arr.shape[1]) + "\n"
    return "".join([line % tuple(r) for r in rows])


# --------------------------------------------------------------------------- writing


def format_for_path(path: str) -> Optional[str]:
    """Return the output format named by a path's extension, or None."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return ext if ext in OUTPUT_FORMATS else None


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


def _write_target(path: str) -> Tuple[str, bool]:
    """Return the file a write to ``path`` lands in, and whether it is renamed into place.

    A symlink is followed to its target (a dangling one too), so the link
    stays and its target gets the output. A device or pipe that exists
    (``/dev/null``, a FIFO) is written in place: it cannot be renamed over.
    """
    try:
        st: Optional[os.stat_result] = os.stat(path)
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
            fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
            _LIVE_TEMPORARIES.add(tmp)
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
            try:
                os.unlink(tmp)
            except OSError:
                pass
            _LIVE_TEMPORARIES.discard(tmp)
        raise


#: Temporary files being written now, for a signal handler that must end the process at once.
_LIVE_TEMPORARIES: set = set()


def remove_temporaries() -> None:
    """Delete every temporary output file still being written (called when the process is stopped)."""
    for tmp in list(_LIVE_TEMPORARIES):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def write_output(path: str, payload: Union[bytes, Callable[[IO[bytes]], None]]) -> int:
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


def to_image_array(
    arr: np.ndarray, *, bits: int, rescale: str = "auto", source_dtype=None
) -> Tuple[np.ndarray, Optional[str]]:
    """Return ``arr`` as pixels of ``bits`` bits (8, 16, or 32 for float32), and a note when values changed.

    The input's type (``source_dtype``, by default ``arr``'s) says what a value means, whatever the
    pooling or filter made of it: integers are pixel values; uint16 written as 8 bits is scaled by the
    fixed x*255/65535 (as ImageMagick does); float data spans 0..1 (scikit-image's and ImageMagick's
    convention), so it is scaled by 255 or 65535. Scaled values are rounded half up. Values that still do
    not fit: ``auto`` stretches the smallest to 0 and the largest to the top, ``clip`` clips them;
    ``minmax`` always stretches. Values never wrap around; NaN becomes 0. Float32 pixels keep every
    value float32 holds. The note says whenever a value was scaled, rounded, clipped or stretched.
    """
    if bits == 32:
        return _to_float32(arr)
    source = np.dtype(arr.dtype if source_dtype is None else source_dtype)
    top = (1 << bits) - 1
    target = np.uint8 if bits == 8 else np.uint16
    if source.kind == "f":
        unit, scaled = "0..1", f"float values 0..1 scaled to 0..{top} (x*{top}, rounded half up)"
    elif source == np.uint16 and bits == 8:
        unit, scaled = "0..65535", "16-bit values scaled to 8 bits (x*255/65535, rounded half up)"
    else:
        unit, scaled = f"0..{top}", None
    if arr.dtype.kind in "iub" and rescale != "minmax" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if scaled is None and lo >= 0 and hi <= top:
            return arr.astype(target, copy=False), None
        if source == np.uint16 and bits == 8 and lo >= 0 and hi <= 65535:
            return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8), scaled  # exact in integers
    a = arr.astype(np.float64)
    note = None
    nan = np.isnan(a)
    if nan.any():
        a[nan] = 0
        note = f"{int(nan.sum())} NaN values written as 0"
    if source.kind == "f":
        a *= top
    elif scaled is not None:
        a /= 257
    if rescale != "minmax":
        r = np.floor(a + 0.5)
        fits = bool(np.isfinite(r).all() and r.min() >= 0 and r.max() <= top)
        if fits or rescale == "clip":
            rounded = bool((r != a).any())
            if not fits:
                r = np.clip(r, 0, top)
                note = _join(note, f"values outside {unit} clipped")
            if scaled is not None:
                note = _join(note, scaled)
            elif rounded:
                note = _join(note, "values rounded half up to integers")
            return r.astype(target), note
    finite = a[np.isfinite(a)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    if rescale == "auto":
        unscale = 1 / top if source.kind == "f" else 257 if scaled is not None else 1
        note = _join(
            note,
            f"values span {lo * unscale:g}..{hi * unscale:g}, beyond {unit}; stretched to 0..{top} (--rescale clip to clip instead)",
        )
    a = np.clip(a, lo, hi)
    scaled_to_top = np.zeros_like(a) if hi == lo else (a - lo) * (top / (hi - lo))
    return np.floor(scaled_to_top + 0.5).astype(target), note


def _to_float32(arr: np.ndarray) -> Tuple[np.ndarray, Optional[str]]:
    out = arr.astype(np.float32)
    if arr.dtype.itemsize <= 2 and arr.dtype.kind == "f" or arr.dtype == np.float32:
        return out, None  # float16 and float32 values are all float32 values
    with np.errstate(invalid="ignore"):
        kept = (out == arr) | (np.isnan(out) & np.isnan(arr))
    if kept.all():
        return out, None
    return out, f"{int(kept.size - kept.sum())} of {kept.size} values rounded to the nearest float32 (TIFF holds 32-bit floats)"


def _join(a: Optional[str], b: str) -> str:
    return b if a is None else f"{a}; {b}"


def image_bits(fmt: str, source_dtype: np.dtype) -> int:
    """The sample size for writing a result whose input had ``source_dtype``.

    32 (float32) for float data in TIFF; 16 for integer data wider than 8 bits in PNG and TIFF; else 8.
    """
    source = np.dtype(source_dtype)
    if IMAGE_FORMATS[fmt] == "TIFF" and source.kind == "f":
        return 32
    if IMAGE_FORMATS[fmt] in _SIXTEEN_BIT and source.kind in "iu" and source.itemsize >= 2:
        return 16
    return 8


#: JPEG's quality when --quality is not given; WebP is then lossless
DEFAULT_JPEG_QUALITY = 95


def image_writer(
    pixels: np.ndarray, fmt: str, *, compress_level: int = 1, quality: Optional[int] = None, name: str = "output"
) -> Callable[[IO[bytes]], None]:
    """Check that ``pixels`` (H x W or H x W x 1..4) fit ``fmt``; return a function that writes them.

    uint8 goes everywhere; uint16 to PNG and TIFF; float32 to TIFF. ``quality`` (1..100) applies to JPEG
    (default 95) and WebP (default: lossless, exact even under transparent pixels). Every check and any
    encoding through libvips happens here, before a file is opened; the returned writer streams the
    encoded image into a binary file.
    """
    from PIL import Image

    from . import imagecodecs

    pil_format = IMAGE_FORMATS[fmt]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim == 3 and channels == 1:
        pixels = pixels[:, :, 0]
    if channels not in (1, 2, 3, 4):
        raise OutputError(f"{name}: {channels} channels cannot be written as an image; use .npy or --channel")
    if pil_format == "JPEG" and channels in (2, 4):
        raise OutputError(f"{name}: JPEG has no alpha channel; write .png, or take --channel/--gray first")
    if pil_format == "BMP" and channels in (2, 4):
        raise OutputError(f"{name}: BMP keeps no alpha channel (Pillow writes one that no reader sees); write .png, or take --channel/--gray first")
    if quality is not None and not 1 <= quality <= 100:
        raise OutputError(f"{name}: quality must be 1..100, got {quality}")
    wide = {np.dtype(np.uint16): _SIXTEEN_BIT, np.dtype(np.float32): {"TIFF"}}.get(pixels.dtype)
    if pixels.dtype != np.uint8 and (wide is None or pil_format not in wide):
        raise OutputError(f"{name}: {pil_format} cannot hold {pixels.dtype} samples")
    if pixels.dtype != np.uint8 and channels > 1:
        try:
            if pil_format == "PNG":
                return imagecodecs.png16_writer(pixels, compress_level)
            encoded = imagecodecs.vips_tiff(pixels)
        except imagecodecs.ImageError as exc:
            raise OutputError(f"{name}: {exc}") from None
        return lambda f: f.write(encoded)
    if pixels.dtype != np.uint8:
        im = Image.fromarray(pixels)  # mode I;16 or F
    else:
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        im = Image.fromarray(np.ascontiguousarray(pixels), mode=mode) if channels > 1 else Image.fromarray(pixels)
    if pil_format == "GIF" and im.mode == "LA":
        im = im.convert("RGBA")
    kwargs: dict = {}
    if pil_format == "PNG":
        kwargs["compress_level"] = compress_level
    elif pil_format == "JPEG":
        kwargs["quality"] = DEFAULT_JPEG_QUALITY if quality is None else quality
    elif pil_format == "WEBP":
        # exact: lossless WebP otherwise drops the colour of fully transparent pixels
        kwargs.update(dict(lossless=True, exact=True) if quality is None else dict(quality=quality))
    return lambda f: im.save(f, format=pil_format, **kwargs)


def gray(loaded: Loaded) -> np.ndarray:
    """Return one channel by Pillow's "L" weights (ITU-R 601-2), exactly as Pillow converts 8-bit images."""
    arr = loaded.array
    if arr.ndim == 2:
        return arr
    if arr.shape[2] in (1, 2):  # L or LA: the luminance is the first channel
        return arr[:, :, 0]
    if arr.dtype == np.uint8 and arr.shape[2] in (3, 4):
        from PIL import Image

        return np.asarray(Image.fromarray(np.ascontiguousarray(arr[:, :, :3]), mode="RGB").convert("L"))
    rgb = arr[:, :, :3].astype(np.float64)
    return rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
