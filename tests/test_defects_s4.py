"""Defects found by review and fixed in session 4, each pinned by the values it got wrong."""

import math
import sys

import numpy as np
import pytest

import poolcli

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from reference import ref_pool2d


# PyTorch's lp_pool2d on [[-inf, 1], [2, 3]] with a 2x2 window (torch 2.13): p = 0.5 takes x ** 0.5 as a
# square root, so -inf gives NaN; other powers follow C's pow, where (-inf) ** p is inf for p not an odd integer.
@pytest.mark.parametrize(("p", "expected"), [(0.3, math.inf), (0.5, math.nan), (0.7, math.inf), (1, -math.inf)])
def test_lp_of_minus_infinity_follows_pytorch(p, expected):
    x = np.array([[-np.inf, 1.0], [2.0, 3.0]])
    got = poolcli.pool2d(x, 2, mode="lp", norm_type=p)
    ref = ref_pool2d(x, 2, mode="lp", norm_type=p)
    np.testing.assert_array_equal(got, [[expected]])
    np.testing.assert_array_equal(ref, [[expected]])


def _cli(args):
    from click.testing import CliRunner

    from poolcli.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


# 8-bit pixels 0, 3, 6, ...: a 2x2 average of rows 0-1, columns 0-1 is (0 + 3 + 24 + 27) / 4 = 13.5
PIXELS = (np.arange(64).reshape(8, 8) * 3).astype(np.uint8)


@pytest.fixture
def grey_png(tmp_path):
    from PIL import Image

    path = tmp_path / "g.png"
    Image.fromarray(PIXELS).save(path)
    return path


@pytest.mark.parametrize(("asked", "mode", "first"), [("uint16", "I;16", 14), ("int16", "I;16", 14)])
def test_an_integer_dtype_asked_is_the_png_depth(grey_png, tmp_path, asked, mode, first):
    from PIL import Image

    out = tmp_path / "o.png"
    r = _cli(["pool", grey_png, "-k", 2, "-m", "avg", "--dtype", asked, "-o", out])
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.mode == mode  # 16-bit, as asked, though every value would fit 8 bits
        got = np.array(im)
    assert got[0, 0] == first and got[3, 3] == (162 + 165 + 186 + 189 + 2) // 4


def test_float64_asked_goes_to_tiff_as_float_samples(grey_png, tmp_path):
    tifffile = pytest.importorskip("tifffile")
    out = tmp_path / "o.tif"
    r = _cli(["pool", grey_png, "-k", 2, "-m", "avg", "--dtype", "float64", "-o", out])
    assert r.exit_code == 0, r.output
    got = tifffile.imread(out)
    assert got.dtype == np.float32  # TIFF's float; 13.5 and the other quarters are float32 values, so no note
    assert got[0, 0] == 13.5 and "rounded" not in r.output


def test_float64_asked_to_tiff_says_what_float32_rounds(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    src, out = tmp_path / "x.npy", tmp_path / "o.tif"
    np.save(src, np.array([[0.1, 0.2], [0.3, 0.4]]))
    r = _cli(["pool", src, "-k", 1, "-m", "avg", "--dtype", "float64", "-o", out])
    assert r.exit_code == 0, r.output
    assert "4 of 4 values rounded to the nearest float32" in r.output
    np.testing.assert_array_equal(tifffile.imread(out), np.array([[0.1, 0.2], [0.3, 0.4]], np.float32))


def test_a_float_dtype_to_png_keeps_the_pixels_meaning(grey_png, tmp_path):
    from PIL import Image

    out = tmp_path / "o.png"
    r = _cli(["pool", grey_png, "-k", 2, "-m", "avg", "--dtype", "float64", "-o", out])
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.mode == "L" and np.array(im)[0, 0] == 14  # 13.5 rounded half up, an 8-bit pixel again
    assert "rounded half up" in r.output


def test_unpool_shows_a_huge_index_as_the_float_it_was_read_as(tmp_path):
    values, idx = tmp_path / "v.csv", tmp_path / "i.csv"
    values.write_text("1,2\n3,4\n")
    idx.write_text("0,12345678901234567890\n2,3\n")  # past int64, and past 2**53: text holds it as a float64
    r = _cli(["unpool", values, "--indices", idx, "-k", 2])
    assert r.exit_code == 1
    assert "cell [0, 1] holds index 1.2345678901234567e+19 (as read: text holds numbers as float64" in r.output
    assert "12345678901234567168" not in r.output  # the float's integer, which no file held


@pytest.mark.parametrize("tile", ["first", "last"])
def test_a_damaged_lzw_tile_of_a_16_bit_colour_tiff_is_refused(tmp_path, tile):
    # libtiff reports LZW codes not yet in the table as a warning, which libvips took (fail_on="error") and
    # returned the tile's wrong samples without a word (765 of them in the first tile here)
    pyvips = pytest.importorskip("pyvips")
    tifffile = pytest.importorskip("tifffile")
    x = np.random.default_rng(0).integers(0, 65535, (64, 40, 3), dtype=np.uint16)
    src = tmp_path / "in.tif"
    pyvips.Image.new_from_array(x).copy(interpretation="rgb16").tiffsave(
        str(src), compression="lzw", tile=True, tile_width=16, tile_height=16
    )
    with tifffile.TiffFile(src) as t:
        at = t.pages[0].dataoffsets[0 if tile == "first" else -1] + 10
    data = src.read_bytes()
    src.write_bytes(data[:at] + b"\xff" * 40 + data[at + 40 :])  # codes LZW has not made yet
    out = tmp_path / "o.npy"
    r = _cli(["pool", src, "-k", 1, "-o", out])
    assert r.exit_code == 1 and "damaged or truncated image" in r.output and not out.exists()


@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 1), (3, 3)])
def test_pool_rounded_says_it_rounded_whichever_path_computes_it(size, stride):
    # OpenCV (the accel extra) computes these averages bit for bit, but cannot say whether it rounded: the
    # image path's note "values rounded half up" hangs on that answer
    from poolcli.engine.pooling import pool_rounded

    x = np.random.default_rng(size).integers(0, 256, (64, 64), dtype=np.uint8)
    x[:, 0] |= 1  # an odd cell in every window of the first column: no average there is whole
    exact = ref_pool2d(x, size, stride, mode="avg")
    values, rounded = pool_rounded(x, size=size, stride=stride, mode="avg")
    np.testing.assert_array_equal(values, np.floor(exact + 0.5).astype(np.uint8))
    assert rounded == bool((exact != np.floor(exact)).any()) and rounded
    whole = np.full_like(x, 7)  # every average is 7: nothing rounded
    values, rounded = pool_rounded(whole, size=size, stride=stride, mode="avg")
    assert rounded is False and (values == 7).all()


def test_a_global_float16_sum_beyond_its_range_is_inf_beside_a_nan_channel():
    # the NaN in channel 0 sent every channel through the overflow rescue, which scaled channel 1's sum by
    # 2**-64 into float16 (0) before scaling it back: 32770 + 32770 came out 0 instead of inf (hypothesis)
    x = np.array([[[np.nan, 32770], [32770, 32770]]], np.float16)
    got = poolcli.pool2d(x, output_size=1, mode="sum")
    np.testing.assert_array_equal(got, [[[np.nan, np.inf]]])
    np.testing.assert_array_equal(got, ref_pool2d(x, output_size=1, mode="sum"))
    assert poolcli.pool2d(np.full((4, 4), 6e4, np.float16), output_size=1, mode="avg")[0, 0] == np.float16(6e4)


def test_the_accel_path_keeps_every_bit_for_two_channels_and_many():
    # OpenCV's area resize rounds 2x2 averages of 2 channels half to even (4,001 of 32,768 pixels of a grey+alpha
    # PNG were one less); its dilate refuses 512 channels of a 40x40 image with an assertion (a traceback)
    pytest.importorskip("cv2")
    x = np.random.default_rng(0).integers(0, 256, (512, 512, 2), dtype=np.uint8)
    try:
        poolcli.set_accel(True)
        fast = poolcli.pool2d(x, size=2, mode="avg", dtype="same")
        many = poolcli.pool2d(np.zeros((40, 40, 512), np.uint8), size=3, stride=1)
    finally:
        poolcli.set_accel(None)
    assert fast.tobytes() == (x.reshape(256, 2, 256, 2, 2).astype(int).sum(axis=(1, 3)) + 2 >> 2).astype(np.uint8).tobytes()
    assert many.shape == (38, 38, 512) and not many.any()


@pytest.mark.parametrize(
    ("values", "asked", "mode"),
    [(np.array([[0.2, 3.7], [255, 7]]), "uint16", "I;16"), (np.array([[0, 300], [65535, 7]], np.uint16), "uint8", "L")],
)
def test_a_streamed_npy_to_png_takes_the_depth_dtype_asks_for(tmp_path, values, asked, mode):
    # NPY is read band by band; its PNG sink chose the depth from the input's type, not --dtype's
    from PIL import Image

    src, out = tmp_path / "x.npy", tmp_path / "o.png"
    np.save(src, values)
    r = _cli(["pool", src, "-k", 1, "--dtype", asked, "-o", out])
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.mode == mode
        got = np.array(im)
    want = poolcli.pool2d(values, 1, dtype=asked)
    np.testing.assert_array_equal(got, want)
