"""Reading and writing: text matrices, NPY, images, atomic writes."""

import io as stdio
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from poolcli import io
from poolcli.formats import images


def parse(text):
    return io.parse_matrix(text.encode() if isinstance(text, str) else text, "m.csv")


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3\n4,5,6\n",
        "1\t2\t3\n4\t5\t6",
        "1;2;3\n4;5;6\n",
        "1 2 3\n4   5 6\n",
        "# comment\n\n1, 2, 3\r\n4, 5, 6\r\n\n",
        "\ufeff1,2,3\n4,5,6\n",
        "x,y,z\n1,2,3\n4,5,6\n",
    ],
)
def test_delimiters_comments_crlf_bom_header(text):
    arr, _ = parse(text)
    assert arr.dtype == np.float64
    assert arr.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_header_is_skipped_with_a_note():
    _, notes = parse("a,b\n1,2\n")
    assert notes == ["m.csv: line 1 looks like a header (a, b); skipped it"]


def test_utf16_with_bom_is_read():
    arr, _ = parse("1,2\n3,4\n".encode("utf-16"))
    assert arr.tolist() == [[1, 2], [3, 4]]


def test_nan_and_inf_accepted():
    arr, _ = parse("nan,inf\n-inf,1\n")
    assert np.isnan(arr[0, 0]) and arr[0, 1] == np.inf and arr[1, 0] == -np.inf


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "m.csv: no numbers (empty, or only comments and blank lines)"),
        ("# only\n# comments\n", "m.csv: no numbers"),
        ("1,2,3\n4,5\n", "m.csv: line 2 has 2 values, expected 3 as on line 1 (separated by ',')"),
        ("1,2\n3,abc\n", "m.csv: line 2, column 2: 'abc' is not a number"),
        ("1,2\n3,1e999\n", "m.csv: line 2, column 2: '1e999' is beyond the float64 range"),
        ("1,2\n3;4\n", "m.csv: line 2 has 1 values, expected 2"),
        ("a,b\n", "m.csv: only a header row, no numbers"),
        (b"1,2\n\xff\xfe\x00,3\n"[0:4] + b"\xff,1\n", "m.csv: line 2: not UTF-8 text (byte 0xff)"),
    ],
)
def test_text_errors_name_line_and_column(text, message):
    with pytest.raises(io.InputError) as err:
        parse(text)
    assert message in str(err.value)


def test_single_cell_row_and_column():
    assert parse("7\n")[0].tolist() == [[7]]
    assert parse("1,2,3\n")[0].shape == (1, 3)
    assert parse("1\n2\n3\n")[0].shape == (3, 1)


def test_too_many_cells_refused():
    with pytest.raises(io.InputError, match="more than 5"):
        io.parse_matrix(b"1,2,3\n4,5,6\n", "m.csv", max_cells=5)


def test_format_integral_without_point_and_shortest_form():
    a = np.array([[1.0, -0.0, 0.1, 2.5e-300], [1e20, np.nan, np.inf, -np.inf]])
    assert io.format_matrix(a) == "1,0,0.1,2.5e-300\n1e+20,nan,inf,-inf\n"  # never -0
    assert io.format_matrix(np.array([[1, 2]], np.uint8), delimiter="\t") == "1\t2\n"
    assert io.format_matrix(np.array([[1 / 3, 2.0]]), precision=3) == "0.333,2.000\n"


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    ),
    st.sampled_from([",", "\t", ";", " "]),
)
def test_text_round_trip_is_exact(arr, delim):
    text = io.format_matrix(arr, delimiter=delim)
    back, _ = io.parse_matrix(text.encode(), "rt")
    assert back.shape == arr.shape
    assert np.array_equal(back, arr, equal_nan=True)
    real = ~np.isnan(arr) & (arr != 0)
    assert np.array_equal(np.signbit(back[real]), np.signbit(arr[real]))
    assert not np.signbit(back[arr == 0]).any()  # -0 is written 0


def test_sniff_by_content():
    buf = stdio.BytesIO()
    Image.new("L", (2, 2)).save(buf, "PNG")
    assert io.sniff(buf.getvalue()) == "image"
    npy = stdio.BytesIO()
    np.save(npy, np.zeros((2, 2)))
    assert io.sniff(npy.getvalue()) == "npy"
    assert io.sniff(b"1,2\n3,4\n") == "text"
    for fmt in ["JPEG", "GIF", "BMP", "TIFF", "WEBP"]:
        b = stdio.BytesIO()
        Image.new("RGB", (4, 4)).save(b, fmt)
        assert io.sniff(b.getvalue()) == "image", fmt


def _write_npy(path, arr, allow_pickle=False):
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=allow_pickle)


def test_npy_object_array_is_refused_not_unpickled(tmp_path):
    p = tmp_path / "obj.npy"
    _write_npy(p, np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(io.InputError, match="holds Python objects; refused"):
        io.read_input(str(p))


@pytest.mark.parametrize(
    "arr, message",
    [
        (np.zeros((2, 2, 2, 2)), "NPY array is 4-D"),
        (np.zeros((2, 2), complex), r"NPY dtype complex128 \(complex\) is not supported"),
        (np.zeros((0, 2)), "NPY array is empty"),
    ],
)
def test_npy_refusals(tmp_path, arr, message):
    p = tmp_path / "a.npy"
    _write_npy(p, arr)
    with pytest.raises(io.InputError, match=message):
        io.read_input(str(p))


def test_npy_truncated(tmp_path):
    p = tmp_path / "t.npy"
    _write_npy(p, np.arange(100.0).reshape(10, 10))
    p.write_bytes(p.read_bytes()[:-50])
    with pytest.raises(io.InputError, match="t.npy"):
        io.read_input(str(p))


@pytest.mark.parametrize(
    "mode, expect_shape, expect_dtype",
    [
        ("L", (5, 7), np.uint8),
        ("RGB", (5, 7, 3), np.uint8),
        ("RGBA", (5, 7, 4), np.uint8),
        ("LA", (5, 7, 2), np.uint8),
        ("1", (5, 7), np.uint8),
        ("I;16", (5, 7), np.uint16),
    ],
)
def test_image_modes(tmp_path, mode, expect_shape, expect_dtype):
    p = tmp_path / "im.png"
    Image.new(mode, (7, 5)).save(p)
    loaded = io.read_input(str(p))
    assert loaded.kind == "image"
    assert loaded.array.shape == expect_shape and loaded.array.dtype == expect_dtype


def test_palette_images_colour_or_gray(tmp_path):
    colour = Image.new("P", (4, 3), 1)
    colour.putpalette([0, 0, 0, 200, 10, 30] + [0] * 762)
    colour.save(tmp_path / "c.png")
    arr = io.read_input(str(tmp_path / "c.png")).array
    assert arr.shape == (3, 4, 3) and arr[0, 0].tolist() == [200, 10, 30]
    gray = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20)
    gray.save(tmp_path / "g.gif")  # GIF stores it with a gray palette
    arr = io.read_input(str(tmp_path / "g.gif")).array
    assert arr.shape == (3, 4) and arr.tolist() == (np.arange(12).reshape(3, 4) * 20).tolist()


def test_netpbm_is_an_image_even_when_ascii(tmp_path):
    (tmp_path / "p.pgm").write_bytes(b"P2\n3 2\n255\n0 10 20\n30 40 50\n")
    loaded = io.read_input(str(tmp_path / "p.pgm"))
    assert loaded.kind == "image" and loaded.array.tolist() == [[0, 10, 20], [30, 40, 50]]
    assert io.sniff(b"P1,P2\n1,2\n") == "text"  # a header that merely starts with P1 is still text


def test_tabs_and_spaces_mixed_and_quoted_cells():
    assert parse("1 2\t3 4\n5 6 7 8\n")[0].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert parse('"1","2"\n"3","4"\n')[0].tolist() == [[1, 2], [3, 4]]


def test_cmyk_jpeg_keeps_its_four_channels_with_a_note(tmp_path):
    p = tmp_path / "c.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(p)
    loaded = io.read_input(str(p))
    assert loaded.array.shape == (8, 8, 4)
    assert loaded.array[0, 0, 0] < 10 and loaded.array[0, 0, 1] > 245 and loaded.array[0, 0, 3] < 10
    assert loaded.notes == [f"{p}: JPEG is in CMYK: its C, M, Y, K channels are pooled as stored, not converted to RGB; an image written from them holds the same numbers as its own channels"]


def test_exif_orientation_applied(tmp_path):
    p = tmp_path / "o.png"
    arr = np.zeros((2, 4), np.uint8)
    arr[0, 0] = 255  # mark the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    Image.fromarray(arr).save(p, exif=exif)
    got = io.read_input(str(p)).array
    assert got.shape == (4, 2)
    assert got[0, 1] == 255 and got.sum() == 255  # the top-left corner turns to the top-right


def test_decompression_bomb_guard(tmp_path):
    p = tmp_path / "big.png"
    Image.new("L", (200, 100)).save(p)
    with pytest.raises(io.InputError, match="more than 10,000 pixels; pass --max-pixels N"):
        io.read_input(str(p), max_pixels=10_000)
    assert io.read_input(str(p), max_pixels=20_000).array.shape == (100, 200)


def test_to_image_array_rules():
    # the averages of an 8-bit image: pixel values, rounded half up
    exact, note = io.to_image_array(np.array([[0.5, 1.49, 254.5]]), bits=8, source_dtype=np.uint8)
    assert exact.tolist() == [[1, 1, 255]] and note == "values rounded half up to integers"
    stretched, note = io.to_image_array(np.array([[-10.0, 0.0, 10.0]]), bits=8, source_dtype=np.uint8)
    assert stretched.tolist() == [[0, 128, 255]] and "stretched to 0..255" in note
    clipped, note = io.to_image_array(np.array([[-10.0, 300.0]]), bits=8, rescale="clip", source_dtype=np.uint8)
    assert clipped.tolist() == [[0, 255]] and "clipped" in note
    mm, _ = io.to_image_array(np.array([[2, 4]], np.uint8), bits=8, rescale="minmax")
    assert mm.tolist() == [[0, 255]]
    wide, _ = io.to_image_array(np.array([[70000, 0]], np.int32), bits=16)
    assert wide.dtype == np.uint16 and wide.tolist() == [[65535, 0]]  # stretched, never wrapped


def test_atomic_writer_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(io.OutputError, match="out.csv: cannot write \\(no space left on device\\)"):
        with io.atomic_writer(str(target)) as f:
            f.write(b"new partial")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_atomic_writer_missing_folder(tmp_path):
    with pytest.raises(io.OutputError, match="output folder .* does not exist"):
        with io.atomic_writer(str(tmp_path / "nope" / "x.csv")):
            pass


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
               elements=st.floats(allow_nan=True, allow_infinity=True, width=64)),
    st.sampled_from([",", "\t", ";", " "]),
    st.lists(st.tuples(st.sampled_from(["delete", "insert", "replace"]), st.integers(0, 10_000), st.characters()), max_size=4),
)
def test_reader_gives_the_exact_matrix_or_a_clean_error(arr, delim, edits):
    text = io.format_matrix(arr, delimiter=delim)
    for op, pos, ch in edits:  # break it at random
        pos %= len(text) + 1
        if op == "delete":
            text = text[:pos] + text[pos + 1:]
        elif op == "insert":
            text = text[:pos] + ch + text[pos:]
        else:
            text = text[:pos] + ch + text[pos + 1:]
    try:
        back, _ = io.parse_matrix(text.encode("utf-8", "surrogatepass"), "fz")
    except io.InputError:
        assert edits  # only a broken text may be refused
        return
    assert back.dtype == np.float64 and back.ndim == 2 and back.size
    if not edits:
        assert np.array_equal(back, arr, equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from([np.uint8, np.uint16]),
    st.integers(1, 20), st.integers(1, 20), st.sampled_from([0, 3, 4]),
    st.integers(1, 3), st.sampled_from(["valid", "same"]), st.integers(0, 2**32 - 1),
)
def test_random_images_through_pool_and_back_are_exact(tmp_path_factory, dtype, h, w, channels, k, padding, seed):
    from click.testing import CliRunner

    from poolcli import pool2d
    from poolcli.cli import main

    if dtype == np.uint16 and channels:
        channels = 0  # Pillow writes 16-bit grayscale only
    if padding == "valid" and (h < k or w < k):
        return
    shape = (h, w, channels) if channels else (h, w)
    x = np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    d = tmp_path_factory.mktemp("img")
    Image.fromarray(x).save(d / "in.png")
    result = CliRunner().invoke(main, ["pool", str(d / "in.png"), "-k", str(k), "-p", padding, "-o", str(d / "out.png")])
    assert result.exit_code == 0, result.output
    got = np.asarray(Image.open(d / "out.png"))
    assert got.dtype == dtype
    assert np.array_equal(got, pool2d(x, k, padding=padding))


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16", "P", "1", "CMYK"])
def test_large_images_convert_band_by_band_to_the_same_pixels(tmp_path, monkeypatch, mode):
    rng = np.random.default_rng(4)
    base = Image.fromarray(rng.integers(0, 256, (23, 17, 3), dtype=np.uint8), "RGB")
    im = base.convert(mode) if mode != "I;16" else Image.fromarray(rng.integers(0, 65536, (23, 17), dtype=np.uint16))
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    im.save(path)
    whole = io.read_input(str(path)).array
    monkeypatch.setattr(images, "_PIXEL_BAND_MIN", 1)
    monkeypatch.setattr(images, "_PIXEL_BAND_ROWS", 5)
    banded = io.read_input(str(path)).array
    assert banded.dtype == whole.dtype and np.array_equal(banded, whole)


def test_text_that_merely_looks_like_netpbm_and_tsv_details():
    arr, notes = parse("P1\tP2\tP3\n1\t2\t3\n")  # a header, not a PBM image
    assert arr.tolist() == [[1, 2, 3]] and "looks like a header" in notes[0]
    arr, notes = parse("sample 1\tsample 2\n1\t2\n")  # header names with spaces
    assert arr.tolist() == [[1, 2]] and notes
    with pytest.raises(io.InputError, match="line 1, column 2 is empty"):
        parse("1\t\t3\n4\t\t6\n")  # an empty TSV cell is not silently dropped


def test_palette_index_past_a_short_palette_reads_as_black():
    im = Image.new("P", (2, 1))
    im.putdata([0, 5])
    im.putpalette([255, 0, 0, 200, 0, 0])  # two entries; index 5 is beyond them (files can say so)
    arr, _ = images._image_to_array(im)
    assert arr.shape == (1, 2, 3) and arr[0, 0].tolist() == [255, 0, 0] and arr[0, 1].tolist() == [0, 0, 0]
