"""`poolcli unpool`, fractional max pooling in `poolcli pool`, and `explain --unpool`, through CliRunner.

Values are checked against hand-worked cases, tests/reference.py, PyTorch's golden values in
tests/data/torch_nd_golden.json, and the library called with the same samples.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from poolcli import fractional_max_pool2d, pool2d
from poolcli.cli import main
from reference import ref_fractional_max_pool, ref_unpool

DATA = Path(__file__).parent / "data"
with open(DATA / "torch_nd_golden.json") as f:
    TORCH = json.load(f)["cases"]

A = "1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n"


def run(args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def csv(text):
    return np.array([[float(v) for v in line.split(",")] for line in text.strip().splitlines()])


def error(result):
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --------------------------------------------------------------------------- unpool


def test_pool_then_unpool_puts_the_maxima_back(tmp_path):
    (tmp_path / "a.csv").write_text(A)
    v, idx = tmp_path / "v.csv", tmp_path / "idx.csv"
    assert run(["pool", tmp_path / "a.csv", "-k", 2, "--indices", idx, "-o", v]).exit_code == 0
    assert idx.read_text() == "5,7\n13,15\n"
    result = run(["unpool", v, "--indices", idx, "--shape", "4x4"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "0,0,0,0\n0,6,0,8\n0,0,0,0\n0,14,0,16\n"
    # -k works the shape out as PyTorch's MaxUnpool2d: (2 - 1) * 2 + 2 = 4
    assert run(["unpool", v, "--indices", idx, "-k", 2]).stdout == result.stdout


def test_unpool_of_overlapping_windows(tmp_path):
    # 3x3 windows, stride 1, over [[1..16]]: their maxima 11, 12, 15, 16 sit at cells 10, 11, 14, 15
    (tmp_path / "a.csv").write_text(A)
    v, idx = tmp_path / "v.npy", tmp_path / "idx.npy"
    assert run(["pool", tmp_path / "a.csv", "-k", 3, "-s", 1, "--indices", idx, "-o", v]).exit_code == 0
    np.testing.assert_array_equal(np.load(idx), [[10, 11], [14, 15]])
    out = tmp_path / "u.npy"
    assert run(["unpool", v, "--indices", idx, "--shape", "4x4", "-o", out]).exit_code == 0
    expected = np.zeros((4, 4))
    expected[2:, 2:] = [[11, 12], [15, 16]]
    np.testing.assert_array_equal(np.load(out), expected)
    # two values naming one cell: the last in row-major order stays, as in PyTorch
    (tmp_path / "v.csv").write_text("1,2,3\n")
    (tmp_path / "i.csv").write_text("3,3,0\n")
    assert run(["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", "--shape", 5]).stdout == "3,0,0,2,0\n"


def test_unpool_of_a_signal_keeps_its_orientation(tmp_path):
    (tmp_path / "v.csv").write_text("5,8\n")
    (tmp_path / "i.csv").write_text("1,3\n")
    assert run(["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", "--shape", 5]).stdout == "0,5,0,8,0\n"
    # -k 2 on 2 values: (2 - 1) * 2 + 2 = 4 cells
    assert run(["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", "-k", 2]).stdout == "0,5,0,8\n"
    (tmp_path / "vc.csv").write_text("5\n8\n")
    (tmp_path / "ic.csv").write_text("1\n3\n")
    result = run(["unpool", tmp_path / "vc.csv", "--indices", tmp_path / "ic.csv", "--shape", 5])
    assert result.stdout == "0\n5\n0\n8\n0\n"
    np.save(tmp_path / "v.npy", np.array([[5, 8]], np.int16))
    np.save(tmp_path / "i.npy", np.array([[1, 3]]))
    out = tmp_path / "u.npy"
    assert run(["unpool", tmp_path / "v.npy", "--indices", tmp_path / "i.npy", "--shape", 5, "-o", out]).exit_code == 0
    got = np.load(out)
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, [[0, 5, 0, 8, 0]])


def test_unpool_of_channels_uses_each_channels_indices(tmp_path):
    x = np.random.default_rng(3).integers(0, 100, (4, 6, 3)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    v, idx, out = tmp_path / "v.npy", tmp_path / "i.npy", tmp_path / "u.npy"
    assert run(["pool", tmp_path / "x.npy", "-k", 2, "-o", v, "--indices", idx]).exit_code == 0
    assert run(["unpool", v, "--indices", idx, "--shape", "4x6", "-o", out]).exit_code == 0
    values, indices = pool2d(x, 2, return_indices=True)
    got = np.load(out)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, ref_unpool(values, indices, (4, 6), 2))
    # channels first in and out: the same cells
    np.save(tmp_path / "v_chw.npy", np.moveaxis(values, -1, 0))
    np.save(tmp_path / "i_chw.npy", np.moveaxis(indices, -1, 0))
    args = ["--indices", tmp_path / "i_chw.npy", "--shape", "4x6", "--layout", "chw", "-o", out]
    assert run(["unpool", tmp_path / "v_chw.npy", *args]).exit_code == 0
    np.testing.assert_array_equal(np.moveaxis(np.load(out), 0, -1), got)


@pytest.mark.parametrize("case", TORCH["unpool"], ids=lambda c: f"{c['ndim']}-D {c['output_shape']}")
def test_unpool_matches_pytorch(tmp_path, case):
    values, indices, expected = (np.array(case[k]) for k in ("values", "indices", "unpooled"))
    if values.ndim == 1:  # a signal: a row of CSV
        values, indices, expected = values[None], indices[None], expected[None]
    np.save(tmp_path / "v.npy", values)
    np.save(tmp_path / "i.npy", indices)
    shape = "x".join(map(str, case["output_shape"]))
    out = tmp_path / "u.npy"
    result = run(["unpool", tmp_path / "v.npy", "--indices", tmp_path / "i.npy", "--shape", shape, "-o", out])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(out), expected)


@pytest.mark.parametrize(
    "values, indices, args, message",
    [
        (
            "6,8\n14,16\n",
            "5,7\n13,16\n",
            ["--shape", "4x4"],
            "i.csv: cell [1, 1] holds index 16, outside the 4x4 output (indices 0 .. 15)",
        ),
        ("6,8\n14,16\n", "5,7\n13,-1\n", ["--shape", "4x4"], "i.csv: cell [1, 1] holds index -1, outside"),
        (
            "6,8\n14,16\n",
            "5,7\n13,15\n",
            ["--shape", "3x3"],
            "i.csv: cell [1, 0] holds index 13, outside the 3x3 output",
        ),
        ("6,8\n14,16\n", "5,7.5\n13,15\n", ["--shape", "4x4"], "i.csv: cell [0, 1] holds 7.5, not a whole number"),
        ("6,8\n14,16\n", "5,7\n13,nan\n", ["--shape", "4x4"], "i.csv: cell [1, 1] holds nan, not a whole number"),
        ("6,8\n14,16\n", "5,7\n", ["--shape", "4x4"], "i.csv: holds 1x2 indices but "),
    ],
)
def test_unpool_says_which_file_and_cell_is_wrong(tmp_path, values, indices, args, message):
    (tmp_path / "v.csv").write_text(values)
    (tmp_path / "i.csv").write_text(indices)
    out = tmp_path / "u.csv"
    result = run(["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", *args, "-o", out])
    assert result.exit_code == 1
    assert message in error(result)
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give --shape (the shape of the input that was pooled), or -k K"),
        (["--shape", "4x4", "-k", 2], "--shape gives the output's shape; -k, -s and -p only work it out without it"),
        (["-s", 2], "-s and -p work out the output's shape with -k"),
        (["-k", "2x2x2", "--to", "npy"], "the values are 2x2; a 3-D output needs values of DxHxW or DxHxWxC"),
        (["--shape", "4x4x4", "--to", "npy"], "the values are 2x2; a 3-D output needs values of DxHxW"),
        (["--shape", "4x4x4"], "stdout: CSV holds no volume; a volume is written as .npy or .tif/.tiff"),
        (["--shape", "4x4x"], "is not N, HxW or DxHxW"),
        (["--shape", "0x4"], "each number must be 1"),
        (["-k", "2x2", "-s", "2x2x2"], "-s 2x2x2 has 3 numbers; the values have 2 spatial axes"),
        (["--shape", "4x4", "--color"], "--color/--no-color applies to the table shown on a terminal"),
        (["--shape", "2x4x4", "--volume", "--to", "npy"], "the values are 2x2; a 3-D output needs values of DxHxW"),
        (["--shape", "4x4", "--volume"], "--volume takes --shape DxHxW"),
    ],
)
def test_unpool_refuses_options_that_do_not_go_together(tmp_path, args, message):
    (tmp_path / "v.csv").write_text("6,8\n14,16\n")
    (tmp_path / "i.csv").write_text("5,7\n13,15\n")
    result = run(["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", *args])
    assert result.exit_code in (1, 2)
    assert message in error(result)


def test_unpool_refuses_an_output_that_is_an_input_and_a_result_past_max_pixels(tmp_path):
    (tmp_path / "v.csv").write_text("6,8\n14,16\n")
    (tmp_path / "i.csv").write_text("5,7\n13,15\n")
    result = run(
        ["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", "--shape", "4x4", "-o", tmp_path / "i.csv"]
    )
    assert result.exit_code == 2 and "is the --indices file" in error(result)
    assert (tmp_path / "i.csv").read_text() == "5,7\n13,15\n"
    result = run(
        ["unpool", tmp_path / "v.csv", "--indices", tmp_path / "i.csv", "--shape", "100x100", "--max-pixels", 9999]
    )
    assert (
        result.exit_code == 1
        and "the result would be 100x100 = 10,000 cells, more than --max-pixels 9,999" in error(result)
    )
    assert run(["unpool", "-", "--indices", "-", "--shape", 4], input="1\n").exit_code == 2


def test_unpool_of_a_volume(tmp_path):
    # DxHxW 2x3x4: cell [1, 2, 3] is 1 * 12 + 2 * 4 + 3 = 23, cell [0, 1, 0] is 4
    np.save(tmp_path / "v.npy", np.array([[[9.5, -2.0]]]))
    np.save(tmp_path / "i.npy", np.array([[[23, 4]]]))
    out = tmp_path / "u.npy"
    args = ["--indices", tmp_path / "i.npy", "--shape", "2x3x4", "-o", out]
    assert run(["unpool", tmp_path / "v.npy", *args]).exit_code == 0
    expected = np.zeros((2, 3, 4))
    expected[1, 2, 3], expected[0, 1, 0] = 9.5, -2.0
    np.testing.assert_array_equal(np.load(out), expected)


# --------------------------------------------------------------------------- fractional max pooling

F = "2,5,4,4,3,5,7\n2,3,4,6,1,1,4\n1,6,1,0,1,8,7\n0,4,7,4,4,7,5\n3,5,3,0,4,5,3\n"


def test_fractional_with_a_seed_is_the_library_given_that_seeds_samples(tmp_path):
    (tmp_path / "f.csv").write_text(F)
    x = csv(F)
    idx = tmp_path / "i.csv"
    result = run(["pool", tmp_path / "f.csv", "-k", 2, "--output-ratio", 0.7, "--seed", 1, "--indices", idx])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # a seed given is not said again
    # int(5 * 0.7) x int(7 * 0.7) = 3x4; the samples are numpy's default_rng(1), one (W, H) pair per channel
    samples = np.random.default_rng(1).random((1, 2))
    values, indices = fractional_max_pool2d(x, 2, (3, 4), samples=samples[0], return_indices=True)
    np.testing.assert_array_equal(csv(result.stdout), values)
    np.testing.assert_array_equal(csv(idx.read_text()), indices)
    ref_values, ref_indices = ref_fractional_max_pool(x, 2, (3, 4), samples, 2)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(indices, ref_indices)
    # --fractional-size 3x4 is the same output size, so the same windows
    again = run(["pool", tmp_path / "f.csv", "-k", 2, "--fractional-size", "3x4", "--seed", 1])
    assert again.stdout == result.stdout


def test_fractional_windows_of_colour_are_per_channel_and_unpool_undoes_them(tmp_path):
    x = np.random.default_rng(9).integers(0, 256, (9, 11, 3)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    v, idx, back = tmp_path / "v.npy", tmp_path / "i.npy", tmp_path / "u.npy"
    args = ["-k", "3x2", "--output-ratio", "0.5x0.75", "--seed", 42, "-o", v, "--indices", idx]
    assert run(["pool", tmp_path / "x.npy", *args]).exit_code == 0
    samples = np.random.default_rng(42).random((3, 2))
    values, indices = fractional_max_pool2d(x, (3, 2), (4, 8), samples=samples, return_indices=True)
    got = np.load(v)
    assert got.dtype == np.uint8 and got.shape == (4, 8, 3)
    np.testing.assert_array_equal(got, values)
    np.testing.assert_array_equal(np.load(idx), indices)
    np.testing.assert_array_equal(got, ref_fractional_max_pool(x, (3, 2), (4, 8), samples, 2)[0])
    assert run(["unpool", v, "--indices", idx, "--shape", "9x11", "-o", back]).exit_code == 0
    np.testing.assert_array_equal(np.load(back), ref_unpool(values, indices, (9, 11), 2))


def test_fractional_without_a_seed_says_the_one_it_drew(tmp_path):
    (tmp_path / "f.csv").write_text(F)
    first = run(["pool", tmp_path / "f.csv", "--fractional-size", "4x5"])
    assert first.exit_code == 0
    said = error(first)
    assert said.startswith("poolcli: fractional max pooling drew its windows with --seed ")
    seed = said.split("--seed ")[1].split(";")[0]
    again = run(["pool", tmp_path / "f.csv", "--fractional-size", "4x5", "--seed", seed])
    assert again.stdout == first.stdout
    assert run(["pool", tmp_path / "f.csv", "--fractional-size", "4x5", "-q"]).stderr == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", 3], "--seed draws the windows of fractional max pooling; add --output-ratio or --fractional-size"),
        (["--output-ratio", 0.5, "--fractional-size", 3], "--output-ratio and --fractional-size both set the output's size"),
        (["--output-ratio", 0.5, "-m", "avg"], "--output-ratio is fractional max pooling; drop -m avg"),
        (["--fractional-size", 3, "-s", 1, "-d", 2], "--fractional-size places its windows itself (of size -k); drop -s, -d"),
        (["--output-ratio", 0.5, "--output-size", 2], "drop --output-size"),
        (["--output-ratio", 1], "each ratio must lie between 0 and 1"),
        (["--output-ratio", "0.5x0.5x0.5"], "--output-ratio with three numbers is for a volume; add --volume"),
        (["--output-ratio", "0.5x0.5x0.5x0.5"], "is not R, RxR or RxRxR"),
        (["--seed", -1, "--output-ratio", 0.5], "--seed"),
    ],
)
def test_fractional_refuses_options_that_do_not_go_with_it(tmp_path, args, message):
    (tmp_path / "f.csv").write_text(F)
    result = run(["pool", tmp_path / "f.csv", *args])
    assert result.exit_code == 2
    assert message in error(result)


def test_fractional_that_does_not_fit_is_one_line(tmp_path):
    (tmp_path / "f.csv").write_text(F)
    result = run(["pool", tmp_path / "f.csv", "-k", 3, "--fractional-size", "4x4", "--seed", 0])
    assert result.exit_code == 1
    assert "output size 4x4 with pool size 3x3 does not fit" in error(result)


# --------------------------------------------------------------------------- explain --unpool


def test_explain_unpool_routes_each_maximum_to_its_winner(tmp_path):
    (tmp_path / "a.csv").write_text(A)
    result = run(["explain", tmp_path / "a.csv", "-k", 2, "--unpool", "--no-color"])
    assert result.exit_code == 0, result.output
    end = result.stdout.split("max(11, 12, 15, 16) = 16\n\n")[1]
    assert [line.rstrip() for line in end.splitlines()] == [
        "max unpooling: each max back at the cell that won its window",
        "output 2x2    unpooled 4x4",
        "    0   1         0   1   2   3",
        "0 [ 6][ 8]    0   0   0   0   0",
        "1 [14][16]    1   0 [ 6]  0 [ 8]",
        "              2   0   0   0   0",
        "              3   0 [14]  0 [16]",
        "(PyTorch MaxUnpool2d; the path max pooling's gradient takes, too)",
    ]
    assert "every window's max, marked" not in result.stdout


def test_explain_unpool_says_when_a_cell_won_several_windows(tmp_path):
    (tmp_path / "o.csv").write_text("1,1,1\n1,9,1\n1,1,1\n")
    result = run(["explain", tmp_path / "o.csv", "-k", 2, "-s", 1, "--unpool", "--no-color"])
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[-5:] == [
        "0 [9][9]      0  0  0  0",
        "1 [9][9]      1  0 [9] 0",
        "              2  0  0  0",
        "(PyTorch MaxUnpool2d; the path max pooling's gradient takes, too)",
        "cell [1, 1] won windows 1, 2, 3, 4: holds the last (a gradient sums them)",
    ]


def test_explain_unpool_of_a_region_keeps_its_numbers_and_min_works_too(tmp_path):
    (tmp_path / "b.csv").write_text("\n".join(",".join(str(5 * r + c + 1) for c in range(5)) for r in range(5)) + "\n")
    result = run(["explain", tmp_path / "b.csv", "-k", 2, "-m", "min", "--region", "1:5,1:5", "--unpool", "--no-color"])
    lines = [line.rstrip() for line in result.stdout.splitlines()][-7:]
    assert lines == [
        "output 2x2    unpooled 4x4",
        "    0   1         1   2   3   4",
        "0 [ 7][ 9]    1 [ 7]  0 [ 9]  0",
        "1 [17][19]    2   0   0   0   0",
        "              3 [17]  0 [19]  0",
        "              4   0   0   0   0",
        "(PyTorch MaxUnpool2d; the path min pooling's gradient takes, too)",
    ]


def test_explain_unpool_needs_a_mode_with_winners(tmp_path):
    (tmp_path / "a.csv").write_text(A)
    result = run(["explain", tmp_path / "a.csv", "-m", "avg", "--unpool"])
    assert result.exit_code == 2
    assert "--unpool applies to --mode max or min, whose windows have a winning cell; not avg" in error(result)


@pytest.mark.parametrize("flag", ["--shape", "-k", "-s", "-p"])
@pytest.mark.parametrize("value", [str(10**20), "-1", "2147483648", "2x", "1x2x3x4"])
def test_unpool_dimensions_are_checked_by_the_option(tmp_path, flag, value):
    (tmp_path / "v.csv").write_text("6,8\n14,16\n")
    result = run(["unpool", tmp_path / "v.csv", "--indices", tmp_path / "v.csv", flag, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{flag}'" in error(result) or f"/ '{flag}'" in error(result)
