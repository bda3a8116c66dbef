"""LP pooling (PyTorch LPPool2d): hand-worked cases, PyTorch's own answers, the loop reference, and the CLI.

PyTorch's answers are the "lp" cases of data/torch_golden.json, written by make_torch_golden.py.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from poolcli import pool2d
from poolcli.cli import main

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_pool2d  # noqa: E402
from test_ops_properties import SETTINGS, assert_close, tiny_bands_and_threads  # noqa: E402

with open(os.path.join(os.path.dirname(__file__), "data", "torch_golden.json")) as f:
    GOLDEN = json.load(f)["cases"]["lp"]


def array(rows):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


def lp(x, size, stride=None, p=2, **kw):
    return pool2d(np.asarray(x), size, stride, mode="lp", norm_type=p, **kw)


# --------------------------------------------------------------------------- worked by hand


@pytest.mark.parametrize("x, size, stride, p, kw, expected", [
    ([[3, 4]], (1, 2), None, 2, {}, [[5.0]]),                                   # 3-4-5
    ([[1, 2], [2, 4]], 2, None, 2, {}, [[5.0]]),                                # sqrt(1 + 4 + 4 + 16)
    ([[1, -2, 3, 4]], (1, 2), None, 1, {}, [[-1.0, 7.0]]),                     # p = 1: the sum, signs kept
    ([[1, -9], [3, 4]], 2, None, math.inf, {}, [[9.0]]),                       # p = inf: the largest |x|
    ([[1, 4, 9, 16]], (1, 4), None, 0.5, {}, [[100.0]]),                       # (1 + 2 + 3 + 4) ** 2
    ([[2] * 16], (1, 16), None, 4, {}, [[4.0]]),                                # (16 * 16) ** (1/4)
    ([[-2, 1]], (1, 2), None, 3, {}, [[math.nan]]),                             # (-8 + 1) ** (1/3): no real root
    ([[-1, 4]], (1, 2), None, 1.5, {}, [[math.nan]]),                           # (-1) ** 1.5 is NaN, as in C
    ([[0, 0]], (1, 2), None, 2, {}, [[0.0]]),
    # ceil_mode: the window that reaches past the input has its sum scaled by (window cells / cells inside),
    # as PyTorch's avg_pool2d(x**p) * kh*kw gives it: window 2 holds 3 and 4 of 3 cells: (3 + 4) * 3/2
    ([[1, 2, 3, 4]], (1, 3), (1, 2), 1, dict(ceil_mode=True), [[6.0, 10.5]]),
    ([[1, 2, 3, 4]], (1, 5), (1, 3), 2, dict(ceil_mode=True), [[math.sqrt(75 / 2)]]),  # 30 * 5/4
    ([[1, -7, 3, 4]], (1, 3), (1, 2), math.inf, dict(ceil_mode=True), [[7.0, 4.0]]),  # inf is a max: no scaling
])
def test_hand_worked(x, size, stride, p, kw, expected):
    got = lp(x, size, stride, p, **kw)
    np.testing.assert_array_equal(got, np.array(expected))


def test_channels_are_pooled_apart():
    x = np.stack([np.array([[3, 4]]), np.array([[6, 8]])], axis=-1)
    assert lp(x, (1, 2)).tolist() == [[[5.0, 10.0]]]


@pytest.mark.parametrize("dtype, expected", [
    ("uint8", "float64"), ("int16", "float64"), ("bool", "float64"),
    ("float64", "float64"), ("float32", "float32"), ("float16", "float16"),
])
def test_result_type_is_the_sums(dtype, expected):
    x = np.array([[1, 0], [1, 1]]).astype(dtype)
    got = lp(x, 2, p=1)
    assert got.dtype == np.dtype(expected) and got.tolist() == [[3.0]]


def test_int8_minimum_is_not_its_own_absolute_value():
    # |-128| does not fit int8: the powers and p = inf's |x| are taken as floats
    x = np.array([[-128, 1]], dtype=np.int8)
    assert lp(x, (1, 2), p=math.inf).tolist() == [[128.0]]
    assert lp(x, (1, 2), p=2).tolist() == [[math.sqrt(16385)]]


def test_float16_powers_do_not_overflow_float16():
    # 300 ** 2 = 90000 is past float16's 65504; the powers are float32 sums, as avg's are
    x = np.full((2, 2), 300, dtype=np.float16)
    got = lp(x, 2)
    assert got.dtype == np.float16 and got.tolist() == [[600.0]]


def test_a_power_that_overflows_is_computed_again_scaled():
    # PyTorch gives inf for both; the true values are in range
    assert lp([[1e200, 1e200]], (1, 2)).tolist() == [[math.sqrt(2) * 1e200]]
    x = np.array([[2**62, 2**62, 1]], dtype=np.int64)
    assert lp(x, (1, 2), stride=1, p=40).tolist() == [[2.0**62 * 2 ** (1 / 40), 2.0**62]]
    # a cell whose true value is past the range stays inf; one whose window has inf stays inf
    assert lp([[1.5e308, 1.5e308, np.inf]], (1, 2), 1).tolist() == [[math.inf, math.inf]]


def test_a_power_that_underflows_is_zero_as_in_pytorch():
    # documented: (1e-200)**2 is below float64's smallest value, so the sum is 0 (PyTorch's answer too)
    assert lp([[1e-200, 1e-200]], (1, 2)).tolist() == [[0.0]]


def test_nothing_warns():
    x = np.array([[-1.0, np.nan, np.inf, -np.inf], [1e308, 1e308, 0, -5]])
    half = np.array([[-1.0, np.nan, np.inf, -np.inf], [6e4, 6e4, 0, -5]], dtype=np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in (1, 2, 3, 0.5, 40, math.inf):
            lp(x, (1, 2), 1, p)
            lp(half, (1, 2), 1, p)
            lp(half.astype(np.float32), (1, 2), 1, p)


def test_lp_1_is_sum_and_lp_inf_is_max_of_abs_without_overhang():
    x = np.random.default_rng(5).integers(-50, 50, (7, 9))
    np.testing.assert_array_equal(lp(x, 3, 2, p=1), pool2d(x, 3, 2, mode="sum"))
    np.testing.assert_array_equal(lp(x, 3, 2, p=math.inf), pool2d(np.abs(x), 3, 2).astype(float))


@pytest.mark.parametrize("kw, message", [
    (dict(mode="lp"), "lp pooling needs norm_type"),
    (dict(mode="max", norm_type=2), "norm_type applies to lp pooling, not max"),
    (dict(mode="avg", norm_type=2), "norm_type applies to lp pooling, not avg"),
    (dict(mode="lp", norm_type=0), "norm_type must be a number > 0"),
    (dict(mode="lp", norm_type=-2), "norm_type must be a number > 0"),
    (dict(mode="lp", norm_type=-math.inf), "norm_type must be a number > 0"),
    (dict(mode="lp", norm_type=math.nan), "norm_type must be a number > 0"),
    (dict(mode="lp", norm_type=True), "norm_type must be a number > 0"),
    (dict(mode="lp", norm_type="2"), "norm_type must be a number > 0"),
    (dict(mode="lp", norm_type=2, padding=1), "lp pooling takes only size, stride, ceil_mode; got padding=1"),
    (dict(mode="lp", norm_type=2, padding="same"), "lp pooling takes only size, stride, ceil_mode; got padding='same'"),
    (dict(mode="lp", norm_type=2, dilation=2), "got dilation=2"),
    (dict(mode="lp", norm_type=2, output_size="global"), "got output_size='global'"),
    (dict(mode="lp", norm_type=2, return_indices=True), "return_indices applies to max (and min) pooling, not lp"),
])
def test_refused(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pool2d(np.ones((4, 4)), 2, **kw)


def test_padding_0_and_dilation_1_change_nothing_and_are_taken():
    x = np.arange(16.0).reshape(4, 4)
    want = lp(x, 2)
    np.testing.assert_array_equal(lp(x, 2, padding=0, dilation=1), want)
    np.testing.assert_array_equal(lp(x, 2, padding="valid", dilation=(1, 1)), want)


# --------------------------------------------------------------------------- PyTorch


def _torch_args(case):
    kw = dict(case["kwargs"])
    p, k = kw.pop("norm_type"), kw.pop("kernel_size")
    stride = kw.pop("stride", None)
    pairs = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
    return pairs(k), pairs(stride), p, kw


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_matches_pytorch_lp_pool2d(case):
    k, stride, p, kw = _torch_args(case)
    x, want = array(case["input"]), array(case["lp"])
    got = lp(x, k, stride, p, **kw)
    # the same numbers up to rounding: PyTorch divides its sum of powers by the window and multiplies back
    np.testing.assert_allclose(got, want, rtol=4e-16, atol=0)
    assert np.array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_the_reference_matches_pytorch_too(case):
    k, stride, p, kw = _torch_args(case)
    want = array(case["lp"])
    got = ref_pool2d(array(case["input"]), k, stride, mode="lp", norm_type=p, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


# --------------------------------------------------------------------------- the reference

DTYPES = ["uint8", "int16", "int32", "float16", "float32", "float64"]
RTOL = {"float16": 2e-3, "float32": 2e-5}


@settings(max_examples=400, **SETTINGS)
@given(data=st.data())
def test_matches_reference(data):
    dtype = data.draw(st.sampled_from(DTYPES))
    p = data.draw(st.sampled_from([1, 2, 3, 4, 0.5, 1.5, 2.5, math.inf]))
    shape = (data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)))
    if data.draw(st.booleans()):
        shape += (data.draw(st.integers(1, 3)),)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        elements = st.integers(max(int(info.min), -1000), min(int(info.max), 1000))
    else:
        # no power below the smallest normal: those are 0, as in PyTorch, and the reference keeps them
        elements = st.one_of(st.just(0.0), st.floats(0.125, 64, width=np.dtype(dtype).itemsize * 8))
        elements = elements.flatmap(lambda v: st.sampled_from([v, -v]))
    x = data.draw(arrays(dtype, shape, elements=elements))
    if p not in (1, 2, 4, math.inf):
        x = np.abs(x)  # odd and fractional p on mixed signs: a NaN or a root of a cancelled sum, pinned above
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    stride = data.draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ceil_mode = data.draw(st.booleans())
    kw = dict(size=k, stride=stride, mode="lp", norm_type=p, ceil_mode=ceil_mode)
    try:
        want = ref_pool2d(x, **kw)
    except ValueError:
        assume(False)  # the window does not fit
    with tiny_bands_and_threads() if data.draw(st.booleans()) else _nothing():
        got = pool2d(x, **kw)
    assert got.shape == want.shape and got.dtype == want.dtype
    rtol = RTOL.get(dtype, 1e-12)
    # p = 1 may cancel: its error is bounded by the same pool of |x|
    scale = ref_pool2d(np.abs(x).astype(np.float64), **kw) if p == 1 else np.abs(want)
    assert_close(got, want, rtol, scale)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- the command line


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input, env={"COLUMNS": "100", "NO_COLOR": "1"})


def test_cli_pool_lp():
    result = run(["pool", "-", "-m", "lp", "--norm-type", "2"], input="3,4\n0,0\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "5\n"
    result = run(["pool", "-", "-m", "lp", "--norm-type", "inf", "-k", "1x2"], input="3,-4\n")
    assert result.stdout == "4\n"
    result = run(["pool", "-", "-m", "LP", "--norm-type", "1", "-k", "1x3", "-s", "1x2", "--ceil-mode"], input="1,2,3,4\n")
    assert result.stdout == "6,10.5\n"


@pytest.mark.parametrize("args, message", [
    (["-m", "lp"], "--mode lp needs --norm-type P"),
    (["--norm-type", "2"], "--norm-type applies to --mode lp only"),
    (["-m", "avg", "--norm-type", "2"], "--norm-type applies to --mode lp only"),
    (["-m", "lp", "--norm-type", "0"], "must be a number > 0"),
    (["-m", "lp", "--norm-type", "-1"], "must be a number > 0"),
    (["-m", "lp", "--norm-type", "nan"], "must be a number > 0"),
    (["-m", "lp", "--norm-type", "two"], "'two' is not a number"),
    (["-m", "lp", "--norm-type", "2", "-p", "1"], "-p does not apply to --mode lp, which takes -k, -s and --ceil-mode only"),
    (["-m", "lp", "--norm-type", "2", "-p", "valid"], "-p does not apply to --mode lp"),
    (["-m", "lp", "--norm-type", "2", "-d", "2"], "-d does not apply to --mode lp"),
    (["-m", "lp", "--norm-type", "2", "--output-size", "1"], "--output-size does not apply to --mode lp"),
    (["-m", "lp", "--norm-type", "2", "--count-pad"], "--count-pad/--no-count-pad applies to --mode avg only"),
    (["-m", "lp", "--norm-type", "2", "--indices", "i.csv"], "--indices applies to --mode max or min, not lp"),
])
def test_cli_refuses_as_bad_usage(args, message):
    result = run(["pool", "-", *args], input="1,2\n3,4\n")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""


def test_cli_batch_lp(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    np.save(src / "a.npy", np.array([[3.0, 4.0], [0.0, 0.0]]))
    result = run(["batch", str(src), str(out), "--glob", "*.npy", "-j", "1", "-m", "lp", "--norm-type", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert np.load(out / "a.npy").tolist() == [[5.0]]
    assert run(["batch", str(src), str(out), "-m", "lp"]).exit_code == 2


def _explained(args, input):
    result = run(["explain", "-", "--no-color", *args], input=input)
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line.startswith("lp")]


def test_explain_writes_the_powers_and_the_root():
    assert _explained(["-m", "lp", "--norm-type", "2"], "1,2\n3,4\n") == [
        "lp2(1, 2, 3, 4) = (1^2 + 2^2 + 3^2 + 4^2)^(1/2) = 30^(1/2) = 5.4772"
    ]
    assert _explained(["-m", "lp", "--norm-type", "1.5", "-k", "1x2"], "1,4\n") == [
        "lp1.5(1, 4) = (1^1.5 + 4^1.5)^(1/1.5) = 9^(1/1.5) = 4.3267"
    ]


def test_explain_lp_edges():
    # a negative cell is written in brackets, and a negative sum has no real root
    assert _explained(["-m", "lp", "--norm-type", "3", "-k", "1x2"], "-2,1\n") == [
        "lp3(-2, 1) = ((-2)^3 + 1^3)^(1/3) = -7^(1/3) = nan  (a negative sum has no real root)"
    ]
    # PyTorch scales the sum of a window that reaches past the input
    assert _explained(["-m", "lp", "--norm-type", "1", "-k", "1x3", "-s", "1x2", "--ceil-mode"], "1,2,3,4\n") == [
        "lp1(1, 2, 3) = (1^1 + 2^1 + 3^1)^(1/1) = 6^(1/1) = 6.0",
        "lp1(3, 4) = ((3^1 + 4^1) * 3/2)^(1/1) = 10.5^(1/1) = 10.5  (1 cell past the input)",
    ]
    assert _explained(["-m", "lp", "--norm-type", "inf", "-k", "1x3", "-s", "1x2", "--ceil-mode"], "1,-7,3,4\n") == [
        "lpinf(1, -7, 3) = max(|1|, |-7|, |3|) = 7",
        "lpinf(3, 4) = max(|3|, |4|) = 4  (1 cell past the input)",
    ]


def test_explain_marks_no_winners_for_lp():
    result = run(["explain", "-", "--no-color", "-m", "lp", "--norm-type", "2"], input="1,2\n3,4\n")
    assert "marked" not in result.stdout
