"""Signals (1-D) and volumes (3-D) on the command line: values against tests/reference.py and hand-worked cases,
orientation kept, multi-page TIFFs (ImageMagick's, tifffile's, ours) and folders of slices, and the refusals."""

import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from poolcli import pool2d
from poolcli.cli import main

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_pool  # noqa: E402

SIGNAL = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0, 5.0, 3.5, 5.0]


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def csv_values(text):
    return np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])


def refused(result, code, message, folder, before):
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in folder.rglob("*")) == before  # no output, no temporary file


# ---------------------------------------------------------------- signals

#: (CLI options, the reference's keyword arguments): every window option of 1-D pooling
SIGNAL_CASES = [
    (["-k", "4"], dict(size=4)),
    (["-k", "3", "-s", "2"], dict(size=3, stride=2)),
    (["-k", "3", "-s", "2", "-p", "same"], dict(size=3, stride=2, padding="same")),
    (["-k", "3", "-s", "2", "-p", "same", "-m", "avg"], dict(size=3, stride=2, padding="same", mode="avg")),
    (["-k", "3", "-p", "1", "-m", "avg"], dict(size=3, padding=1, mode="avg")),
    (["-k", "3", "-p", "1", "-m", "avg", "--no-count-pad"], dict(size=3, padding=1, mode="avg", count_pad=False)),
    (["-k", "2", "-d", "3", "-m", "min"], dict(size=2, dilation=3, mode="min")),
    (["-k", "3", "-s", "3", "--ceil-mode", "-m", "sum"], dict(size=3, stride=3, ceil_mode=True, mode="sum")),
    (["--output-size", "4", "-m", "avg"], dict(size=None, output_size=4, mode="avg")),
    (["--output-size", "global"], dict(size=None, output_size=(1,))),
    (["-k", "3", "-m", "lp", "--norm-type", "2"], dict(size=3, mode="lp", norm_type=2.0)),
]


def _ref(x, kwargs):
    kwargs = dict(kwargs)
    size = kwargs.pop("size")
    return ref_pool(np.asarray(x), 2 if size is None else size, ndim=1, **kwargs)


@pytest.mark.parametrize("args, kwargs", SIGNAL_CASES, ids=[" ".join(a) for a, _ in SIGNAL_CASES])
def test_a_row_is_pooled_as_a_signal_and_stays_a_row(here, args, kwargs):
    (here / "row.csv").write_text(",".join(map(repr, SIGNAL)) + "\n")
    got = csv_values(ok(run(["pool", "row.csv", *args])).stdout)
    expected = _ref(SIGNAL, kwargs)
    assert got.shape == (1, expected.size)
    np.testing.assert_allclose(got[0], expected, rtol=1e-15)


@pytest.mark.parametrize("args, kwargs", SIGNAL_CASES, ids=[" ".join(a) for a, _ in SIGNAL_CASES])
def test_a_column_is_pooled_as_a_signal_and_stays_a_column(here, args, kwargs):
    (here / "col.txt").write_text("\n".join(map(repr, SIGNAL)) + "\n")
    ok(run(["pool", "col.txt", *args, "-o", "out.npy"]))
    got = np.load("out.npy")
    expected = _ref(SIGNAL, kwargs)
    assert got.shape == (expected.size, 1)
    np.testing.assert_allclose(got[:, 0], expected, rtol=1e-15)


@pytest.mark.parametrize("args, kwargs", SIGNAL_CASES, ids=[" ".join(a) for a, _ in SIGNAL_CASES])
def test_a_1d_npy_stays_1d(here, args, kwargs):
    x = np.array(SIGNAL, np.float32)
    np.save("sig.npy", x)
    ok(run(["pool", "sig.npy", *args, "-o", "out.npy"]))
    got = np.load("out.npy")
    expected = _ref(x, kwargs)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_hand_worked_signal_and_its_indices(here):
    (here / "row.csv").write_text("1,5,2,8,3,9,7\n")
    result = ok(run(["pool", "row.csv", "-k", "2", "--indices", "idx.csv"]))
    assert result.stdout == "5,8,9\n"
    assert (here / "idx.csv").read_text() == "1,3,5\n"
    (here / "col.csv").write_text("1\n5\n2\n8\n3\n9\n7\n")
    result = ok(run(["pool", "col.csv", "-k", "3", "-s", "2", "-p", "1", "--indices", "idx.csv"]))
    assert result.stdout == "5\n8\n9\n9\n"  # windows of cells -1..1, 1..3, 3..5, 5..7 (cell -1 and 7: padding)
    assert (here / "idx.csv").read_text() == "1\n3\n5\n5\n"


def test_a_1d_npy_goes_to_text_as_one_row(here):
    np.save("sig.npy", np.array([4, 1, 7, 2, 2], np.uint8))
    assert ok(run(["pool", "sig.npy", "-k", "2", "-m", "sum"])).stdout == "5,9\n"
    assert ok(run(["pool", "sig.npy", "-k", "2", "-t", "json"])).stdout.split() == ["[[4,", "7]]"]


def test_a_window_given_as_a_pair_keeps_2d_meaning(here):
    (here / "row.csv").write_text("1,5,2,8,3,9\n")
    assert ok(run(["pool", "row.csv", "-k", "1x2"])).stdout == "5,8,9\n"
    result = run(["pool", "row.csv", "-k", "2", "-s", "1x2"])
    assert result.stdout == ""  # size 2 is then 2x2, which does not fit one row
    assert result.exit_code == 1 and "does not fit the 1x6 input" in result.stderr


def test_a_matrix_of_several_rows_and_columns_is_still_2d(here):
    x = np.arange(24, dtype=np.int64).reshape(3, 8)
    np.save("m.npy", x)
    ok(run(["pool", "m.npy", "-k", "2", "-o", "out.npy"]))
    np.testing.assert_array_equal(np.load("out.npy"), pool2d(x, 2))


def test_a_one_pixel_high_image_is_a_signal(here):
    rgb = np.arange(30, dtype=np.uint8).reshape(1, 10, 3)
    Image.fromarray(rgb).save("strip.png")
    ok(run(["pool", "strip.png", "-k", "5", "-o", "out.png"]))
    got = np.asarray(Image.open("out.png"))
    np.testing.assert_array_equal(got, ref_pool(rgb[0], 5, ndim=1)[np.newaxis])


def test_explain_walks_a_signal_along_it(here):
    (here / "row.csv").write_text("1,5,2,8\n")
    text = ok(run(["explain", "row.csv", "-k", "2", "-m", "avg", "--no-color"])).stdout
    assert "window 2 of 2: rows 0..0, columns 2..3 -> output [0, 1]" in text
    assert "avg(2, 8) = 10 / 2 = 5" in text


# ---------------------------------------------------------------- volumes from NPY

VOLUME_CASES = [
    (["-k", "2x2x2"], dict(size=2)),
    (["-k", "2"], dict(size=2)),
    (["-k", "2x3x2", "-s", "1x2x1"], dict(size=(2, 3, 2), stride=(1, 2, 1))),
    (["-k", "3", "-s", "2", "-p", "same", "-m", "avg"], dict(size=3, stride=2, padding="same", mode="avg")),
    (["-k", "3", "-p", "1x0x1", "-m", "avg"], dict(size=3, padding=(1, 0, 1), mode="avg")),
    (["-k", "2", "-d", "2x1x2", "-m", "min"], dict(size=2, dilation=(2, 1, 2), mode="min")),
    (["-k", "2", "-s", "2", "--ceil-mode", "-m", "sum"], dict(size=2, stride=2, ceil_mode=True, mode="sum")),
    (["--output-size", "2x3x2", "-m", "avg"], dict(size=None, output_size=(2, 3, 2), mode="avg")),
    (["--output-size", "global", "-m", "avg"], dict(size=None, output_size=(1, 1, 1), mode="avg")),
    (["-k", "2", "-m", "lp", "--norm-type", "3"], dict(size=2, mode="lp", norm_type=3.0)),
]


@pytest.mark.parametrize("args, kwargs", VOLUME_CASES, ids=[" ".join(a) for a, _ in VOLUME_CASES])
def test_a_volume_npy_against_the_reference(here, args, kwargs):
    x = np.random.default_rng(3).integers(0, 255, (5, 6, 5)).astype(np.float64)
    np.save("vol.npy", x)
    ok(run(["pool", "vol.npy", "--volume", *args, "-o", "out.npy"]))
    kwargs = dict(kwargs)
    size = kwargs.pop("size")
    expected = ref_pool(x, 2 if size is None else size, ndim=3, **kwargs)
    got = np.load("out.npy")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_channels_last_and_chw_volumes(here):
    x = np.arange(4 * 4 * 4 * 2, dtype=np.int32).reshape(4, 4, 4, 2)
    np.save("dhwc.npy", x)
    ok(run(["pool", "dhwc.npy", "--volume", "-k", "2", "-o", "a.npy"]))
    np.testing.assert_array_equal(np.load("a.npy"), ref_pool(x, 2, ndim=3))
    np.save("cdhw.npy", np.moveaxis(x, -1, 0))
    ok(run(["pool", "cdhw.npy", "--volume", "--layout", "chw", "-k", "2", "-o", "b.npy"]))
    np.testing.assert_array_equal(np.load("b.npy"), np.moveaxis(ref_pool(x, 2, ndim=3), -1, 0))  # channels first again
    ok(run(["pool", "dhwc.npy", "--volume", "--channel", "1", "-k", "2", "-o", "c.npy"]))
    np.testing.assert_array_equal(np.load("c.npy"), ref_pool(x[..., 1], 2, ndim=3))


def test_volume_indices_are_flat_per_channel_as_pytorch(here):
    np.save("vol.npy", np.arange(64, dtype=np.uint8).reshape(4, 4, 4))
    ok(run(["pool", "vol.npy", "--volume", "-k", "2", "-o", "v.npy", "--indices", "idx.npy"]))
    # the largest of each 2x2x2 block is its last cell: d*16 + r*4 + c with d, r, c odd
    np.testing.assert_array_equal(np.load("idx.npy"), [[[21, 23], [29, 31]], [[53, 55], [61, 63]]])
    np.testing.assert_array_equal(np.load("v.npy"), np.load("idx.npy"))


# ---------------------------------------------------------------- multi-page TIFFs and folders


def _slices(depth=3, dtype=np.uint8, scale=1):
    return np.stack([(np.arange(20).reshape(4, 5) * 3 + 7 * d) * scale for d in range(depth)]).astype(dtype)


@pytest.mark.skipif(shutil.which("convert") is None, reason="ImageMagick's convert is not installed")
def test_imagemagick_multipage_tiff(here):
    vol = _slices()
    for d, page in enumerate(vol):
        Image.fromarray(page).save(f"s{d}.png")
    subprocess.run(["convert", "s0.png", "s1.png", "s2.png", "-adjoin", "vol.tif"], check=True)
    ok(run(["pool", "vol.tif", "--volume", "-k", "2x2x2", "-s", "1x2x2", "-o", "out.npy"]))
    np.testing.assert_array_equal(np.load("out.npy"), ref_pool(vol, (2, 2, 2), (1, 2, 2), ndim=3))


@pytest.mark.parametrize("dtype, scale", [(np.uint8, 1), (np.uint16, 300), (np.float32, 0.01)])
def test_tifffile_multipage_tiff(here, dtype, scale):
    tifffile = pytest.importorskip("tifffile")
    vol = _slices(4, dtype, scale)
    tifffile.imwrite("vol.tif", vol, photometric="minisblack")
    ok(run(["pool", "vol.tif", "--volume", "-k", "2", "-m", "max", "-o", "out.npy"]))
    got = np.load("out.npy")
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, ref_pool(vol, 2, ndim=3))


@pytest.mark.parametrize("dtype, scale", [(np.uint8, 1), (np.uint16, 300), (np.float32, 0.013)])
def test_volume_round_trip_npy_tiff_npy(here, dtype, scale):
    vol = _slices(3, dtype, scale)
    np.save("vol.npy", vol)
    result = ok(run(["pool", "vol.npy", "--volume", "-k", "1", "-o", "vol.tif"]))
    assert result.stderr == ""  # every value fits the pages: nothing to say
    with Image.open("vol.tif") as im:
        assert im.n_frames == 3
    ok(run(["pool", "vol.tif", "--volume", "-k", "1", "-o", "back.npy"]))
    back = np.load("back.npy")
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, vol)


def test_values_that_change_on_the_way_to_tiff_are_said(here):
    np.save("vol.npy", _slices(2))
    result = ok(run(["pool", "vol.npy", "--volume", "-k", "2", "-m", "avg", "-o", "avg.tif"]))
    assert result.stderr == "poolcli: avg.tif: values rounded half up to integers\n"
    expected = np.floor(ref_pool(_slices(2), 2, mode="avg", ndim=3) + 0.5)  # 12.5 is 13
    with Image.open("avg.tif") as im:
        np.testing.assert_array_equal(np.asarray(im), expected[0])


def test_folder_of_slices_in_natural_order(here):
    vol = _slices(3)
    (here / "slices").mkdir()
    for d, name in enumerate(["img2.png", "img10.png", "img1.png"]):
        Image.fromarray(vol[d]).save(here / "slices" / name)
    # natural order: img1 (vol[2]), img2 (vol[0]), img10 (vol[1])
    ok(run(["pool", "slices", "--volume", "-k", "1", "-o", "out.npy"]))
    np.testing.assert_array_equal(np.load("out.npy"), vol[[2, 0, 1]])
    ok(run(["pool", "slices", "--volume", "-k", "3x2x2", "-m", "avg", "-o", "avg.npy"]))
    np.testing.assert_allclose(np.load("avg.npy"), ref_pool(vol[[2, 0, 1]], (3, 2, 2), mode="avg", ndim=3))


def test_a_folder_of_text_slices(here):
    (here / "s").mkdir()
    (here / "s" / "a.csv").write_text("1,2\n3,4\n")
    (here / "s" / "b.csv").write_text("5,6\n7,8\n")
    got = np.load(io.BytesIO(ok(run(["pool", "s", "--volume", "-k", "2", "-m", "avg", "-t", "npy"])).stdout_bytes))
    np.testing.assert_array_equal(got, [[[4.5]]])


# ---------------------------------------------------------------- refusals


def _bad_tiff(folder):
    pages = [Image.fromarray(np.zeros((4, 4), np.uint8)), Image.fromarray(np.zeros((4, 5), np.uint8))]
    pages[0].save(folder / "bad.tif", save_all=True, append_images=pages[1:])


def _bad_folder(folder):
    (folder / "sl").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "sl" / "1.png")
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(folder / "sl" / "2.png")


REFUSALS = [
    (["vol.npy", "--volume", "-o", "v.png"], 2, "v.png: PNG holds no volume; a volume is written as .npy or .tif/.tiff"),
    (["vol.npy", "--volume"], 2, "stdout: CSV holds no volume; a volume is written as .npy or .tif/.tiff (give -o FILE or --to)"),
    (["vol.npy", "--volume", "-k", "2x2", "-o", "v.npy"], 2, "-k 2x2 is for an image; a volume takes one number or DxHxW"),
    (["vol.npy", "-k", "2x2x2", "-o", "v.npy"], 2, "-k 2x2x2 is for a volume (depth x rows x columns); add --volume"),
    (["vol.npy", "--volume", "--indices", "i.csv", "-o", "v.npy"], 2, "--indices i.csv: a volume's indices are written as .npy"),
    (["vol.npy", "--volume", "-c", "blur", "-o", "v.npy"], 2, "-c filters 2-D images; a volume (--volume) takes no filter"),
    (["m.npy", "--volume", "-o", "v.npy"], 1, "m.npy: NPY array is 2-D with shape (4, 4); poolcli reads a volume as 3-D"),
    (["m.png", "--volume", "-o", "v.npy"], 1, "m.png: a PNG image holds no volume; --volume reads a 3-D or 4-D NPY"),
    (["m.csv", "--volume", "-o", "v.npy"], 1, "m.csv: a text input holds no volume; --volume reads"),
    (["bad.tif", "--volume", "-o", "v.npy"], 1, "bad.tif: page 1 is 4x5 mode L, page 0 4x4 mode L; a volume's pages must agree"),
    (["sl", "--volume", "-o", "v.npy"], 1, "2.png: slice is 4x4 uint16 (image), the first (1.png) 4x4 uint8 (image)"),
    (["vol.npy", "--volume", "--max-pixels", "63", "-o", "v.npy"], 1, "spans 4x4x4 = 64 cells, more than --max-pixels 63"),
    (["vol.tif", "--volume", "--max-pixels", "63", "-o", "v.npy"], 1, "vol.tif: the volume holds 4x4x4 = 64 cells, more than --max-pixels 63"),
    (["vol.npy", "--volume", "-k", "5", "-o", "v.npy"], 1, "does not fit"),
    (["sig.npy", "-c", "blur", "-o", "v.npy"], 1, "sig.npy: a filter (-c) acts on 2-D inputs; this is a signal"),
    (["sig.npy", "-k", "1x2", "-o", "v.npy"], 1, "sig.npy: a 1-D signal takes windows of one number (-k 4), not pairs"),
]


@pytest.mark.parametrize("args, code, message", REFUSALS, ids=[m[:40] for _, _, m in REFUSALS])
def test_refusals(here, args, code, message):
    vol = np.arange(64, dtype=np.uint8).reshape(4, 4, 4)
    np.save("vol.npy", vol)
    np.save("m.npy", vol[0])
    np.save("sig.npy", vol[0, 0])
    Image.fromarray(vol[0]).save("m.png")
    pages = [Image.fromarray(p) for p in vol]
    pages[0].save("vol.tif", save_all=True, append_images=pages[1:])
    (here / "m.csv").write_text("1,2\n3,4\n")
    _bad_tiff(here)
    _bad_folder(here)
    before = sorted(p.name for p in here.rglob("*"))
    refused(run(["pool", *args]), code, message, here, before)


# ---------------------------------------------------------------- show and explain


def test_show_a_volume_slice_by_slice_with_a_cap(here):
    np.save("deep.npy", np.arange(10 * 2 * 2).reshape(10, 2, 2))
    text = ok(run(["show", "deep.npy", "--volume", "--no-color", "--max-slices", "4"])).stdout
    lines = text.splitlines()
    assert lines[0] == "deep.npy  volume 10x2x2 int64"
    titles = [line.split("  ")[0] for line in lines if line.startswith("deep.npy slice")]
    assert titles == ["deep.npy slice d=0 of 10", "deep.npy slice d=1 of 10", "deep.npy slice d=8 of 10", "deep.npy slice d=9 of 10"]
    assert "... 6 slices skipped (d=2..7)" in lines
    assert "1 38 39" in lines  # slice 9, row 1


def test_pool_show_on_a_volume(here):
    np.save("vol.npy", np.arange(8, dtype=np.uint8).reshape(2, 2, 2))
    result = ok(run(["pool", "vol.npy", "--volume", "-k", "2", "--show", "--no-color", "-o", "out.npy"]))
    assert "input slice d=1 of 2  2x2 uint8" in result.stderr
    assert "output slice d=0 of 1  1x1 uint8  min 7  max 7" in result.stderr


def test_explain_a_volume(here):
    np.save("vol.npy", np.arange(16, dtype=np.int64).reshape(2, 2, 4))
    text = ok(run(["explain", "vol.npy", "--volume", "-k", "2", "-m", "avg", "--no-color"])).stdout
    assert "window 2 of 2: slices d=0..1, rows 0..1, columns 2..3 -> output [0, 0, 1]" in text
    assert "input slice d=0 of 2" in text and "input slice d=1 of 2" in text and "output slice d=0 of 1" in text
    assert "avg(2, 3, 6, 7, 10, 11, 14, 15) = 68 / 8 = 8.5" in text
    text = ok(run(["explain", "vol.npy", "--volume", "-k", "1x2x2", "--slices", "1:2", "--no-color"])).stdout
    assert "window 1 of 2: slices d=1..1, rows 0..1, columns 0..1 -> output [0, 0, 0]" in text
    assert "max(8, 9, 12, 13) = 13" in text
    assert "every window's max, marked slice d=1 of 2" in text


def test_a_volume_from_stdin_and_gray_slice_by_slice(here):
    buf = io.BytesIO()
    np.save(buf, np.arange(8, dtype=np.int16).reshape(2, 2, 2))
    got = np.load(io.BytesIO(ok(run(["pool", "-", "--volume", "-k", "2", "-t", "npy"], input=buf.getvalue())).stdout_bytes))
    np.testing.assert_array_equal(got, [[[7]]])
    pages = [Image.fromarray(np.full((2, 2, 3), [10 * d, 20, 30], np.uint8)) for d in range(2)]
    pages[0].save("rgb.tif", save_all=True, append_images=pages[1:])
    ok(run(["pool", "rgb.tif", "--volume", "--gray", "-k", "1", "-o", "gray.npy"]))
    # Pillow's L of (0, 20, 30) and (10, 20, 30): 0.299 R + 0.587 G + 0.114 B, rounded
    np.testing.assert_array_equal(np.load("gray.npy")[:, 0, 0], [15, 18])
    ok(run(["pool", "rgb.tif", "--volume", "-k", "2", "-o", "rgb2.tif"]))
    with Image.open("rgb2.tif") as im:
        assert im.mode == "RGB" and im.getpixel((0, 0)) == (10, 20, 30)


@settings(max_examples=150, deadline=None)
@given(
    x=st.lists(st.integers(-50, 50), min_size=1, max_size=12),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    d=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same", 0, 1, 2]),
    ceil_mode=st.booleans(),
    mode=st.sampled_from(["max", "min", "avg", "sum"]),
    row=st.booleans(),
)
def test_a_row_or_column_pools_as_the_reference_signal(x, k, s, d, padding, ceil_mode, mode, row):
    """The pipeline's signal path (a row or a column of a matrix) against the slow 1-D reference, orientation kept."""
    from poolcli.pipeline import WindowSpec, apply_pool

    if padding == "same":
        assume(d == 1 and not ceil_mode)
    assume(row or len(x) > 1)  # a single cell is a row and a column at once: it is pooled, and written, as a row
    window = WindowSpec(size=k, stride=s, padding=padding, dilation=d, ceil_mode=ceil_mode, mode=mode)
    picks = mode in ("max", "min")
    try:
        got_ref = ref_pool(np.array(x), k, s, padding, mode, ndim=1, dilation=d, ceil_mode=ceil_mode, return_indices=picks)
    except ValueError:
        assume(False)  # a window that does not fit, or an empty one: the engine refuses it too
    expected, where = got_ref if picks else (got_ref, None)
    arr = np.array([x]) if row else np.array(x)[:, np.newaxis]
    got = apply_pool(arr, window, ndim=1)
    assert got.shape == ((1, expected.size) if row else (expected.size, 1))
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-15)
    if picks:
        _, idx = apply_pool(arr, window, indices=True, ndim=1)
        np.testing.assert_array_equal(idx.ravel(), where)


def test_adaptive_output_size_counts_a_signal_once(here):
    """--output-size 20 on a 40-cell signal is 20 cells, within --max-pixels 300; on a 40x40 matrix it is 20x20."""
    (here / "row.csv").write_text(",".join(str(v) for v in range(40)) + "\n")
    got = csv_values(ok(run(["pool", "row.csv", "--output-size", "20", "--max-pixels", "300"])).stdout)
    np.testing.assert_array_equal(got, [np.arange(1, 40, 2)])
    np.save("m.npy", np.zeros((40, 40)))
    before = sorted(p.name for p in here.rglob("*"))
    message = "m.npy: the result would be 20x20 = 400 pixels, more than --max-pixels 300"
    refused(run(["pool", "m.npy", "--output-size", "20", "--max-pixels", "300"]), 1, message, here, before)
