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
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np

from .formats import DEFAULT_MAX_PIXELS, IMAGE_FORMATS, OUTPUT_FORMATS, TEXT_FORMATS
from .textmatrix import check_delimiter, format_matrix, parse_matrix

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
    if head.startswith(_IMAGE_MAGIC) or _NETPBM.match(head):
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

    Images come back as uint8 (or uint16 for 16-bit grayscale, int32/float32
    for Pillow's I/F modes), H x W or H x W x C; text as float64; NPY as stored.
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


#: Pillow's pixel limit is a process-wide setting: one image opens at a time (threads of a Dask worker)
_PIL_LIMIT = threading.Lock()


def _read_image(data, name: str, max_pixels: int) -> Loaded:
    """Decode an image from bytes or a path."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with _PIL_LIMIT:  # the limit and the warning filter are process-wide; Pillow checks them when opening
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    opened = Image.open(_io.BytesIO(data) if isinstance(data, bytes) else data)
            finally:
                Image.MAX_IMAGE_PIXELS = old
        with opened:
            fmt = opened.format
            n_frames = getattr(opened, "n_frames", 1)
            im = opened
            if im.getexif().get(0x0112, 1) != 1:  # only then: exif_transpose copies the whole image
                im = ImageOps.exif_transpose(im)
            im.load()
            arr = _image_to_array(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{name}: image has more than {max_pixels:,} pixels; "
            f"pass --max-pixels N to allow it (a guard against decompression bombs)"
        ) from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image Pillow can read") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many kinds (OSError, IndexError, struct ...)
        raise InputError(f"{name}: damaged or truncated image ({type(exc).__name__}: {exc})") from None
    notes = []
    if n_frames > 1:
        notes.append(f"{name}: {fmt} has {n_frames} frames; using the first")
    if arr.shape[0] * arr.shape[1] > max_pixels:
        raise InputError(f"{name}: image has more than {max_pixels:,} pixels; pass --max-pixels N to allow it")
    return Loaded(arr, "image", name, notes=notes)


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
    arr = _pixels(im)
    if im.mode == "I" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        arr = arr.astype(np.uint16)  # 16-bit PNG/TIFF read as Pillow's 32-bit mode
    return arr


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


def to_image_array(arr: np.ndarray, *, bits: int, rescale: str = "auto") -> Tuple[np.ndarray, Optional[str]]:
    """Return ``arr`` as uint8/uint16 pixels, and a note when values were stretched or clipped.

    ``auto``: exact (rounded half up) when every value fits ``0 .. 2**bits-1``,
    otherwise a min-max stretch. ``clip``: clip to the range. ``minmax``:
    always stretch the smallest value to 0 and the largest to the top. Values
    never wrap around; NaN becomes 0.
    """
    top = (1 << bits) - 1
    target = np.uint8 if bits == 8 else np.uint16
    note = None
    if arr.dtype.kind in "iu" and rescale != "minmax":
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= top:
            return arr.astype(target, copy=False), None
    a = arr.astype(np.float64)
    nan = np.isnan(a)
    if nan.any():
        a[nan] = 0
        note = f"{int(nan.sum())} NaN values written as 0"
    if rescale != "minmax":
        r = np.floor(a + 0.5)
        finite = np.isfinite(r)
        if rescale == "clip" or (finite.all() and r.min() >= 0 and r.max() <= top):
            if rescale == "clip":
                r = np.clip(r, 0, top)
                if not (finite.all() and a.min() >= 0 and a.max() <= top):
                    note = _join(note, f"values outside 0..{top} clipped")
            return r.astype(target), note
    finite = a[np.isfinite(a)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    a = np.clip(a, lo, hi)
    scaled = np.zeros_like(a) if hi == lo else (a - lo) * (top / (hi - lo))
    if rescale == "auto":
        note = _join(note, f"values span {lo:g}..{hi:g}, beyond 0..{top}; stretched to 0..{top} (--rescale clip to clip instead)")
    return np.floor(scaled + 0.5).astype(target), note


def _join(a: Optional[str], b: str) -> str:
    return b if a is None else f"{a}; {b}"


def image_bits(fmt: str, source_dtype: np.dtype) -> int:
    """16 where the source was 16-bit and the format can hold it, else 8."""
    return 16 if np.dtype(source_dtype) == np.uint16 and IMAGE_FORMATS[fmt] in _SIXTEEN_BIT else 8


def image_writer(pixels: np.ndarray, fmt: str, *, compress_level: int = 1, name: str = "output") -> Callable[[IO[bytes]], None]:
    """Check that ``pixels`` (uint8/uint16, H x W or H x W x 1..4) fit ``fmt``; return a function that writes them.

    Every check happens here, before a file is opened; the returned writer
    streams the encoded image into a binary file.
    """
    from PIL import Image

    pil_format = IMAGE_FORMATS[fmt]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim == 3 and channels == 1:
        pixels = pixels[:, :, 0]
    if channels not in (1, 2, 3, 4):
        raise OutputError(f"{name}: {channels} channels cannot be written as an image; use .npy or --channel")
    if pixels.dtype == np.uint16 and channels != 1:
        raise OutputError(f"{name}: 16-bit images with {channels} channels are not supported by Pillow; use .npy")
    if pil_format == "JPEG" and channels in (2, 4):
        raise OutputError(f"{name}: JPEG has no alpha channel; write .png, or take --channel/--gray first")
    if pixels.dtype == np.uint16:
        im = Image.fromarray(pixels)  # mode I;16
    else:
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        im = Image.fromarray(np.ascontiguousarray(pixels), mode=mode) if channels > 1 else Image.fromarray(pixels)
    if pil_format in ("BMP", "GIF") and im.mode == "LA":
        im = im.convert("RGBA")
    kwargs = {}
    if pil_format == "PNG":
        kwargs["compress_level"] = compress_level
    elif pil_format == "JPEG":
        kwargs["quality"] = 95
    elif pil_format == "WEBP":
        kwargs["lossless"] = True
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
