"""Cases an independent review found: each pinned to its value, against the reference or by hand."""

import os
import sys
import warnings

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

import poolcli
from poolcli.cli import main
from poolcli.formats.imagewrite import round_half_up, to_image_array

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_pool  # noqa: E402


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_signal_with_channels_is_not_taken_for_an_image_by_the_uint8_kernel():
    x = np.zeros((40000, 2), np.uint8)
    x[:, 1] = 200
    x[::3, 0] = 7
    got = poolcli.pool1d(x, 2, mode="avg", dtype="uint8")
    want = ref_pool(x, ndim=1, size=2, mode="avg")
    np.testing.assert_array_equal(got, np.floor(want + 0.5).astype(np.uint8))  # halves of integers: exact
    assert got.shape == (20000, 2)
    assert poolcli.pool1d(np.ones((4, 2), bool), 2, mode="avg", dtype="uint8").tolist() == [[1, 1], [1, 1]]


def test_bool_max_into_an_integer_type():
    got = poolcli.pool2d(np.array([[True, False], [False, False]]), 1, mode="max", dtype="uint8")
    assert got.dtype == np.uint8 and got.tolist() == [[1, 0], [0, 0]]


def test_infinities_saturate_without_a_warning():
    x = np.array([[np.inf, 1.0], [-np.inf, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = poolcli.pool2d(x, 1, dtype="uint8")
    assert got.tolist() == [[255, 1], [0, 2]]


def test_round_half_up_is_exact_where_floor_of_x_plus_half_is_not():
    x = np.array([0.49999999999999994, 0.5, 1.5, 2.5, -0.5, -2.5, 2.0**52 + 1, -(2.0**52) - 1])
    assert round_half_up(x).tolist() == [0, 1, 2, 3, 0, -2, 2.0**52 + 1, -(2.0**52) - 1]
    pixels, _ = to_image_array(np.array([[0.49999999999999994, 254.5]]), bits=8, source_dtype=np.uint8)
    assert pixels.tolist() == [[0, 255]]


def test_dtype_float32_to_tiff_writes_float32(tmp_path):
    x = np.array([[1, 2, 3, 4], [5, 6, 7, 9]], np.uint8)
    np.save(tmp_path / "x.npy", x)
    result = run(["pool", tmp_path / "x.npy", "-m", "avg", "--dtype", "float32", "-o", tmp_path / "o.tif"])
    assert result.exit_code == 0, result.output
    out = tifffile.imread(tmp_path / "o.tif")
    assert out.dtype == np.float32 and out.tolist() == [[3.5, 5.75]]


@pytest.mark.parametrize(("dtype", "said"), [("uint8", False), ("int16", False), ("int32", True)])
def test_dtype_float32_note_only_when_a_value_can_change(tmp_path, dtype, said):
    np.save(tmp_path / "x.npy", np.array([[1, 2], [3, 4]], dtype))
    result = run(["pool", tmp_path / "x.npy", "-k", 1, "--dtype", "float32", "-o", tmp_path / "o.npy"])
    assert result.exit_code == 0, result.output
    assert ("rounded to the nearest float32" in result.stderr) == said


def test_an_engine_refusal_names_the_file(tmp_path):
    np.save(tmp_path / "h.npy", np.array([[np.nan, 1.0]], np.float16))
    result = run(["pool", tmp_path / "h.npy", "-m", "avg", "-k", 1, "--dtype", "int16", "-o", tmp_path / "o.npy"])
    assert result.exit_code == 1
    assert result.stderr == f"poolcli: error: {tmp_path / 'h.npy'}: the result holds NaN, which dtype int16 cannot hold\n"
    assert not (tmp_path / "o.npy").exists()


def test_float64_beyond_float32_to_tiff_says_so(tmp_path):
    np.save(tmp_path / "x.npy", np.array([[1e40, 0.1]]))
    result = run(["pool", tmp_path / "x.npy", "-k", 1, "-o", tmp_path / "o.tif"])
    assert result.exit_code == 0, result.output
    assert "1 of 2 values beyond float32's range became infinite" in result.stderr
    assert "1 of 2 values rounded to the nearest float32" in result.stderr
    assert "Warning" not in result.stderr
    assert np.isinf(tifffile.imread(tmp_path / "o.tif")[0, 0])


def test_a_half_float_tiff_is_read_as_float16(tmp_path):
    x = np.array([[0.1, 2.5], [65504, -3.3]], np.float16)
    tifffile.imwrite(tmp_path / "h.tif", x)
    tifffile.imwrite(tmp_path / "hv.tif", np.stack([x, x]), photometric="minisblack")
    assert run(["pool", tmp_path / "h.tif", "-k", 1, "-o", tmp_path / "h.npy"]).exit_code == 0
    assert run(["pool", tmp_path / "hv.tif", "--volume", "-k", 1, "-o", tmp_path / "hv.npy"]).exit_code == 0
    got, vol = np.load(tmp_path / "h.npy"), np.load(tmp_path / "hv.npy")
    assert got.dtype == vol.dtype == np.float16
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(vol, np.stack([x, x]))
    avg = run(["pool", tmp_path / "h.tif", "-m", "avg", "-o", tmp_path / "a.npy"])
    assert avg.exit_code == 0
    assert np.load(tmp_path / "a.npy").dtype == poolcli.pool2d(x, 2, mode="avg").dtype


@pytest.mark.parametrize("streamed", [True, False])
def test_text_integers_past_2_53_are_said_to_be_rounded(tmp_path, streamed):
    (tmp_path / "b.csv").write_text("1,2\n3,99999999999999999\n")
    args = ["pool", tmp_path / "b.csv", "-k", 1] + (["-o", tmp_path / "o.csv"] if streamed else [])
    result = run(args)
    assert result.exit_code == 0, result.output
    assert "integers written with more digits are rounded to the nearest float64" in result.stderr
    out = (tmp_path / "o.csv").read_text() if streamed else result.stdout
    assert out == "1,2\n3,1e+17\n"  # 99999999999999999 is not a float64; 1e17 is the nearest
    (tmp_path / "s.csv").write_text("1,2\n3,9007199254740991\n")  # 2**53 - 1: every integer below is exact
    assert "rounded" not in run(["pool", tmp_path / "s.csv", "-k", 1]).stderr
