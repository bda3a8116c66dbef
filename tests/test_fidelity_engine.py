"""Issue 10, the engine's part: exact filters, PyTorch's edge rules, arguments of any size, no warnings, every dtype.

PyTorch's answers are in data/torch_golden.json, written by make_torch_golden.py (the only file that imports torch).
"""

import json
import os
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from poolcli import FILTERS, conv2d, output_shape, parse_filter, pool2d, window_cells

sys.path.insert(0, os.path.dirname(__file__))
from reference import EmptyWindowError, ref_pool2d  # noqa: E402
from test_ops_properties import SETTINGS, check_pool, images, tiny_bands_and_threads  # noqa: E402

with open(os.path.join(os.path.dirname(__file__), "data", "torch_golden.json")) as f:
    GOLDEN = json.load(f)["cases"]


def array(rows):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


def exact_conv(x, weights, divisor=1):
    """Valid cross-correlation in Python ints and Fractions: the exact value of every cell."""
    kh, kw = len(weights), len(weights[0])
    h, w = x.shape
    return [[Fraction(sum(weights[a][b] * int(x[i + a, j + b]) for a in range(kh) for b in range(kw)), divisor)
             for j in range(w - kw + 1)] for i in range(h - kh + 1)]


# --------------------------------------------------------------------------- exact filters


INTEGER_FILTERS = [name for name, k in FILTERS.items() if (k == np.round(k)).all()]


@pytest.mark.parametrize("name", INTEGER_FILTERS)
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "float64", "float32"])
def test_integer_filters_on_integers_are_exact(name, dtype):
    rng = np.random.default_rng(3)
    hi = 256 if dtype in ("uint8", "float32") else 60000 if dtype == "uint16" else 30000
    lo = 0 if dtype.startswith("u") or dtype == "float32" else -hi
    x = rng.integers(lo, hi, (9, 13)).astype(dtype)
    weights = FILTERS[name].astype(int).tolist()
    expected = np.array(exact_conv(x, weights), dtype=np.float64)
    got = conv2d(x, FILTERS[name])
    np.testing.assert_array_equal(got, expected)


def test_scharr_x_on_8_bit_is_minus_3_not_minus_2_9999():
    x = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=np.uint8)
    got = conv2d(x, parse_filter("scharr-x"))
    assert got.tolist() == [[-3.0]]


@pytest.mark.parametrize("kernel, weights, divisor", [
    (FILTERS["blur"], [[1] * 3] * 3, 9),
    (FILTERS["gaussian"], [[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
    (parse_filter("1/9,1/9,1/9;1/9,1/9,1/9;1/9,1/9,1/9"), [[1] * 3] * 3, 9),
    (parse_filter("1/3 0 -1/7; 2/21 1 0"), [[7, 0, -3], [2, 21, 0]], 21),
    (FILTERS["blur"].astype(np.float32), [[1] * 3] * 3, 9),
    (np.array([[0.1, 0.2], [0.3, 0.4]]), [[1, 2], [3, 4]], 10),
])
def test_fractional_filters_sum_exactly_and_divide_once(kernel, weights, divisor):
    x = np.random.default_rng(4).integers(0, 256, (12, 11)).astype(np.uint8)
    got = conv2d(x, kernel)
    expected = exact_conv(x, weights, divisor)
    assert got.tolist() == [[float(v) for v in row] for row in expected]  # float(Fraction) is correctly rounded
    # integer-valued float input (a CSV of whole numbers) is just as exact
    assert conv2d(x.astype(np.float64), kernel).tolist() == got.tolist()


@pytest.mark.parametrize("cells, total", [
    ([68, 32, 130, 60, 253, 230, 241, 194, 107], 1315),  # weight by weight, v * (1/9) summed, is one ulp off
    ([10, 19, 4, 205, 35, 236, 172, 148, 49], 878),      # rows summed, then * (1/9) (the old engine): one ulp off
])
def test_blur_is_the_sum_divided_by_9(cells, total):
    x = np.array(cells, dtype=np.uint8).reshape(3, 3)
    assert conv2d(x, FILTERS["blur"]).tolist() == [[total / 9]]
    assert conv2d(x, FILTERS["blur"].astype(np.float32)).tolist() == [[total / 9]]


def test_inline_weights_beyond_the_float_range_are_refused():
    with pytest.raises(ValueError, match=r"filter weight '1000\d*/3' \(row 1, column 2\) is beyond the float range"):
        parse_filter("1, " + "1" + "0" * 400 + "/3")
    with pytest.raises(ValueError, match="has a weight that is not finite"):
        parse_filter("1, 1e999")


def test_other_float_weights_work_as_floats():
    x = np.arange(12.0).reshape(3, 4)
    k = np.array([[0.1234567, -2.5e-3], [np.pi, 1.0]])
    expected = [[sum(float(k[a, b]) * x[i + a, j + b] for a in range(2) for b in range(2)) for j in range(3)] for i in range(2)]
    np.testing.assert_allclose(conv2d(x, k), expected, rtol=1e-15)


@pytest.mark.parametrize("x, kernel", [
    (np.zeros((4, 4)), FILTERS["bottom-edge"]),                       # the separable passes: 0 * -1 is -0
    (np.zeros((4, 4), np.uint8), FILTERS["bottom-edge"]),
    (np.zeros((3, 3), np.int16), [[-2]]),                             # a lone negative weight
    (np.full((3, 3), -5, np.int16), [[0, 0], [0, 0]]),                # -5 * 0 is -0
    (np.full((3, 3), -0.0), FILTERS["sharpen"]),                      # -0 in the input
    (np.full((3, 3), -0.0, np.float32), FILTERS["blur"]),
    (np.array([[0, 0, 0], [0, -5e-324, 0], [0, 0, 0]]), FILTERS["blur"]),  # a quotient that underflows
    (np.full((3, 3), -0.0), [[3, 0], [0, 2]]),
])
def test_conv_never_returns_negative_zero(x, kernel):
    for padding in ("valid", "same"):
        out = conv2d(x, kernel, padding)
        assert (out == 0).all()
        assert not np.signbit(out).any()


@pytest.mark.parametrize("case", GOLDEN["filter"], ids=lambda c: c["filter"])
def test_filter_then_max_pool_matches_pytorch_on_ties(case):
    x = np.array(case["input"], dtype=np.uint8)
    conv = conv2d(x, parse_filter(case["filter"]))
    np.testing.assert_array_equal(conv, array(case["conv"]))
    values, indices = pool2d(conv, 2, return_indices=True)
    np.testing.assert_array_equal(values, array(case["max"]))
    np.testing.assert_array_equal(indices, case["indices"])


# --------------------------------------------------------------------------- PyTorch's edge rules


def _kwargs(torch_kwargs):
    kw = dict(torch_kwargs)
    out = dict(size=kw.pop("kernel_size"), stride=kw.pop("stride", None), padding=kw.pop("padding", 0), **kw)
    out = {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}
    if out["stride"] is None:
        out["stride"] = out["size"]
    return out


@pytest.mark.parametrize("case", GOLDEN["pool"], ids=lambda c: c["name"])
def test_pool_edge_rules_match_pytorch(case):
    x = array(case["input"])
    kw = _kwargs(case["kwargs"])
    values, indices = pool2d(x, mode="max", return_indices=True, **kw)
    np.testing.assert_array_equal(values, array(case["max"]))
    np.testing.assert_array_equal(indices, case["indices"])
    for key, count in (("avg_count_pad", True), ("avg_no_count_pad", False)):
        if key in case:
            np.testing.assert_array_equal(pool2d(x, mode="avg", count_pad=count, **kw), array(case[key]))
    np.testing.assert_array_equal(ref_pool2d(x, mode="max", return_indices=True, **kw)[1], case["indices"])


@pytest.mark.parametrize("case", GOLDEN["adaptive"], ids=lambda c: c["name"])
def test_adaptive_matches_pytorch(case):
    x = array(case["input"])
    values, indices = pool2d(x, output_size=tuple(case["output_size"]), return_indices=True)
    np.testing.assert_array_equal(values, array(case["max"]))
    np.testing.assert_array_equal(indices, case["indices"])
    np.testing.assert_array_equal(pool2d(x, output_size=tuple(case["output_size"]), mode="avg"), array(case["avg"]))


@pytest.mark.parametrize("case", GOLDEN["refused"], ids=lambda c: c["name"])
def test_what_pytorch_refuses_is_refused(case):
    kw = _kwargs(case["kwargs"])
    with pytest.raises(ValueError):
        pool2d(np.zeros(case["shape"]), **kw)
    with pytest.raises(ValueError):
        output_shape(tuple(case["shape"]), **kw)


def test_issue_examples_of_the_edge_rules():
    row = np.array([[1, 2, 3, 4]], dtype=np.float64)
    assert pool2d(row, (1, 5), (1, 3), ceil_mode=True).tolist() == [[4]]
    assert pool2d(row, (1, 5), (1, 3), ceil_mode=True, mode="avg").tolist() == [[2.5]]
    with pytest.raises(ValueError, match=r"padding 2x3 is more than half the pool window 5x4; use padding <= 2"):
        pool2d(np.zeros((20, 20)), (5, 4), padding=(2, 3), dilation=3)
    assert pool2d(np.array([[np.nan, 1, np.nan, 2]]), (1, 4), return_indices=True)[1].tolist() == [[2]]
    assert pool2d(np.array([[np.nan, 1, np.nan, 2]]), output_size=1, return_indices=True)[1].tolist() == [[2]]


def test_nan_ties_for_min_too_and_in_every_channel():
    x = np.stack([np.array([[np.nan, 1], [np.nan, 2]]), np.array([[1, np.nan], [2, np.nan]])], axis=2)
    for mode in ("max", "min"):
        assert pool2d(x, 2, mode=mode, return_indices=True)[1].tolist() == [[[2, 3]]]
        assert pool2d(x, output_size="global", mode=mode, return_indices=True)[1].tolist() == [[[2, 3]]]


@settings(max_examples=300, **SETTINGS)
@given(data=st.data())
def test_large_windows_strides_and_padding_match_reference(data):
    """Sizes, strides and dilations well past the input: the windows the engine trims and splits."""
    x = data.draw(images(max_side=8))
    k = (data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40)))
    kind = data.draw(st.sampled_from(["valid", "same", "explicit"]))
    padding = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2))) if kind == "explicit" else kind
    kw = dict(size=k, stride=(data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40))), padding=padding,
              dilation=(data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))),
              ceil_mode=data.draw(st.booleans()), mode=data.draw(st.sampled_from(["max", "min", "avg", "sum"])))
    try:
        ref_pool2d(np.zeros(x.shape[:2]), **{key: v for key, v in kw.items() if key != "mode"})
    except ValueError:
        assume(False)
    if kw["mode"] in ("max", "min") and data.draw(st.booleans()):
        kw["return_indices"] = True
    check_pool(x, kw)


def test_windows_far_apart_are_pooled_one_by_one():
    # window 0 covers [-18, 18) and window 1 [7, 43) of an 8-cell axis: no single strided pass holds both cheaply
    x = np.arange(1.0, 9.0)[None, :]
    kw = dict(size=(1, 36), stride=(1, 25), padding=(0, 18), ceil_mode=True)
    assert output_shape(x.shape, **kw) == (1, 2)
    rgb = np.stack([x, -x, x[:, ::-1]], axis=2)
    for mode in ("max", "min", "avg", "sum"):
        np.testing.assert_array_equal(pool2d(x, mode=mode, **kw), ref_pool2d(x, mode=mode, **kw))
        np.testing.assert_array_equal(pool2d(rgb, mode=mode, **kw), ref_pool2d(rgb, mode=mode, **kw))
    np.testing.assert_array_equal(pool2d(x, return_indices=True, **kw)[1], [[7, 7]])
    np.testing.assert_array_equal(pool2d(rgb, return_indices=True, **kw)[1], [[[7, 0, 0], [7, 7, 7]]])


# --------------------------------------------------------------------------- arguments of any size


HUGE = 10**20


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=HUGE), f"pool size must be at most 2**63 - 1, got {HUGE}"),
    (dict(stride=HUGE), f"stride must be at most 2**63 - 1, got {HUGE}"),
    (dict(dilation=(1, HUGE)), f"dilation must be at most 2**63 - 1, got 1x{HUGE}"),
    (dict(output_size=HUGE), f"output size must be at most 2**63 - 1, got {HUGE}"),
    (dict(padding=HUGE), f"padding {HUGE}x{HUGE} is more than half the pool window 2x2"),
    (dict(size=2**63 - 1), "does not fit the 8x8 input"),
    (dict(dilation=2**63 - 1), "does not fit the 8x8 input"),
    (dict(size=0), "pool size must be >= 1, got 0"),
    (dict(stride=(1, 0)), "stride must be >= 1, got 1x0"),
    (dict(dilation=-1), "dilation must be >= 1, got -1"),
    (dict(padding=-2), "padding must be >= 0, got -2"),
    (dict(output_size=(0, 3)), "output size must be >= 1, got 0x3"),
    (dict(output_size=-(10**30)), "output size must be >= 1"),
])
def test_any_number_is_a_value_error_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError) as err:
        pool2d(np.zeros((8, 8)), **kwargs)
    assert message in str(err.value)
    with pytest.raises(ValueError) as err:
        output_shape((8, 8), **kwargs)
    assert message in str(err.value)


def test_huge_windows_that_fit_pool_the_overlap():
    x = np.arange(64.0).reshape(8, 8)
    big = 2**62
    for kw in (dict(size=big, ceil_mode=True), dict(size=big, padding="same"), dict(size=(big, 3), stride=(big, 1), padding="same")):
        want = ref_pool2d(x, **{**kw, "size": tuple(min(v, 40) for v in np.broadcast_to(kw["size"], 2))})
        assert pool2d(x, **kw).tolist() == want.tolist()
        assert pool2d(x, mode="avg", **kw).shape == want.shape
    assert pool2d(x, big, 1, "same", mode="avg").tolist() == np.full((8, 8), 31.5).tolist()
    # one window of 2**62 x 2**62 cells, all counted (half of them padding): the sum over 2**124
    assert pool2d(x, big, big - 1, big // 2, ceil_mode=True, mode="avg").tolist() == [[2016 / 2.0**124]]


def test_huge_avg_divisor_counts_every_counted_padding_cell():
    # one window [-p, p] over a 1x3 input, p = 2**40: count_pad divides by the 2p+1 cells inside [-p, n+p)
    p = 2**40
    x = np.array([[3.0, 6.0, 9.0]])
    got = pool2d(x, (1, 2 * p + 1), padding=(0, p), ceil_mode=True, mode="avg")
    assert got.tolist() == [[18 / (2 * p + 1)]]
    assert pool2d(x, (1, 2 * p + 1), padding=(0, p), ceil_mode=True, mode="avg", count_pad=False).tolist() == [[6.0]]


def test_shapes_are_cheap_for_absurd_sizes():
    assert output_shape((8, 8), output_size=100000) == (100000, 100000)
    assert output_shape((8, 8, 3), output_size=(2**63 - 1, 5)) == (2**63 - 1, 5, 3)
    n = 10**18
    assert output_shape((n, n), 3, 2, "same", dilation=10**9) == (n // 2, n // 2)
    assert output_shape((n, 5), (2, 2), (1, 1), (1, 1), dilation=(3, 1)) == (n - 1, 6)
    # a dilation past the input: some windows step over it, found by floor sums, not by listing 10**18 windows
    with pytest.raises(ValueError, match="along rows holds only padding cells"):
        output_shape((n, 1), (2, 1), 1, "same", dilation=(n + 7, 1))


@settings(max_examples=500, **SETTINGS)
@given(n=st.integers(1, 30), k=st.integers(1, 12), s=st.integers(1, 12), d=st.integers(1, 40),
       pad=st.one_of(st.just("same"), st.integers(0, 6)), ceil=st.booleans())
def test_empty_window_check_agrees_with_listing_every_window(n, k, s, d, pad, ceil):
    """The O(log) floor-sum check against the reference's window-by-window listing."""
    kw = dict(size=(1, k), stride=(1, s), padding=pad if pad == "same" else (0, pad), dilation=(1, d), ceil_mode=ceil)
    try:
        ref_pool2d(np.zeros((1, n)), **kw)
        refused = False
    except EmptyWindowError:
        refused = True
    except ValueError:
        assume(False)
    if refused:
        with pytest.raises(ValueError, match="holds only padding cells"):
            output_shape((1, n), **kw)
    else:
        output_shape((1, n), **kw)


def test_adaptive_output_too_large_for_an_array_is_a_value_error():
    with pytest.raises(ValueError, match="output size 4611686018427387904x4611686018427387904 has more cells than an array can hold"):
        pool2d(np.zeros((8, 8)), output_size=2**62)


def test_window_cells_refuses_to_list_absurd_windows():
    with pytest.raises(ValueError, match="the windows along rows hold 4611686018427387904 cells in all"):
        window_cells((4, 4), 2**62, ceil_mode=True)
    with pytest.raises(ValueError, match="the windows along rows hold"):
        window_cells((4, 4), output_size=(2**40, 2))
    rows, cols = window_cells((1, 4), (1, 5), (1, 3), ceil_mode=True)
    assert cols == [[(0, True), (1, True), (2, True), (3, True), (4, False)]]


# --------------------------------------------------------------------------- no warnings


EXTREMES = {
    "float64": [np.inf, -np.inf, np.nan, 1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, 0.0],
    "float32": [np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, 1e-45, -0.0],
    "float16": [np.inf, -np.inf, np.nan, 65504, -65504, 6e-8, -0.0],
    "int64": [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0],
    "uint64": [np.iinfo(np.uint64).max, 0],
    "int32": [np.iinfo(np.int32).min, np.iinfo(np.int32).max],
    "uint8": [0, 255],
    "bool": [True, False],
}
CALLS = [
    dict(size=2), dict(size=3, stride=1, padding="same"), dict(size=3, stride=2, padding=1, ceil_mode=True),
    dict(size=(2, 7), stride=1), dict(size=2, dilation=2, padding="same"), dict(output_size=3), dict(output_size="global"),
]


@pytest.mark.parametrize("dtype", list(EXTREMES))
def test_no_warning_for_extreme_values_in_any_mode(dtype):
    rng = np.random.default_rng(5)
    values = np.array(EXTREMES[dtype], dtype=dtype)
    for trial in range(6):
        x = rng.choice(values, size=(7, 9, 2) if trial % 2 else (9, 7))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for kw in CALLS:
                for mode in ("max", "min", "avg", "sum"):
                    pool2d(x, mode=mode, **kw)
                    if mode in ("max", "min"):
                        pool2d(x, mode=mode, return_indices=True, **kw)
            for name in ("sharpen", "blur", "gaussian", "scharr-x", "emboss"):
                conv2d(x, FILTERS[name])
                conv2d(x, FILTERS[name], "same")
            conv2d(x, np.array([[1e300, -1e300], [np.inf, 0.5]]))
            with tiny_bands_and_threads():  # worker threads get the same error handling
                pool2d(x, 3, 1, mode="avg")
                conv2d(x, FILTERS["blur"])


@settings(max_examples=300, **SETTINGS)
@given(data=st.data())
def test_extreme_floats_match_the_exact_reference(data):
    """avg/sum of values near the float range against the exact sum rounded once (the reference): inf exactly
    where the exact value is beyond the range, else within summation rounding. The values are multiples of a
    quarter of the largest float, so no exact result sits within rounding of the overflow threshold."""
    dtype = data.draw(st.sampled_from(["float64", "float32"]))
    big = float(np.finfo(dtype).max)
    elements = st.sampled_from([big, -big, big / 2, -big / 4, 1.0, 0.0, np.inf, -np.inf, np.nan])
    shape = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)))
    x = np.array(data.draw(st.lists(elements, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])),
                 dtype=dtype).reshape(shape)
    kw = dict(size=data.draw(st.integers(1, 3)), stride=data.draw(st.integers(1, 2)),
              padding=data.draw(st.sampled_from(["valid", "same"])), mode=data.draw(st.sampled_from(["avg", "sum"])))
    if shape[0] < kw["size"] or shape[1] < kw["size"]:
        kw["padding"] = "same"
    want = ref_pool2d(x, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = pool2d(x, **kw)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    finite = np.isfinite(want)
    assert np.isfinite(got[finite]).all()
    # compared a power of two down, where neither the difference nor the magnitude overflows
    down = 2.0**-20
    magnitude = ref_pool2d(np.abs(np.nan_to_num(x, posinf=0, neginf=0)).astype(np.float64) * down, **kw)[finite]
    error = np.abs(got[finite].astype(np.float64) * down - want[finite].astype(np.float64) * down)
    assert (error <= 16 * np.finfo(dtype).eps * magnitude).all()


def test_avg_of_huge_values_is_their_mean_and_sum_past_the_range_is_inf():
    x = np.full((2, 2), 1e308)
    assert pool2d(x, 2, mode="avg").tolist() == [[1e308]]  # PyTorch: inf
    assert pool2d(x, output_size=1, mode="avg").tolist() == [[1e308]]
    assert pool2d(x, 2, mode="sum").tolist() == [[np.inf]]
    assert pool2d(np.array([[1e308, -1e308], [1e308, 5.0]]), 2, mode="sum").tolist() == [[1e308]]
    np.testing.assert_allclose(pool2d(np.full((3, 3), 3e38, np.float32), 3, mode="avg"), [[3e38]], rtol=4e-7)
    np.testing.assert_allclose(conv2d(np.full((3, 3), 1e308), FILTERS["blur"]), [[1e308]], rtol=1e-15)
    assert conv2d(np.full((3, 3), 1e308), FILTERS["outline"]).tolist() == [[0.0]]
    assert np.isnan(pool2d(np.array([[np.inf, -np.inf]]), (1, 2), mode="avg")).all()
    assert pool2d(np.array([[np.inf, 1e308, 1e308]]), (1, 3), mode="avg").tolist() == [[np.inf]]


# --------------------------------------------------------------------------- dtypes and byte orders


NUMERIC = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float32", "float64"]


def _sample(dtype, rng):
    if dtype == "bool":
        return rng.random((7, 6, 2)) < 0.5
    if dtype.startswith("float"):
        x = rng.normal(0, 100, (7, 6, 2)).astype(dtype)
        x[0, 0, 0] = np.nan
        return x
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (7, 6, 2), dtype=dtype, endpoint=True)


def _results(x):
    out = []
    for kw in (dict(size=2), dict(size=3, stride=1, padding="same"), dict(size=2, padding=1, ceil_mode=True), dict(output_size=(3, 4))):
        for mode in ("max", "min", "avg", "sum"):
            out.append(pool2d(x, mode=mode, **kw))
        out.extend(pool2d(x, mode="max", return_indices=True, **kw))
    out.append(conv2d(x, FILTERS["sharpen"]))
    out.append(conv2d(x, FILTERS["blur"], "same"))
    return out


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", NUMERIC + ["bool"])
def test_every_byte_order_gives_the_native_result(dtype, order):
    native = _sample(dtype, np.random.default_rng(6))
    other = native.astype(native.dtype.newbyteorder(order))
    assert np.array_equal(other, native, equal_nan=native.dtype.kind == "f")
    for got, want in zip(_results(other), _results(native)):
        assert got.dtype == want.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, want)


def test_bool_pools_as_0_and_1():
    x = np.array([[True, False, False, False], [False, False, False, False]])
    assert pool2d(x, 2).tolist() == [[True, False]] and pool2d(x, 2).dtype == bool
    assert pool2d(x, 2, mode="min").tolist() == [[False, False]] and pool2d(x, 2, mode="min").dtype == bool
    assert pool2d(x, 2, mode="avg").tolist() == [[0.25, 0.0]]
    assert pool2d(x, 2, mode="sum").tolist() == [[1.0, 0.0]]
    values, indices = pool2d(x, 2, return_indices=True)
    assert values.dtype == bool and indices.tolist() == [[0, 2]]
    assert pool2d(~x, 2, padding="same", mode="min").tolist() == [[False, True]]  # padding never wins min
    assert conv2d(x, [[1, 2], [3, 4]]).tolist() == [[1.0, 0.0, 0.0]]


@pytest.mark.parametrize("x", [
    np.ones((2, 2), np.complex64),
    np.ones((2, 2), np.complex128),
    np.ones((2, 2), object),
    np.zeros((2, 2), dtype=[("a", "<i4"), ("b", "<f8")]),
    np.zeros((2, 2), "datetime64[s]"),
    np.zeros((2, 2), "timedelta64[ms]"),
    np.array([["a", "b"], ["c", "d"]]),
    np.array([[b"a", b"b"], [b"c", b"d"]]),
    np.zeros((2, 2), "V4"),
], ids=lambda x: str(x.dtype))
def test_other_dtypes_are_refused_by_name(x):
    message = f"got dtype {x.dtype}"
    for call in (lambda: pool2d(x), lambda: pool2d(x, output_size=1), lambda: conv2d(x, [[1]])):
        with pytest.raises(ValueError) as err:
            call()
        assert message in str(err.value)
    with pytest.raises(ValueError, match="kernel must be numeric"):
        conv2d(np.ones((2, 2)), x)

