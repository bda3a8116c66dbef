"""Images keep their values: bit depth and sample type read exactly, conversions by fixed rules with a note,
damaged files refused.

Inputs are made here: PNG and PGM/PPM/PAM by hand with numpy and zlib (big-endian samples, as the formats
say), TIFF with tifffile (both byte orders), and files written by Pillow and by libvips. Outputs are read
back by poolcli and by a reader that shares no code with it (tifffile, libvips, or the PNG decoder below).
Tests that need libvips (the ``codecs`` extra, installed by CI) are skipped without it.
"""

import io as stdio
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from poolcli import io, pool2d
from poolcli.cli import main
from poolcli.pipeline import OutputSpec, PoolSpec, encode

try:
    import pyvips

    HAVE_VIPS = pyvips.at_least_libvips(8, 15)
except Exception:  # noqa: BLE001 - no pyvips, or no libvips under it
    HAVE_VIPS = False
needs_vips = pytest.mark.skipif(not HAVE_VIPS, reason="needs the codecs extra (pyvips)")

RNG = np.random.default_rng(10)
HINT = "pip install 'poolcli[codecs]'"


# ---------------------------------------------------------------- builders


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(arr, *, extra=b"", raw=None, idat=None, crc_ok=True, iend=True):
    """A PNG made by hand: filter 0 on every row, samples big-endian; ``raw``/``idat`` replace the pixel data."""
    h, w = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    depth = 16 if arr.dtype == np.uint16 else 8
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    if raw is None:
        rows = arr.astype(">u2" if depth == 16 else "u1").reshape(h, -1).view(np.uint8)
        raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()
    data = chunk(b"IDAT", zlib.compress(raw) if idat is None else idat)
    if not crc_ok:
        data = data[:-4] + bytes(4 * [0xEE])
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
    return head + extra + data + (chunk(b"IEND", b"") if iend else b"")


def decode_png(data: bytes) -> np.ndarray:
    """An independent decoder for non-interlaced 8- and 16-bit PNGs, slow and plain (PNG spec, section 9)."""
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        ihdr = struct.unpack(">IIBBBBB", body) if kind == b"IHDR" else ihdr
        idat += body if kind == b"IDAT" else b""
        pos += 12 + n
    w, h, depth, colour = ihdr[:4]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, -1)
    bpp = channels * depth // 8
    out = np.zeros((h, rows.shape[1] - 1), np.int64)
    for r in range(h):
        for i in range(out.shape[1]):
            a = out[r, i - bpp] if i >= bpp else 0
            b = out[r - 1, i] if r else 0
            c = out[r - 1, i - bpp] if r and i >= bpp else 0
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
            predictor = [0, a, b, (a + b) // 2, paeth][rows[r, 0]]
            out[r, i] = (int(rows[r, i + 1]) + predictor) % 256
    out = out.astype(np.uint8)
    samples = out.view(">u2" if depth == 16 else "u1").astype(np.uint16 if depth == 16 else np.uint8)
    return samples.reshape((h, w, channels) if channels > 1 else (h, w))


def pnm(magic: bytes, arr, maxval, comment=b""):
    h, w = arr.shape[:2]
    head = magic + b"\n" + comment + b"%d %d\n%d\n" % (w, h, maxval)
    if magic in (b"P2", b"P3"):
        return head + b"\n".join(b" ".join(b"%d" % v for v in row) for row in arr.reshape(h, -1))
    return head + arr.astype(">u2" if maxval > 255 else "u1").tobytes()


def pam(arr, maxval, tupltype):
    h, w = arr.shape[:2]
    depth = 1 if arr.ndim == 2 else arr.shape[2]
    head = b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL %d\nTUPLTYPE %s\nENDHDR\n" % (w, h, depth, maxval, tupltype)
    return head + arr.astype(">u2" if maxval > 255 else "u1").tobytes()


def tiff(arr, **kw):
    buf = stdio.BytesIO()
    tifffile.imwrite(buf, arr, **kw)
    return buf.getvalue()


def vips_file(arr, suffix, **kw):
    im = pyvips.Image.new_from_array(arr)
    if arr.dtype == np.uint16:
        im = im.copy(interpretation="grey16" if im.bands < 3 else "rgb16")
    return im.write_to_buffer(suffix, **kw)


def pillow_file(arr, fmt, **kw):
    buf = stdio.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def u16(*shape):
    return RNG.integers(0, 65536, shape, dtype=np.uint16)


def u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


# ---------------------------------------------------------------- reading exactly


def _cases():
    a16 = {c: u16(7, 5, c) if c > 1 else u16(7, 5) for c in (1, 2, 3, 4)}
    f32 = RNG.random((7, 5, 3), dtype=np.float32) * 2 - 0.5
    big = np.array([[0, 1, 2**31, 2**32 - 1]], np.uint32)
    signed8 = np.array([[-128, -1, 0, 127]], np.int8)
    signed16 = np.array([[-32768, -1, 0, 32767]], np.int16)
    cases = [
        ("PNG 16 grey, by hand", lambda: png(a16[1]), a16[1], False),
        ("PNG 16 grey+alpha, by hand", lambda: png(a16[2]), a16[2], True),
        ("PNG 16 RGB, by hand", lambda: png(a16[3]), a16[3], True),
        ("PNG 16 RGBA, by hand", lambda: png(a16[4]), a16[4], True),
        ("PNG 16 RGB, libvips, interlaced", lambda: vips_file(a16[3], ".png", interlace=True), a16[3], True),
        ("PNG 16 RGBA, libvips", lambda: vips_file(a16[4], ".png"), a16[4], True),
        ("PNG 16 grey, Pillow", lambda: pillow_file(a16[1], "PNG"), a16[1], False),
        ("TIFF 16 grey, Pillow", lambda: pillow_file(a16[1], "TIFF"), a16[1], False),
        ("TIFF 16 grey, tifffile big-endian", lambda: tiff(a16[1], byteorder=">"), a16[1], False),
        ("TIFF 16 RGB, tifffile", lambda: tiff(a16[3], photometric="rgb"), a16[3], True),
        ("TIFF 16 RGB, tifffile big-endian deflate", lambda: tiff(a16[3], photometric="rgb", byteorder=">", compression="zlib"), a16[3], True),
        ("TIFF 16 RGBA, tifffile tiled", lambda: tiff(u16(32, 32, 4), photometric="rgb", extrasamples=[2], tile=(16, 16)), None, True),
        ("TIFF 16 grey+alpha, tifffile", lambda: tiff(a16[2], photometric="minisblack", extrasamples=[2]), a16[2], True),
        ("TIFF 16 RGB, libvips", lambda: vips_file(a16[3], ".tif"), a16[3], True),
        ("TIFF float32 grey, tifffile", lambda: tiff(f32[:, :, 0]), f32[:, :, 0], False),
        ("TIFF float32 RGB, tifffile", lambda: tiff(f32, photometric="rgb"), f32, True),
        ("TIFF float16 grey, tifffile", lambda: tiff(f32[:, :, 0].astype(np.float16)), f32[:, :, 0].astype(np.float16), True),
        ("TIFF int16 grey, tifffile", lambda: tiff(signed16), signed16, False),
        ("TIFF int8 grey (Pillow would drop the sign)", lambda: tiff(signed8), signed8, True),
        ("TIFF uint32 grey (Pillow would wrap past 2**31)", lambda: tiff(big), big, True),
        ("PGM 16 raw", lambda: pnm(b"P5", a16[1], 65535), a16[1], False),
        ("PPM 16 raw", lambda: pnm(b"P6", a16[3], 65535, comment=b"# made by numpy\n"), a16[3], False),
        ("PGM 16 plain", lambda: pnm(b"P2", a16[1], 65535), a16[1], False),
        ("PPM 16 plain", lambda: pnm(b"P3", a16[3], 65535), a16[3], False),
        ("PPM 8 raw", lambda: pnm(b"P6", u8(4, 3, 3), 255), None, False),
        ("PAM 16 RGBA", lambda: pam(a16[4], 65535, b"RGB_ALPHA"), a16[4], False),
        ("PAM 8 grey", lambda: pam(a16[1] // 257, 255, b"GRAYSCALE"), (a16[1] // 257).astype(np.uint8), False),
    ]
    return cases


CASES = _cases()


@pytest.mark.parametrize("label, build, expected, vips", CASES, ids=[c[0] for c in CASES])
def test_samples_are_read_exactly_from_file_and_bytes(tmp_path, label, build, expected, vips):
    if vips and not HAVE_VIPS:
        pytest.skip("needs the codecs extra (pyvips)")
    data = build()
    if expected is None:  # the builder's random array: read it back from the bytes with an independent reader
        expected = tifffile.imread(stdio.BytesIO(data)) if data[:2] in (b"II", b"MM") else None
        expected = expected if expected is not None else np.asarray(Image.open(stdio.BytesIO(data)))
    (tmp_path / "f").write_bytes(data)
    for loaded in (io.read_input(str(tmp_path / "f")), io.load_bytes(data, "f")):
        assert loaded.kind == "image"
        assert loaded.array.dtype == expected.dtype, label
        assert np.array_equal(loaded.array, expected), label
        assert loaded.notes == []


def test_pnm_maxval_is_not_applied_and_a_note_says_so():
    ten_bit = np.array([[0, 1, 512, 1023]], np.uint16)
    loaded = io.load_bytes(pnm(b"P5", ten_bit, 1023), "ten.pgm")
    assert loaded.array.dtype == np.uint16 and loaded.array.tolist() == [[0, 1, 512, 1023]]
    assert loaded.notes == ["ten.pgm: PGM maxval is 1023: samples read as stored (0..1023), not scaled to 0..65535"]
    loaded = io.load_bytes(pnm(b"P2", np.array([[0, 7, 15]]), 15), "four.pgm")
    assert loaded.array.dtype == np.uint8 and loaded.array.tolist() == [[0, 7, 15]]
    assert "not scaled to 0..255" in loaded.notes[0]


def test_exif_orientation_turns_the_libvips_read_as_it_turns_the_pillow_read():
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    eXIf = chunk(b"eXIf", exif.tobytes()[6:])  # the chunk holds the TIFF structure without "Exif\0\0"
    eight = np.zeros((2, 4, 3), np.uint8)
    eight[0, 0] = [255, 10, 20]
    by_pillow = io.load_bytes(png(eight, extra=eXIf), "8.png").array
    assert by_pillow.shape == (4, 2, 3) and by_pillow[0, 1].tolist() == [255, 10, 20]
    if HAVE_VIPS:
        by_vips = io.load_bytes(png(eight.astype(np.uint16) * 257, extra=eXIf), "16.png").array
        assert np.array_equal(by_vips, by_pillow.astype(np.uint16) * 257)


@needs_vips
def test_a_multi_page_16_bit_tiff_reads_its_first_page_with_a_note():
    pages = u16(3, 4, 5, 3)
    loaded = io.load_bytes(tiff(pages, photometric="rgb"), "p.tif")
    assert np.array_equal(loaded.array, pages[0]) and loaded.notes == ["p.tif: TIFF has 3 frames; using the first"]


@pytest.mark.parametrize(
    "label, data, message",
    [
        # numpy reads float64 uncompressed or deflate (tests/test_tiff_raw.py); this one's header says LZW
        ("float64 LZW TIFF", tiff(np.zeros((2, 2))).replace(b"\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00", b"\x03\x01\x03\x00\x01\x00\x00\x00\x05\x00", 1), "64-bit samples compressed with LZW: only uncompressed and deflate TIFFs of them are read"),
        ("complex TIFF", tiff(np.zeros((2, 2), np.complex64)), "TIFF with 1 complex64 sample per pixel: neither Pillow"),
    ],
)
def test_samples_no_reader_holds_are_refused(label, data, message):
    with pytest.raises(io.InputError, match=message):
        io.load_bytes(data, "x.tif")


def test_a_16_bit_sgi_image_pillow_would_narrow_is_refused():
    # Pillow keeps the high byte of each sample; libvips has no SGI reader
    head = struct.pack(">hBBHHHHii4s80sI", 474, 0, 2, 2, 3, 2, 1, 0, 65535, b"", b"", 0).ljust(512, b"\0")
    data = head + np.array([[1, 2, 3], [4, 5, 65535]], ">u2")[::-1].tobytes()
    with pytest.raises(io.InputError, match="x.sgi: a 16-bit SGI image: neither Pillow nor libvips reads its samples exactly"):
        io.load_bytes(data, "x.sgi")


@needs_vips
def test_a_12_bit_avif_is_read_as_16_bits_by_libvips_with_a_note():
    x = RNG.integers(0, 4096, (8, 8, 3)).astype(np.uint16) * 16
    try:
        data = pyvips.Image.new_from_array(x).copy(interpretation="rgb16").heifsave_buffer(compression="av1", bitdepth=12, lossless=True)
    except pyvips.Error:
        pytest.skip("this libvips writes no AVIF")
    loaded = io.load_bytes(data, "x.avif")
    assert loaded.array.dtype == np.uint16 and np.array_equal(loaded.array, x)  # Pillow gives 8 bits
    assert loaded.notes == ["x.avif: its 12-bit samples are read as 16 bits (libvips scales them by 16, losslessly)"]


def test_alpha_is_refused_where_the_format_keeps_none(tmp_path):
    np.save(tmp_path / "a.npy", u8(4, 4, 4))
    for fmt, message in (("jpg", "JPEG has no alpha channel"), ("bmp", "BMP keeps no alpha channel")):
        result = run([tmp_path / "a.npy", "-o", tmp_path / f"o.{fmt}"])
        assert result.exit_code == 1 and message in result.stderr and not (tmp_path / f"o.{fmt}").exists()


# ---------------------------------------------------------------- writing: round trips


def run(args):
    return CliRunner().invoke(main, ["pool", *[str(a) for a in args]])


def independent_read(path):
    if str(path).endswith(".tif"):
        return tifffile.imread(path)
    return decode_png(path.read_bytes())


WIDE = [
    (np.uint16, 1, "png"), (np.uint16, 2, "png"), (np.uint16, 3, "png"), (np.uint16, 4, "png"),
    (np.uint16, 1, "tif"), (np.uint16, 3, "tif"), (np.uint16, 4, "tif"),
    (np.float32, 1, "tif"), (np.float32, 3, "tif"), (np.float16, 1, "tif"),
]


@pytest.mark.parametrize("dtype, channels, fmt", WIDE, ids=[f"{np.dtype(d).name}x{c}-{f}" for d, c, f in WIDE])
def test_sixteen_bit_and_float_round_trip_through_formats_that_hold_them(tmp_path, dtype, channels, fmt):
    needs_libvips = fmt == "tif" and channels > 1
    if needs_libvips and not HAVE_VIPS:
        pytest.skip("needs the codecs extra (pyvips)")
    shape = (9, 8, channels) if channels > 1 else (9, 8)
    if np.dtype(dtype).kind == "f":
        x = (RNG.random(shape) * 3 - 1).astype(dtype)  # beyond 0..1 too: a float TIFF holds any float
    else:
        x = RNG.integers(0, 65536, shape, dtype=dtype)
    np.save(tmp_path / "in.npy", x)
    out = tmp_path / f"out.{fmt}"
    result = run([tmp_path / "in.npy", "-o", out])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # nothing was converted: no note
    expected = pool2d(x, 2)
    expected = expected.astype(np.float32) if np.dtype(dtype).kind == "f" else expected
    got = independent_read(out)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    if channels > 1 and not HAVE_VIPS:
        return  # written without libvips; reading 16-bit colour back needs it
    got = io.read_input(str(out)).array
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    # and back in through poolcli: pooled again, still exact
    again = tmp_path / f"again.{fmt}"
    assert run([out, "-o", again]).exit_code == 0
    assert np.array_equal(io.read_input(str(again)).array, pool2d(expected, 2))


@pytest.mark.parametrize("channels, fmt", [(1, "png"), (3, "png"), (4, "png"), (2, "png"), (1, "tif"), (4, "tif"), (3, "bmp"), (4, "webp"), (1, "gif")])
def test_eight_bit_round_trips_stay_exact(tmp_path, channels, fmt):
    shape = (10, 12, channels) if channels > 1 else (10, 12)
    x = RNG.integers(0, 256, shape, dtype=np.uint8)
    if channels == 4:
        x[0, :, 3] = 0  # transparent pixels keep their colour (lossless WebP drops it unless told not to)
    np.save(tmp_path / "in.npy", x)
    result = run([tmp_path / "in.npy", "-o", tmp_path / f"o.{fmt}"])
    assert result.exit_code == 0 and result.stderr == ""
    assert np.array_equal(io.read_input(str(tmp_path / f"o.{fmt}")).array, pool2d(x, 2))


# ---------------------------------------------------------------- what a format cannot hold: a fixed rule and a note


def write(tmp_path, x, fmt, *args):
    np.save(tmp_path / "in.npy", x)
    out = tmp_path / f"o.{fmt}"
    result = run([tmp_path / "in.npy", "-k", "1", "-o", out, *args])
    assert result.exit_code == 0, result.stderr
    notes = [line.split(": ", 2)[2] for line in result.stderr.splitlines()]
    return io.read_input(str(out)).array, notes


def test_16_bit_to_an_8_bit_format_is_the_fixed_scale_x_255_over_65535(tmp_path):
    x = np.array([[0, 128, 129, 257], [385, 386, 65406, 65535]], np.uint16)
    got, notes = write(tmp_path, x, "bmp")
    assert got.tolist() == [[0, 0, 1, 1], [1, 2, 254, 255]]  # round(x / 257), never a stretch of this image's range
    assert notes == ["16-bit values scaled to 8 bits (x*255/65535, rounded half up)"]
    # --rescale minmax still asks for the stretch
    got, _ = write(tmp_path, np.array([[1000, 2000]], np.uint16), "bmp", "--rescale", "minmax")
    assert got.tolist() == [[0, 255]]


def test_16_bit_averages_to_8_bits_round_half_up_after_the_scale():
    pixels, note = io.to_image_array(np.array([[128.5, 385.5, 0.25]]), bits=8, source_dtype=np.uint16)
    assert pixels.tolist() == [[1, 2, 0]]  # 128.5/257 = 0.5 and 385.5/257 = 1.5 exactly: half up
    assert note == "16-bit values scaled to 8 bits (x*255/65535, rounded half up)"


def test_a_batch_of_16_bit_images_is_converted_by_one_rule(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    images = {"dark.png": RNG.integers(0, 3000, (6, 6), dtype=np.uint16), "bright.png": RNG.integers(60000, 65536, (6, 6), dtype=np.uint16)}
    for name, x in images.items():
        Image.fromarray(x).save(src / name)
    result = CliRunner().invoke(main, ["batch", str(src), str(tmp_path / "out"), "--to", "bmp", "-j", "1"])
    assert result.exit_code == 0, result.stderr
    for name, x in images.items():
        got = np.asarray(Image.open(tmp_path / "out" / name.replace(".png", ".bmp")))
        assert got.tolist() == ((pool2d(x, 2).astype(np.uint32) + 128) // 257).tolist(), name
    assert result.stderr.count("16-bit values scaled to 8 bits") == 2


def test_float_data_in_0_1_fills_the_8_and_16_bit_range(tmp_path):
    x = np.array([[0.0, 0.25, 0.5, 1.0]], np.float32)
    got, notes = write(tmp_path, x, "png")
    assert got.dtype == np.uint8 and got.tolist() == [[0, 64, 128, 255]]  # 63.75 and 127.5 round half up
    assert notes == ["float values 0..1 scaled to 0..255 (x*255, rounded half up)"]
    pixels, note = io.to_image_array(x.astype(np.float64), bits=16, source_dtype=np.float64)
    assert pixels.tolist() == [[0, 16384, 32768, 65535]] and "x*65535" in note


def test_float_data_beyond_0_1_is_stretched_or_clipped_with_a_note(tmp_path):
    x = np.array([[-1.0, 0.0, 1.0, 3.0]])
    got, notes = write(tmp_path, x, "png")
    assert got.tolist() == [[0, 64, 128, 255]]
    assert notes == ["values span -1..3, beyond 0..1; stretched to 0..255 (--rescale clip to clip instead)"]
    got, notes = write(tmp_path, x, "png", "--rescale", "clip")
    assert got.tolist() == [[0, 0, 255, 255]]
    assert notes == ["values outside 0..1 clipped; float values 0..1 scaled to 0..255 (x*255, rounded half up)"]


def test_float32_tiff_stays_float32_and_float64_says_what_it_rounds(tmp_path):
    x = np.array([[0.1, 0.5, -7.25, np.nan]], np.float32)
    got, notes = write(tmp_path, x, "tif")
    assert got.dtype == np.float32 and np.array_equal(got, x, equal_nan=True) and notes == []
    y = x.astype(np.float64)
    y[0, 0] = 0.1  # float32 holds 0.5, -7.25 and NaN, not 0.1
    got, notes = write(tmp_path, y, "tif")
    assert got.dtype == np.float32 and notes == ["1 of 4 values rounded to the nearest float32 (TIFF floats are written as float32, which Pillow and libvips read; write .npy to keep float64)"]


def test_integer_data_that_fits_stays_exact_and_other_integers_are_stretched(tmp_path):
    got, notes = write(tmp_path, np.array([[0, 3, 255]], np.int64), "png")
    assert got.dtype == np.uint16 and got.tolist() == [[0, 3, 255]] and notes == []  # wider than 8 bits: 16-bit PNG
    got, notes = write(tmp_path, np.array([[-2, 0, 2]], np.int16), "png")
    assert got.tolist() == [[0, 32768, 65535]] and notes == ["values span -2..2, beyond 0..65535; stretched to 0..65535 (--rescale clip to clip instead)"]
    assert io.to_image_array(np.array([[True, False]]), bits=8)[0].tolist() == [[1, 0]]


def test_an_8_bit_average_written_to_png_is_pillows_reduce_with_a_note(tmp_path):
    x = RNG.integers(0, 256, (6, 8), dtype=np.uint8)
    Image.fromarray(x).save(tmp_path / "x.png")
    result = run([tmp_path / "x.png", "-m", "avg", "-o", tmp_path / "a.png"])
    assert result.exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.fromarray(x).reduce(2)))
    assert (pool2d(x, 2, mode="avg") % 1 != 0).any()  # some average ends in .25, .5 or .75
    assert result.stderr == f"poolcli: {tmp_path / 'a.png'}: values rounded half up to integers\n"


def test_16_bit_sums_beyond_the_range_are_stretched_with_a_note(tmp_path):
    x = np.full((2, 2), 65535, np.uint16)
    x[0, 0] = 0
    np.save(tmp_path / "in.npy", x)
    result = run([tmp_path / "in.npy", "-m", "sum", "-o", tmp_path / "s.png"])
    assert result.exit_code == 0
    assert "values span 196605..196605, beyond 0..65535" in result.stderr


# ---------------------------------------------------------------- quality


def test_jpeg_quality_default_95_and_given(tmp_path):
    x = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    for quality, pillow_quality in ((None, 95), (30, 30)):
        writer, notes = encode(x, "jpg", PoolSpec(output=OutputSpec(quality=quality)), source_dtype=np.uint8, name="o.jpg")
        buf = stdio.BytesIO()
        writer(buf)
        assert buf.getvalue() == pillow_file(x, "JPEG", quality=pillow_quality)
        assert "JPEG is lossy" in notes[0].text


def test_webp_is_lossless_and_exact_unless_quality_is_given():
    x = RNG.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    x[:4, :, 3] = 0
    writer, notes = encode(x, "webp", PoolSpec(), source_dtype=np.uint8, name="o.webp")
    buf = stdio.BytesIO()
    writer(buf)
    assert np.array_equal(np.asarray(Image.open(buf)), x) and notes == []
    writer, notes = encode(x, "webp", PoolSpec(output=OutputSpec(quality=50)), source_dtype=np.uint8, name="o.webp")
    buf = stdio.BytesIO()
    writer(buf)
    assert buf.getvalue() == pillow_file(x, "WEBP", quality=50)
    assert [str(n) for n in notes] == ["o.webp: WebP with --quality is lossy, so the written values are approximate; leave it out for lossless WebP"]
    with pytest.raises(io.OutputError, match="quality must be 1..100, got 0"):
        encode(x, "webp", PoolSpec(output=OutputSpec(quality=0)), source_dtype=np.uint8, name="o.webp")


# ---------------------------------------------------------------- without the codecs extra


@pytest.fixture
def no_pyvips(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvips", None)  # "import pyvips" now raises ImportError


def test_without_pyvips_16_bit_colour_is_refused_with_the_hint_never_truncated(tmp_path, no_pyvips):
    x = u16(6, 4, 3)
    for name, data in (("c.png", png(x)), ("c.tif", tiff(x, photometric="rgb"))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(io.InputError) as exc:
            io.read_input(str(tmp_path / name))
        assert str(exc.value).startswith(f"{tmp_path / name}: a ") and str(exc.value).endswith(f"needs libvips, which is not installed: {HINT}")
        result = run([tmp_path / name, "-o", tmp_path / "out.png"])
        assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1 and HINT in result.stderr
        assert not (tmp_path / "out.png").exists()


def test_without_pyvips_16_bit_colour_png_and_tiff_are_still_written(tmp_path, no_pyvips):
    x = u16(6, 4, 3)
    np.save(tmp_path / "c.npy", x)
    assert run([tmp_path / "c.npy", "-o", tmp_path / "c.png"]).exit_code == 0
    assert np.array_equal(decode_png((tmp_path / "c.png").read_bytes()), pool2d(x, 2))
    assert run([tmp_path / "c.npy", "-o", tmp_path / "c.tif"]).exit_code == 0  # numpy writes every TIFF
    assert np.array_equal(tifffile.imread(tmp_path / "c.tif"), pool2d(x, 2))
    assert io.read_input(str(tmp_path / "c.npy")).array.dtype == np.uint16  # NPY needs nothing


# ---------------------------------------------------------------- damaged files


def _formats():
    grey, rgb = u8(64, 64), u8(64, 64, 3)
    return {
        "PNG": pillow_file(rgb, "PNG"),
        "PNG 8 grey, by hand": png(grey),
        "PNG 16 grey": pillow_file(u16(64, 64), "PNG"),
        "JPEG": pillow_file(rgb, "JPEG"),
        "JPEG progressive": pillow_file(rgb, "JPEG", progressive=True),
        "GIF": pillow_file(grey, "GIF"),
        "BMP": pillow_file(rgb, "BMP"),
        "WebP lossy": pillow_file(rgb, "WEBP"),
        "WebP lossless": pillow_file(rgb, "WEBP", lossless=True),
        "TIFF by Pillow": pillow_file(rgb, "TIFF"),
        "TIFF deflate, tifffile": tiff(rgb, photometric="rgb", compression="zlib"),
        "TIFF 16 grey, tifffile": tiff(u16(64, 64)),
        "TIFF float32 grey, tifffile": tiff(RNG.random((64, 64), dtype=np.float32)),
        "PGM 16": pnm(b"P5", u16(64, 64), 65535),
        "PPM 8 plain": pnm(b"P3", rgb[:8, :8], 255) + b"\n",
        "PAM 16": pam(u16(64, 64, 4), 65535, b"RGB_ALPHA"),
    }


def _vips_formats():
    return {
        "PNG 16 RGB": png(u16(64, 64, 3)),
        "PNG 8 RGB interlaced, libvips": vips_file(u8(64, 64, 3), ".png", interlace=True),
        "PNG 16 RGBA, libvips": vips_file(u16(64, 64, 4), ".png"),
        "TIFF 16 RGB, tifffile": tiff(u16(64, 64, 3), photometric="rgb"),
        "TIFF 16 RGB, libvips": vips_file(u16(64, 64, 3), ".tif"),
    }


FORMATS = _formats()
VIPS_FORMATS = _vips_formats() if HAVE_VIPS else {}
CUTS = [0.3, 0.6, 0.9, -1]


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("fmt", list(FORMATS) + list(VIPS_FORMATS))
def test_a_file_cut_short_is_refused_in_one_line_with_no_output(tmp_path, monkeypatch, fmt, cut):
    data = {**FORMATS, **VIPS_FORMATS}[fmt]
    short = data[: int(len(data) * cut)] if cut > 0 else data[:cut]
    if (fmt == "GIF" or "plain" in fmt) and cut == -1:
        # GIF's trailer byte, plain PPM's last newline: every sample is there, so the image is read, exactly
        (tmp_path / "t").write_bytes(short)
        assert np.array_equal(io.read_input(str(tmp_path / "t")).array, io.load_bytes(data, "g").array)
        return
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cut.img").write_bytes(short)
    result = CliRunner().invoke(main, ["pool", "cut.img", "-o", "out.png"])
    assert result.exit_code == 1, (fmt, cut, result.stderr)
    assert result.stderr.startswith("poolcli: error: cut.img: ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["cut.img"]


def _damaged_pngs():
    x = u8(4, 5)
    rows = np.concatenate([np.zeros((4, 1), np.uint8), x], axis=1).tobytes()
    good = png(x)
    at = good.index(b"IDAT")
    flipped = bytearray(good)
    flipped[at + 6] ^= 0x40  # a byte of the compressed data; the chunk's CRC no longer matches
    iend = bytearray(good)
    iend[-1] ^= 1
    return [
        ("rows missing, zlib stream complete (the issue's case)", png(x, raw=rows[: 3 * 6]), "its pixel data is 18 bytes where its header needs 24: rows are missing"),
        ("a row too many", png(x, raw=rows + rows[:6]), "its pixel data is longer than its header says"),
        ("zlib stream cut inside its IDAT", png(x, idat=zlib.compress(rows)[:-5]), "its compressed pixel data stops short (all its bytes, but not the zlib checksum)"),
        ("IDAT byte flipped", bytes(flipped), "the CRC of its IDAT chunk does not match the data"),
        ("IDAT CRC wrong, data intact", png(x, crc_ok=False), "the CRC of its IDAT chunk does not match the data"),
        ("IEND CRC wrong", bytes(iend), "the CRC of its IEND chunk does not match the data"),
        ("no IEND", png(x, iend=False), "the file ends before its IEND chunk"),
        ("adler32 wrong", png(x, idat=zlib.compress(rows)[:-1] + b"\0"), "its compressed pixel data is corrupt"),
        ("16-bit RGB, rows missing", png(u16(4, 5, 3), raw=b"\0" * 31 * 2), "rows are missing"),
    ]


@pytest.mark.parametrize("label, data, message", _damaged_pngs(), ids=[d[0] for d in _damaged_pngs()])
def test_damaged_pngs_are_refused(label, data, message):
    with pytest.raises(io.InputError) as exc:
        io.load_bytes(data, "d.png")
    assert str(exc.value).startswith("d.png: damaged or truncated image (") and message in str(exc.value)


@pytest.mark.parametrize(
    "label, data, message",
    [
        ("PGM short", pnm(b"P5", u16(4, 4), 65535)[:-3], "PGM: 29 of 32 bytes of pixel data"),
        ("PGM sample above maxval", pnm(b"P5", np.array([[1000, 2]]), 999), "PGM: a sample is 1000, outside its 0..999"),
        ("PPM plain, samples missing", pnm(b"P3", u8(2, 2, 3), 255).rsplit(b" ", 1)[0], "PPM: 11 of 12 samples"),
        ("PAM without ENDHDR", b"P7\nWIDTH 2\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\n" + b"\0" * 4, "PAM: no ENDHDR in its header"),
        ("TIFF strip past the end", tiff(u16(16, 16))[:-40] + b"", None),
    ],
)
def test_damaged_netpbm_and_tiff_are_refused(label, data, message):
    with pytest.raises(io.InputError, match="damaged or truncated image") as exc:
        io.load_bytes(data, "d")
    if message:
        assert str(exc.value) == f"d: damaged or truncated image ({message})"


def _flip_inside_the_strip(data):
    page = tifffile.TiffFile(stdio.BytesIO(data)).pages[0]
    out = bytearray(data)
    out[page.dataoffsets[0] + page.databytecounts[0] // 2] ^= 0x55
    return bytes(out)


@pytest.mark.parametrize("label, data, message", [
    ("TIFF deflate, cut", tiff(u8(64, 64, 3), photometric="rgb", compression="zlib")[:9000], "TIFF: its pixel data runs to byte"),
    ("TIFF deflate, a byte flipped", _flip_inside_the_strip(tiff(u8(64, 64, 3), photometric="rgb", compression="zlib")), "(TIFF: its compressed strip 0 is corrupt ("),
    ("PNG 16 RGB, cut", png(u16(64, 64, 3))[:16000], "PNG: the file ends inside its IDAT chunk"),
])
def test_no_codec_library_writes_to_stderr_beside_the_one_line(tmp_path, label, data, message):
    # libtiff and libvips print from C; a real process shows anything they print
    (tmp_path / "bad").write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "poolcli", "pool", str(tmp_path / "bad"), "-o", str(tmp_path / "o.png")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"poolcli: error: {tmp_path / 'bad'}: damaged or truncated image (") and message in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not (tmp_path / "o.png").exists()


# ---------------------------------------------------------------- text declares no type: it is inferred


@pytest.mark.parametrize(
    "rows, want",
    [
        ("0,255\n7,3\n", np.uint8),
        ("0,256\n7,3\n", np.uint16),
        ("0,65535\n1,2\n", np.uint16),
        ("-1,2\n3,4\n", np.int64),
        ("0,70000\n1,2\n", np.int64),
        ("0.5,1\n0,1\n", np.float64),
        ("0.5,200.25\n0,1\n", np.uint8),
        ("0.5,300.25\n0,1\n", np.uint16),
        ("-0.5,3\n0,1\n", np.float64),
        ("nan,0.5\n0,1\n", np.float64),
        ("nan,1\n0,255\n", np.uint8),
    ],
)
def test_text_values_take_the_smallest_type_that_holds_them(rows, want):
    from poolcli import io
    from poolcli.pipeline import value_type

    arr, _ = io.parse_matrix(rows.encode(), "m.csv")
    assert value_type(io.Loaded(arr, "text", "m.csv")) == np.dtype(want)
    assert value_type(io.Loaded(arr, "npy", "m.npy")) == np.float64  # an array's own type decides


def test_an_image_through_a_csv_pipe_comes_back_as_the_same_pixels(tmp_path):
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (9, 7), dtype=np.uint8)
    pixels[0, 0], pixels[0, 1] = 3, 200  # a range short of 0..255: no stretch may happen
    pixels = np.clip(pixels, 3, 200)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    csv = CliRunner().invoke(main, ["pool", str(tmp_path / "in.png"), "-k", "1", "-t", "csv"])
    assert csv.exit_code == 0, csv.stderr
    back = CliRunner().invoke(main, ["pool", "-", "-k", "1", "-o", str(tmp_path / "back.png")], input=csv.stdout)
    assert back.exit_code == 0 and back.stderr == "", back.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back.png")), pixels)
    # averages of 8-bit text are rounded half up, as for the image itself, with a note
    avg = CliRunner().invoke(main, ["pool", "-", "-m", "avg", "-o", str(tmp_path / "avg.png")], input=csv.stdout)
    assert "values rounded half up to integers" in avg.stderr
    want = np.asarray(Image.fromarray(pixels[:8, :6]).reduce(2))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "avg.png")), want)
    # and averages sent through the pipe are the same 8-bit values, rounded once at the end
    avg_csv = CliRunner().invoke(main, ["pool", str(tmp_path / "in.png"), "-m", "avg", "-t", "csv"])
    piped = CliRunner().invoke(main, ["pool", "-", "-k", "1", "-o", str(tmp_path / "piped.png")], input=avg_csv.stdout)
    assert piped.exit_code == 0 and "stretched" not in piped.stderr, piped.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "piped.png")), want)
