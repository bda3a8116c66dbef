"""Fidelity, second review: extra channels, colour spaces kept as stored, TIFF written in the result's own type,
damaged deflate strips, delimiters that read back, no -0, batch's clash message, window conflicts as usage
errors, notes only when a value changes and each note's kind said by its writer.

Inputs are made by tifffile, ImageMagick's `convert` and numpy, not only by poolcli's writer; outputs are read
back by tifffile (which shares no code with poolcli) and by poolcli.
"""

from __future__ import annotations

import io as stdio
import shutil
import subprocess
import sys
import zlib

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from poolcli import io, pool2d
from poolcli.cli import main
from poolcli.formats import imagewrite, writer_for
from poolcli.pipeline import PoolSpec, encode
from poolcli.specs import OutputSpec

RNG = np.random.default_rng(14)
HAVE_CONVERT = shutil.which("convert") is not None
try:
    import pyvips  # noqa: F401

    HAVE_VIPS = True
except Exception:
    HAVE_VIPS = False

needs_convert = pytest.mark.skipif(not HAVE_CONVERT, reason="needs ImageMagick's convert")
needs_vips = pytest.mark.skipif(not HAVE_VIPS, reason="needs the codecs extra (pyvips)")


def run(args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def tiff(path, arr, **kw):
    tifffile.imwrite(path, arr, **kw)
    return path


# ---------------------------------------------------------------- 1. every sample of an 8-bit TIFF


@needs_vips
@pytest.mark.parametrize(
    "channels, kw",
    [
        (4, dict(photometric="rgb", extrasamples=[0])),  # RGBX: Pillow drops X
        (2, dict(photometric="minisblack", extrasamples=[0])),  # grey + an unspecified channel: Pillow drops it
        (2, dict(photometric="minisblack", extrasamples=[2])),  # grey + alpha
        (4, dict(photometric="rgb", extrasamples=[2])),  # RGBA
    ],
)
def test_every_sample_of_an_8_bit_tiff_is_read(tmp_path, channels, kw):
    x = RNG.integers(0, 256, (6, 8, channels), dtype=np.uint8)
    src = tiff(tmp_path / "x.tif", x, **kw)
    assert np.array_equal(io.read_input(str(src)).array, x)
    result = run(["pool", src, "-k", "2", "-o", tmp_path / "o.npy"])
    assert result.exit_code == 0, result.stderr
    assert np.array_equal(np.load(tmp_path / "o.npy"), pool2d(x, 2))


@needs_convert
@needs_vips
def test_imagemagick_grey_and_rgb_with_an_unspecified_channel_keep_it(tmp_path):
    grey = tmp_path / "gx.tif"
    subprocess.run(
        ["convert", "-size", "4x3", "gradient:", "-alpha", "set", "-channel", "A", "-evaluate", "set", "50%", "+channel",
         "-define", "tiff:alpha=unspecified", "-depth", "8", str(grey)],
        check=True,
    )
    expected = tifffile.imread(grey)
    assert expected.shape == (3, 4, 2)
    assert np.array_equal(io.read_input(str(grey)).array, expected)


def test_without_libvips_a_dropped_channel_is_refused_with_the_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvips", None)
    src = tiff(tmp_path / "x.tif", RNG.integers(0, 256, (4, 4, 4), dtype=np.uint8), photometric="rgb", extrasamples=[0])
    result = run(["pool", src, "-o", tmp_path / "o.npy"])
    assert result.exit_code == 1 and "pip install 'poolcli[codecs]'" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "o.npy").exists()


# ---------------------------------------------------------------- 2. colour spaces are kept as stored, said in a note


def test_cmyk_tiff_is_pooled_as_its_four_stored_channels_with_a_note(tmp_path):
    x = RNG.integers(0, 256, (6, 8, 4), dtype=np.uint8)
    src = tiff(tmp_path / "c.tif", x, photometric="separated")
    result = run(["pool", src, "-o", tmp_path / "o.npy"])
    assert result.exit_code == 0
    assert np.array_equal(np.load(tmp_path / "o.npy"), pool2d(x, 2))
    assert "c.tif: TIFF is in CMYK: its C, M, Y, K channels are pooled as stored, not converted to RGB" in result.stderr


def test_gray_of_a_cmyk_image_is_refused_and_channel_takes_one_of_its_channels(tmp_path):
    x = RNG.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    src = tiff(tmp_path / "c.tif", x, photometric="separated")
    result = run(["pool", src, "--gray", "-o", tmp_path / "g.npy"])
    assert result.exit_code == 1 and not (tmp_path / "g.npy").exists()
    assert "c.tif: --gray weighs R, G and B, and this image is in CMYK; take --channel N" in result.stderr
    assert run(["pool", src, "--channel", "3", "-o", tmp_path / "k.npy"]).exit_code == 0
    assert np.array_equal(np.load(tmp_path / "k.npy"), pool2d(x[:, :, 3], 2))


@needs_convert
def test_imagemagick_cmyk_jpeg_reads_the_values_imagemagick_reports(tmp_path):
    src = tmp_path / "c.jpg"
    subprocess.run(["convert", "-size", "8x8", "xc:red", "-colorspace", "CMYK", "-quality", "100", str(src)], check=True)
    said = subprocess.run(["convert", str(src), "-format", "%[pixel:p{0,0}]", "info:"], capture_output=True, text=True).stdout
    loaded = io.read_input(str(src))
    assert loaded.array.shape == (8, 8, 4)
    assert said.startswith("cmyk(") and loaded.array[0, 0].tolist() == [int(v) for v in said[5:-1].split(",")]
    assert loaded.notes and "JPEG is in CMYK" in loaded.notes[0]


def test_cielab_tiff_reads_a_and_b_signed(tmp_path):
    stored = np.array([[[50, 0, 255], [100, 1, 128]]], np.uint8)  # TIFF's CIELab: a* and b* are signed bytes
    loaded = io.read_input(str(tiff(tmp_path / "l.tif", stored, photometric="cielab")))
    assert loaded.array.dtype == np.int16 and loaded.array.tolist() == [[[50, 0, -1], [100, 1, -128]]]
    assert "L*, a*, b* channels (a* and b* signed, -128..127) are pooled as stored" in loaded.notes[0]


def test_ycbcr_tiff_is_read_as_stored(tmp_path):
    x = RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    loaded = io.read_input(str(tiff(tmp_path / "y.tif", x, photometric="ycbcr", subsampling=(1, 1))))
    assert np.array_equal(loaded.array, x) and "YCbCr" in loaded.notes[0]


@needs_convert
@needs_vips
def test_sixteen_bit_cmyk_tiff_by_imagemagick_is_read_as_stored(tmp_path):
    src = tmp_path / "c16.tif"
    subprocess.run(["convert", "-size", "4x4", "gradient:red-blue", "-colorspace", "CMYK", "-depth", "16", str(src)], check=True)
    loaded = io.read_input(str(src))
    assert loaded.array.dtype == np.uint16 and np.array_equal(loaded.array, tifffile.imread(src))
    assert "TIFF is in CMYK" in loaded.notes[0]


# ---------------------------------------------------------------- 3. TIFF written in the result's own type

TYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32"]


@pytest.mark.parametrize("dtype", TYPES)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_integer_results_are_written_to_tiff_in_their_own_type(tmp_path, dtype, channels):
    info = np.iinfo(dtype)
    shape = (6, 8, channels) if channels > 1 else (6, 8)
    x = RNG.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    x.flat[0], x.flat[-1] = info.min, info.max
    np.save(tmp_path / "x.npy", x)
    for mode in ("max", "min"):
        result = run(["pool", tmp_path / "x.npy", "-m", mode, "-o", tmp_path / "o.tif"])
        assert result.exit_code == 0 and result.stderr == ""  # nothing changed: no note
        got = tifffile.imread(tmp_path / "o.tif")
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, pool2d(x, 2, mode=mode))
        if channels == 1 or HAVE_VIPS:  # and poolcli reads it back as it is
            assert np.array_equal(io.read_input(str(tmp_path / "o.tif")).array, got)


def test_signed_tiff_by_tifffile_stays_signed_through_max_and_avg(tmp_path):
    x = np.array([[-300, -1, 7, 9], [-2, -300, 8, 8]], np.int16)
    src = tiff(tmp_path / "s.tif", x)
    assert run(["pool", src, "-o", tmp_path / "m.tif"]).exit_code == 0
    assert tifffile.imread(tmp_path / "m.tif").tolist() == [[-1, 9]]
    result = run(["pool", src, "-m", "avg", "-o", tmp_path / "a.tif"])
    got = tifffile.imread(tmp_path / "a.tif")
    # (-300 - 1 - 2 - 300) / 4 = -150.75 rounds to -151; (7 + 9 + 8 + 8) / 4 = 8
    assert got.dtype == np.int16 and got.tolist() == [[-151, 8]]
    assert result.stderr == "poolcli: " + str(tmp_path / "a.tif") + ": values rounded half up to integers\n"


def test_a_sum_beyond_the_type_follows_rescale_over_the_types_range(tmp_path):
    np.save(tmp_path / "s.npy", np.array([[-3, -2, 30000, 30000]], np.int16))
    result = run(["pool", tmp_path / "s.npy", "-k", "1x2", "-m", "sum", "-o", tmp_path / "o.tif", "--rescale", "clip"])
    assert tifffile.imread(tmp_path / "o.tif").tolist() == [[-5, 32767]]
    assert "values outside the int16 range -32768..32767 clipped" in result.stderr
    result = run(["pool", tmp_path / "s.npy", "-k", "1x2", "-m", "sum", "-o", tmp_path / "o.tif"])
    assert tifffile.imread(tmp_path / "o.tif").tolist() == [[-32768, 32767]]
    assert "values span -5..60000, beyond the int16 range -32768..32767; stretched to -32768..32767" in result.stderr


def test_int64_results_go_to_the_32_bit_type_that_holds_them(tmp_path):
    x = np.array([[-(2**31), 5], [2**31 - 1, 0]], np.int64)
    pixels, note = imagewrite.to_tiff_array(x)
    assert pixels.dtype == np.int32 and pixels.tolist() == x.tolist() and note is None
    pixels, note = imagewrite.to_tiff_array(np.array([[0, 2**32 - 1]], np.int64))
    assert pixels.dtype == np.uint32 and pixels.tolist() == [[0, 2**32 - 1]] and note is None


# ---------------------------------------------------------------- 4. a damaged deflate strip is refused


def _strip(path, index):
    with tifffile.TiffFile(path) as t:
        page = t.pages[0]
        return page.dataoffsets[index], page.databytecounts[index]


@pytest.mark.parametrize("damage", ["checksum", "short stream", "last deflate byte"])
def test_a_damaged_deflate_strip_is_refused_naming_the_file(tmp_path, damage):
    x = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    src = tiff(tmp_path / "z.tif", x, photometric="rgb", compression="zlib", rowsperstrip=16, predictor=True)
    offset, count = _strip(src, 3)
    data = bytearray(src.read_bytes())
    if damage == "checksum":
        data[offset + count - 1] ^= 0x01  # libtiff stops once it has the rows and never reads the checksum
    elif damage == "short stream":
        raw = zlib.decompress(bytes(data[offset : offset + count]))
        short = zlib.compress(raw[: len(raw) // 2])
        data[offset : offset + count] = short.ljust(count, b"\0")
    else:
        data[offset + count - 5] ^= 0x40
    bad = tmp_path / "bad.tif"
    bad.write_bytes(bytes(data))
    if damage == "last deflate byte":
        try:
            intact = zlib.decompress(bytes(data[offset : offset + count])) == zlib.decompress(src.read_bytes()[offset : offset + count])
        except zlib.error:
            intact = False
        if intact:
            pytest.skip("this flip lands on padding bits: the data is intact")
    result = run(["pool", bad, "-o", tmp_path / "o.png"])
    assert result.exit_code == 1 and result.stderr.startswith(f"poolcli: error: {bad}: damaged or truncated image (TIFF: its compressed strip 3 ")
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "o.png").exists()


@needs_convert
def test_imagemagick_deflate_tiff_with_its_checksum_damaged_is_refused(tmp_path):
    src = tmp_path / "im.tif"
    subprocess.run(["convert", "-size", "64x64", "gradient:red-blue", "-depth", "8", "-compress", "zip", str(src)], check=True)
    assert np.array_equal(io.read_input(str(src)).array, tifffile.imread(src))  # a whole file reads
    offset, count = _strip(src, 0)
    data = bytearray(src.read_bytes())
    data[offset + count - 2] ^= 0x10
    (tmp_path / "bad.tif").write_bytes(bytes(data))
    with pytest.raises(io.InputError, match=r"bad.tif: damaged or truncated image \(TIFF: its compressed strip 0 "):
        io.read_input(str(tmp_path / "bad.tif"))


def test_tiled_and_planar_deflate_tiffs_still_read(tmp_path):
    x = RNG.integers(0, 65536, (40, 48, 3), dtype=np.uint16)
    tiled = tiff(tmp_path / "t.tif", x, photometric="rgb", compression="zlib", tile=(16, 16))
    planar = tiff(tmp_path / "p.tif", x.transpose(2, 0, 1), photometric="rgb", compression="zlib", planarconfig="separate", rowsperstrip=7)
    grey = tiff(tmp_path / "g.tif", x[:, :, 0], compression="zlib", rowsperstrip=7)  # a last strip of 5 rows
    assert np.array_equal(io.read_input(str(grey)).array, x[:, :, 0])
    if HAVE_VIPS:
        assert np.array_equal(io.read_input(str(tiled)).array, x)
        assert np.array_equal(io.read_input(str(planar)).array, x)


# ---------------------------------------------------------------- 5. every delimiter the writer takes reads back


@pytest.mark.parametrize("delim", ["|", " | ", ";", " ; ", ",", "tab", "space", "  "])
def test_every_delimiter_the_writer_takes_reads_back(tmp_path, delim):
    x = RNG.standard_normal((30, 7))
    np.save(tmp_path / "x.npy", x)
    assert run(["pool", tmp_path / "x.npy", "-k", "1", "--delimiter", delim, "-o", tmp_path / "x.txt"]).exit_code == 0
    assert run(["pool", tmp_path / "x.txt", "-k", "1", "-o", tmp_path / "y.npy"]).exit_code == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), x)
    arr, notes = io.parse_matrix((tmp_path / "x.txt").read_text(), "x.txt")  # the precise path too
    assert np.array_equal(arr, x) and notes == []


@pytest.mark.parametrize("delim", [":", "::", "%", "/", "x|"])
def test_delimiters_the_reader_would_not_split_on_are_refused(delim):
    result = run(["pool", "-", "--delimiter", delim], input="1,2\n")
    assert result.exit_code == 2 and "would not read back; choose ',' ';' '|', tab or space" in result.stderr


def test_the_delimiter_message_suggests_only_delimiters_that_read_back():
    result = run(["pool", "-", "--delimiter", "e"], input="1,2\n")
    assert result.exit_code == 2 and "choose ',' ';' '|', tab or space" in result.stderr


# ---------------------------------------------------------------- 6. never -0


def test_show_and_pool_show_never_print_minus_zero(tmp_path):
    np.save(tmp_path / "z.npy", np.full((2, 2), -0.0))
    for args in (["show", tmp_path / "z.npy"], ["pool", tmp_path / "z.npy", "--show", "-o", tmp_path / "o.npy"]):
        result = run(args)
        assert result.exit_code == 0 and "min 0  max 0  mean 0" in result.output and "-0" not in result.output


def test_the_stretch_note_never_says_minus_zero(tmp_path):
    np.save(tmp_path / "z.npy", np.array([[-0.0, 300.0]]))
    result = run(["pool", tmp_path / "z.npy", "-k", "1", "-o", tmp_path / "o.png"])
    assert "values span 0..300, beyond 0..1" in result.stderr and "-0" not in result.stderr


# ---------------------------------------------------------------- 7. batch's clash message says what was given


def _folder(tmp_path):
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "a.ppm"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(src / name)
    return src


def test_batch_clash_with_to_names_to(tmp_path):
    src = _folder(tmp_path)
    result = run(["batch", src, tmp_path / "out", "--to", "csv"])
    assert result.exit_code == 1
    assert "(--to csv gives every output the extension .csv); rename one of them, or select one with --glob" in result.stderr


def test_batch_clash_without_to_never_suggests_to(tmp_path):
    src = _folder(tmp_path)
    result = run(["batch", src, tmp_path / "out"])
    assert result.exit_code == 1 and "--to" not in result.stderr
    assert "(poolcli writes no .ppm files, so its output is a PNG)" in result.stderr


# ---------------------------------------------------------------- 8. window conflicts are usage errors


@pytest.mark.parametrize("command", ["pool", "explain", "batch"])
def test_window_options_the_engine_refuses_are_usage_errors_before_reading(tmp_path, command):
    (tmp_path / "empty").mkdir()
    never = tmp_path / "empty" if command == "batch" else tmp_path / "not-read.csv"  # the options are refused first
    args = [command, never] + ([tmp_path / "out"] if command == "batch" else []) + ["-k", "5x4", "-p", "2x3", "-d", "3"]
    result = run(args)
    assert result.exit_code == 2
    assert "-k 5x4 -p 2x3 -d 3: padding 2x3 is more than half the pool window 5x4; use padding <= 2" in result.stderr


def test_a_window_that_does_not_fit_this_input_stays_a_run_time_error(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    result = run(["pool", tmp_path / "m.csv", "-k", "5", "-d", "3"])
    assert result.exit_code == 1 and "does not fit the 2x2 input" in result.stderr


# ---------------------------------------------------------------- 9. notes only when a value changes


def test_gray_of_a_float32_tiff_stays_float32_without_a_note(tmp_path):
    x = RNG.random((8, 8, 3), dtype=np.float32)
    src = tiff(tmp_path / "f.tif", x, photometric="rgb")
    result = run(["pool", src, "--gray", "-o", tmp_path / "g.tif"])
    assert result.exit_code == 0 and result.stderr == ""
    rgb = x.astype(np.float64)
    grey = (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(np.float32)
    got = tifffile.imread(tmp_path / "g.tif")
    assert got.dtype == np.float32 and np.array_equal(got, pool2d(grey, 2))


# ---------------------------------------------------------------- 10. each writer says its notes' kind


@pytest.mark.parametrize(
    "fmt, values, source, options, expected",
    [
        ("jpg", np.zeros((2, 2), np.uint8), np.uint8, {}, [("JPEG is lossy", "format")]),
        ("webp", np.zeros((2, 2), np.uint8), np.uint8, dict(quality=80), [("WebP with --quality is lossy", "format")]),
        ("gif", np.zeros((2, 2, 3), np.uint8), np.uint8, {}, [("GIF holds 256 colours", "format")]),
        ("png", np.array([[0.5, 1.5]]), np.uint8, {}, [("values rounded half up", "values")]),
        ("png", np.array([[0, 65535]], np.uint16), np.uint16, {}, []),
        ("jpg", np.array([[0, 65535]], np.uint16), np.uint16, {}, [("16-bit values scaled", "values"), ("JPEG is lossy", "format")]),
        ("json", np.array([[np.nan]]), np.float64, {}, [("NaN", "values")]),
    ],
)
def test_each_writer_says_the_kind_of_its_notes(fmt, values, source, options, expected):
    spec = PoolSpec(output=OutputSpec(**options))
    _, notes = encode(values, fmt, spec, source_dtype=np.dtype(source), name="o")
    assert len(notes) == len(expected)
    for note, (text, kind) in zip(notes, expected):
        assert note.where == "o" and text in note.text and note.kind == kind


def test_the_pipeline_no_longer_probes_writers():
    import poolcli.pipeline as pipeline

    assert not hasattr(pipeline, "_said_anyway")
    assert writer_for("tif").dtypes == ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32")


def test_tiff_writer_output_is_read_by_tifffile_byte_order_and_tags():
    x = RNG.integers(-(2**31), 2**31 - 1, (3, 5, 2), dtype=np.int32).astype(">i4")  # big-endian in, little out
    from poolcli.formats.codecs import tiff_writer

    buf = stdio.BytesIO()
    tiff_writer(x)(buf)
    with tifffile.TiffFile(stdio.BytesIO(buf.getvalue())) as t:
        page = t.pages[0]
        assert page.dtype == np.int32 and page.extrasamples == (2,)  # the second channel is alpha
        assert np.array_equal(page.asarray(), x)
