"""1-D and 3-D pooling, max unpooling and fractional max pooling: hand-worked cases, PyTorch and Keras golden values
(tests/make_nd_golden.py, tests/make_keras_golden.py) and properties against the loop reference (tests/reference.py).
"""
import json
import math
import os
import sys
from contextlib import nullcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from poolcli.engine import (
    fractional_max_pool2d,
    fractional_max_pool3d,
    output_shape,
    pool,
    pool1d,
    pool2d,
    pool3d,
    unpool,
    unpool1d,
    unpool2d,
    unpool3d,
    window_cells,
)

sys.path.insert(0, os.path.dirname(__file__))
from reference import (  # noqa: E402
    EmptyWindowError,
    ref_fractional_max_pool,
    ref_output_shape,
    ref_pool,
    ref_unpool,
)
from test_ops_properties import assert_close, tiny_bands_and_threads  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data")
with open(os.path.join(DATA, "torch_nd_golden.json")) as f:
    TORCH = json.load(f)["cases"]
with open(os.path.join(DATA, "keras_nd_golden.json")) as f:
    KERAS = json.load(f)["cases"]
POOL = {1: pool1d, 2: pool2d, 3: pool3d}
FRACTIONAL = {2: fractional_max_pool2d, 3: fractional_max_pool3d}
MODES = ["max", "avg", "min", "sum", "lp"]
DTYPES = ["uint8", "int16", "float32", "float64", "uint16", "int32", "float16", "bool"]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


def array(rows, dtype=np.float64):
    """JSON lists back to an array: None is NaN, "inf" and "-inf" are infinities."""
    def one(v):
        if isinstance(v, list):
            return [one(w) for w in v]
        return {None: math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v)
    return np.array(one(rows), dtype=dtype)


def torch_kwargs(kw):
    """PyTorch's keyword arguments as poolcli's."""
    names = dict(kernel_size="size", stride="stride", padding="padding", dilation="dilation", ceil_mode="ceil_mode")
    return {names[k]: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}


# --------------------------------------------------------------------------- hand-worked


def test_a_signal_pools_along_its_length():
    x = [1, 5, 2, 8, 3]
    assert pool1d(x, 2).tolist() == [5, 8]
    assert pool1d(x, 2, padding="same").tolist() == [5, 8, 3]        # Keras: ceil(5/2), the odd pad at the end
    assert pool1d(x, 2, ceil_mode=True).tolist() == [5, 8, 3]        # PyTorch: the last window pools the 3 alone
    assert pool1d(x, 3, 1, mode="avg").tolist() == [8 / 3, 5, 13 / 3]
    assert pool1d(x, 3, 2, 1, mode="avg").tolist() == [2, 5, 11 / 3]  # padding counted, as PyTorch's default
    assert pool1d(x, 3, 2, 1, mode="avg", count_pad=False).tolist() == [3, 5, 5.5]
    assert pool1d(x, 2, 1, dilation=2).tolist() == [2, 8, 3]
    assert pool1d(x, mode="sum", output_size=2).tolist() == [8, 13]  # adaptive: cells 0-2 and 2-4
    assert pool1d(x, output_size="global").tolist() == [8]
    values, indices = pool1d(x, 2, return_indices=True)
    assert values.tolist() == [5, 8] and indices.tolist() == [1, 3]


def test_a_signal_with_channels_pools_each():
    x = np.array([[1, 10], [5, 2], [2, 30], [8, 4]])                  # (N, C): Keras's (steps, features)
    assert pool1d(x, 2).tolist() == [[5, 10], [8, 30]]
    assert pool1d(x, 2, return_indices=True)[1].tolist() == [[1, 0], [3, 2]]
    assert pool1d(x, output_size="global", mode="avg").tolist() == [[4, 11.5]]


def test_lp_pool1d_is_pytorchs():
    assert pool1d([3, 4, 6, 8], 2, mode="lp", norm_type=2).tolist() == [5, 10]
    # ceil_mode: PyTorch scales the lone last cell's power by window / cells inside: sqrt(5**2 * 2)
    np.testing.assert_allclose(pool1d([3, 4, 5], 2, mode="lp", norm_type=2, ceil_mode=True), [5, math.sqrt(50)])


def test_a_volume_pools_in_three_dimensions():
    v = np.arange(64).reshape(4, 4, 4)
    assert pool3d(v, 2).tolist() == [[[21, 23], [29, 31]], [[53, 55], [61, 63]]]
    values, indices = pool3d(v, 2, return_indices=True)
    assert np.array_equal(values, indices)                           # arange: each value is its index d*16 + h*4 + w
    assert pool3d(v, 2, mode="avg")[0, 0, 0] == np.mean([0, 1, 4, 5, 16, 17, 20, 21])
    assert pool3d(v, (4, 1, 1), mode="sum")[0].tolist() == (v.sum(axis=0)).tolist()
    assert pool3d(v, output_size="global", mode="avg").tolist() == [[[31.5]]]
    assert output_shape(v.shape, 3, 2, "same", ndim=3) == (2, 2, 2)
    assert output_shape(v.shape + (5,), (2, 1, 3), ndim=3) == (2, 4, 1, 5)


def test_a_volume_with_channels_pools_each():
    v = np.stack([np.arange(8).reshape(2, 2, 2), -np.arange(8).reshape(2, 2, 2)], axis=-1)  # (D, H, W, C)
    values, indices = pool3d(v, 2, return_indices=True)
    assert values.tolist() == [[[[7, 0]]]] and indices.tolist() == [[[[7, 0]]]]


def test_one_implementation_for_every_dimension():
    """A 2-D pool is a 3-D pool of a one-slice volume with windows of one along the depth, and a 1-D pool a 2-D
    pool of a one-row image with windows of one along the rows."""
    image = np.random.default_rng(0).integers(0, 9, (7, 9)).astype(np.float32)
    for kw2, kw3 in [
        (dict(size=3, stride=2, padding=1, mode="avg"), dict(size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))),
        (dict(size=2, padding="same"), dict(size=(1, 2, 2), padding="same")),
        (dict(size=2, mode="lp", norm_type=3, ceil_mode=True), dict(size=(1, 2, 2), ceil_mode=True)),
        (dict(output_size=(3, 4), mode="avg"), dict(output_size=(1, 3, 4))),
    ]:
        flat = pool2d(image, **kw2)
        np.testing.assert_array_equal(pool(image, ndim=2, **kw2), flat)
        np.testing.assert_array_equal(pool3d(image[None], **{**kw2, **kw3})[0], flat)
    row = image[0]
    for kw1, kw2 in [
        (dict(size=3, stride=2, padding=1, mode="avg"), dict(size=(1, 3), stride=(1, 2), padding=(0, 1))),
        (dict(size=4, padding="same", mode="min"), dict(size=(1, 4))),
        (dict(size=3, dilation=2, return_indices=True), dict(size=(1, 3), dilation=(1, 2))),
    ]:
        got, want = pool1d(row, **kw1), pool2d(row[None], **{**kw1, **kw2})
        if isinstance(got, tuple):  # the values, then the indices: a one-row image's are its columns'
            np.testing.assert_array_equal(got[1], want[1][0])
            got, want = got[0], want[0]
        np.testing.assert_array_equal(got, want[0])


@pytest.mark.parametrize("call, message", [
    (lambda: pool1d(np.ones((2, 2, 2))), r"input must be 1-D \(N,\) or 2-D \(N, C\), got 3-D"),
    (lambda: pool3d(np.ones((2, 2))), r"input must be 3-D \(D, H, W\) or 4-D \(D, H, W, C\), got 2-D"),
    (lambda: pool1d([1, 2, 3], 5), "pool size 5 does not fit the length-3 input with padding 'valid'"),
    (lambda: pool3d(np.ones((2, 3, 4)), (2, 2, 5)), "pool size 2x2x5 does not fit the 2x3x4 input"),
    (lambda: pool3d(np.ones((4, 4, 4)), 2, padding=(0, 2, 0)), "padding 0x2x0 is more than half the pool window 2x2x2"),
    (lambda: pool1d([1, 2], (2, 2)), r"pool size must be an int or a \(n,\) tuple of ints"),
    (lambda: pool3d(np.ones((4, 4, 4)), (2, 2)), r"pool size must be an int or a \(d, h, w\) triple of ints"),
    (lambda: pool(np.ones(4), ndim=4), "ndim must be 1, 2 or 3"),
    (lambda: pool1d([1.0, 2.0], 2, 1, 1, dilation=3), "window 0 along the signal holds only padding cells"),
    (lambda: pool3d(np.ones((2, 2, 2)), 2, mode="lp", norm_type=2, padding=1), "lp pooling takes only size, stride"),
    (lambda: pool3d(np.ones((2, 2, 2)), 2, output_size=1), "output_size sets the windows itself"),
    (lambda: output_shape((4, 4), 2, ndim=3), r"shape must be \(D, H, W\) or \(D, H, W, C\)"),
    (lambda: window_cells((3,), 2, 1, 1, dilation=4, ndim=1), "holds only padding"),
])
def test_refusals_name_the_dimension(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_window_cells_lists_every_axis():
    depth, rows, cols = window_cells((3, 4, 5), (3, 2, 1), (2, 2, 1), (1, 0, 0), ndim=3)
    assert depth == [[(-1, True), (0, True), (1, True)], [(1, True), (2, True), (3, True)]]
    assert rows == [[(0, True), (1, True)], [(2, True), (3, True)]]
    assert len(cols) == 5
    (signal,) = window_cells((5,), output_size=2, ndim=1)
    assert signal == [[(0, True), (1, True), (2, True)], [(2, True), (3, True), (4, True)]]


# --------------------------------------------------------------------------- PyTorch and Keras


def check_pytorch_pool(case, ndim):
    x = array(case["input"])
    kw = torch_kwargs(case["kwargs"])
    values, indices = pool(x, ndim=ndim, return_indices=True, **kw)
    np.testing.assert_array_equal(values, array(case["max"]))
    np.testing.assert_array_equal(indices, case["indices"])
    np.testing.assert_array_equal(pool(x, ndim=ndim, **kw), array(case["max"]))
    for key, count in (("avg_count_pad", True), ("avg_no_count_pad", False)):
        if key in case:
            got = pool(x, ndim=ndim, mode="avg", count_pad=count, **kw)
            np.testing.assert_allclose(got, array(case[key]), rtol=1e-15, equal_nan=True)
    if "avg_torch_error" in case:
        # AvgPool3d alone refuses a window longer than the input; poolcli pools it as MaxPool3d and 2-D do
        assert "smaller than kernel size" in case["avg_torch_error"]
        got = pool(x, ndim=ndim, mode="avg", **kw)
        np.testing.assert_allclose(got, ref_pool(x, ndim=ndim, mode="avg", **kw), rtol=1e-15, equal_nan=True)


@pytest.mark.parametrize("case", TORCH["pool1d"], ids=lambda c: str(c["kwargs"]))
def test_pool1d_matches_pytorch(case):
    check_pytorch_pool(case, 1)


@pytest.mark.parametrize("case", TORCH["pool3d"], ids=lambda c: str(c["kwargs"]))
def test_pool3d_matches_pytorch(case):
    check_pytorch_pool(case, 3)


@pytest.mark.parametrize("ndim", [1, 3])
def test_lp_matches_pytorch(ndim):
    for case in TORCH[f"lp{ndim}d"]:
        kw = torch_kwargs(case["kwargs"])
        p = array(case["norm_type"]).item()
        got = pool(array(case["input"]), ndim=ndim, mode="lp", norm_type=p, **kw)
        np.testing.assert_allclose(got, array(case["lp"]), rtol=1e-14, equal_nan=True, err_msg=str(case))


@pytest.mark.parametrize("ndim", [1, 3])
def test_adaptive_matches_pytorch(ndim):
    for case in TORCH[f"adaptive{ndim}d"]:
        x, size = array(case["input"]), tuple(case["output_size"])
        values, indices = pool(x, ndim=ndim, output_size=size, return_indices=True)
        np.testing.assert_array_equal(values, array(case["max"]))
        np.testing.assert_array_equal(indices, case["indices"])
        np.testing.assert_allclose(pool(x, ndim=ndim, output_size=size, mode="avg"), array(case["avg"]), rtol=1e-15)


@pytest.mark.parametrize("ndim", [1, 3])
def test_keras_pooling_matches(ndim):
    for case in KERAS[f"pool{ndim}d"]:
        x = np.array(case["input"], dtype=np.float32)
        kw = case["kwargs"]
        args = dict(size=tuple(kw["pool_size"]), stride=tuple(kw["strides"]), padding=kw["padding"])
        np.testing.assert_array_equal(pool(x, ndim=ndim, **args), case["max"], err_msg=str(kw))
        np.testing.assert_allclose(pool(x, ndim=ndim, mode="avg", **args), case["avg"], rtol=1e-7, err_msg=str(kw))
    for case in KERAS[f"global{ndim}d"]:
        x = np.array(case["input"], dtype=np.float32)
        np.testing.assert_array_equal(pool(x, ndim=ndim, output_size="global"), case["max"])
        np.testing.assert_allclose(pool(x, ndim=ndim, output_size="global", mode="avg"), case["avg"], rtol=1e-7)


@pytest.mark.parametrize("case", TORCH["unpool"], ids=lambda c: f"{c['ndim']}-D {c['output_shape']}")
def test_unpool_matches_pytorch(case):
    got = unpool(array(case["values"]), np.array(case["indices"]), tuple(case["output_shape"]), ndim=case["ndim"])
    np.testing.assert_array_equal(got, array(case["unpooled"]))


@pytest.mark.parametrize("case", TORCH["unpool_refused"], ids=lambda c: str(c["index"]))
def test_unpool_refuses_what_pytorch_refuses(case):
    ndim = case["ndim"]
    with pytest.raises(ValueError, match=f"index {case['index']} at .* is outside the .* output"):
        unpool(np.ones((1,) * ndim), np.full((1,) * ndim, case["index"]), tuple(case["output_shape"]), ndim=ndim)


@pytest.mark.parametrize("ndim", [2, 3])
def test_fractional_matches_pytorch_given_its_samples(ndim):
    for case in TORCH[f"fractional{ndim}d"]:
        dtype = np.dtype(case["dtype"])
        if "arange_shape" in case:
            shape = tuple(case["arange_shape"])
            x = (np.arange(math.prod(shape)) % 2000).reshape(shape).astype(dtype)
            expected_values = x.reshape(-1)[np.array(case["indices"])]
        else:
            x = array(case["input"], dtype)
            expected_values = array(case["max"], dtype)
        samples = array(case["samples"], dtype)
        args = (x, tuple(case["kernel_size"]), tuple(case["output_size"]))
        values, indices = FRACTIONAL[ndim](*args, samples=samples, return_indices=True)
        np.testing.assert_array_equal(indices, case["indices"], err_msg=str(case)[:200])
        np.testing.assert_array_equal(values, expected_values)
        np.testing.assert_array_equal(FRACTIONAL[ndim](*args, samples=samples), expected_values)


def test_fractional_output_ratio_matches_pytorchs_module():
    for case in TORCH["fractional_ratio"]:
        x = array(case["input"])
        ndim = x.ndim
        ratio = tuple(case["output_ratio"]) if isinstance(case["output_ratio"], list) else case["output_ratio"]
        values, indices = FRACTIONAL[ndim](x, case["kernel_size"], output_ratio=ratio, samples=array(case["samples"]),
                                           return_indices=True)
        np.testing.assert_array_equal(values, array(case["max"]))
        np.testing.assert_array_equal(indices, case["indices"])


def test_fractional_refuses_float16_windows_that_pytorch_cannot_place():
    # found by tests/make_nd_golden.py's search: PyTorch's assertion fails for these samples in float16
    x = np.zeros((1845, 3, 3), np.float16)
    samples = [[0.310546875, 0.50048828125], [0.394287109375, 0.301513671875], [0.154541015625, 0.0]]
    with pytest.raises(ValueError, match="reach past the input along rows .* convert the input to float32"):
        fractional_max_pool2d(x, 2, (1616, 2), samples=samples)
    assert fractional_max_pool2d(x.astype(np.float32), 2, (1616, 2), samples=samples).shape == (1616, 2, 3)


# --------------------------------------------------------------------------- properties


@st.composite
def signals_and_volumes(draw, ndim, dtype=None, max_side=None):
    max_side = max_side or {1: 24, 2: 10, 3: 6}[ndim]
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(ndim))
    if draw(st.booleans()):
        shape += (draw(st.integers(1, 3)),)
    dtype = dtype or draw(st.sampled_from(DTYPES))
    if dtype == "bool":
        return draw(arrays(np.bool_, shape))
    if draw(st.integers(0, 2)) == 0:                      # few distinct values: lots of ties
        elements = st.integers(0, 3)
    elif np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)                            # the whole range: sums near the limits must not wrap
        elements = st.integers(int(info.min), int(info.max))
    else:
        bound = {"float16": 6e4, "float32": 1e4}.get(dtype, 1e6)
        elements = st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8, allow_subnormal=False)
    x = draw(arrays(dtype, shape, elements=elements))
    if x.dtype.kind == "f" and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            x[tuple(draw(st.integers(0, n - 1)) for n in shape)] = np.nan
    return x


@st.composite
def lp_inputs(draw, ndim, p):
    """As tests/test_engine_lp.py draws them: no power below the smallest normal (those are 0, as in PyTorch, and the
    reference keeps them), and no mixed signs for odd or fractional p (a NaN or the root of a cancelled sum)."""
    dtype = draw(st.sampled_from(["uint8", "int16", "int32", "float16", "float32", "float64"]))
    shape = tuple(draw(st.integers(1, {1: 12, 2: 7, 3: 4}[ndim])) for _ in range(ndim))
    if draw(st.booleans()):
        shape += (draw(st.integers(1, 3)),)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        elements = st.integers(max(int(info.min), -1000), min(int(info.max), 1000))
    else:
        elements = st.one_of(st.just(0.0), st.floats(0.125, 64, width=np.dtype(dtype).itemsize * 8))
        elements = elements.flatmap(lambda v: st.sampled_from([v, -v]))
    x = draw(arrays(dtype, shape, elements=elements))
    return x if p in (1, 2, 4, math.inf) else np.abs(x)


@st.composite
def per_axis(draw, ndim, lo, hi):
    values = tuple(draw(st.integers(lo, hi)) for _ in range(ndim))
    return values[0] if draw(st.booleans()) else values


@st.composite
def window_kwargs(draw, ndim):
    size = draw(per_axis(ndim, 1, 4))
    sizes = (size,) * ndim if isinstance(size, int) else size
    kind = draw(st.sampled_from(["valid", "same", "explicit"]))
    count_pad = draw(st.sampled_from([None, False] if kind == "same" else [None, True, False]))
    if kind == "explicit":
        padding = tuple(draw(st.integers(0, k // 2)) for k in sizes)  # PyTorch: at most half the size
        padding = padding[0] if len(set(padding)) == 1 and draw(st.booleans()) else padding
    else:
        padding = kind
    return dict(size=size, stride=draw(st.one_of(st.none(), per_axis(ndim, 1, 3))), padding=padding,
                dilation=draw(st.one_of(st.just(1), per_axis(ndim, 1, 3))), ceil_mode=draw(st.booleans()),
                count_pad=count_pad)


def check_against_reference(x, kw, ndim):
    want = ref_pool(x, ndim=ndim, **kw)
    got = pool(x, ndim=ndim, **kw)
    if kw.get("return_indices"):
        (got, got_idx), (want, want_idx) = got, want
        assert got_idx.dtype == np.int64
        np.testing.assert_array_equal(got_idx, want_idx)
    assert got.shape == want.shape and got.dtype == want.dtype
    if kw.get("mode") == "lp":
        rtol = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 2e-5}.get(x.dtype, 1e-12)
        # p = 1 may cancel: its error is bounded by the same pool of |x|
        scale = ref_pool(np.abs(x).astype(np.float64), ndim=ndim, **kw) if kw["norm_type"] == 1 else np.abs(want)
        assert_close(got, want, rtol, scale)
    elif kw.get("mode", "max") in ("avg", "sum") and x.dtype.kind == "f":
        rtol = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-5}.get(x.dtype, 1e-12)
        # each cell's rounding error is bounded by the same pool of |x|, whatever the order of summing
        scale = ref_pool(np.abs(np.nan_to_num(x).astype(np.float64)), ndim=ndim, **kw)
        assert_close(got, want, rtol, scale)
    else:
        np.testing.assert_array_equal(got, want)


def _fits(x, kw, ndim):
    try:
        ref_pool(np.zeros(x.shape[:ndim]), ndim=ndim, **{k: v for k, v in kw.items() if k not in ("mode", "norm_type",
                                                                                                 "return_indices")})
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=400, **SETTINGS)
@given(data=st.data())
def test_pool_matches_reference(ndim, data):
    """Every mode and window option, in bands of one row on two threads half the time (2-D too: the same code)."""
    mode = data.draw(st.sampled_from(MODES))
    if mode == "lp":
        p = data.draw(st.sampled_from([1, 2, 3, 4, 0.5, 1.5, math.inf]))
        x = data.draw(lp_inputs(ndim, p))
        kw = dict(size=data.draw(per_axis(ndim, 1, 4)), stride=data.draw(st.one_of(st.none(), per_axis(ndim, 1, 3))),
                  ceil_mode=data.draw(st.booleans()), norm_type=p)
    else:
        x = data.draw(signals_and_volumes(ndim))
        kw = data.draw(window_kwargs(ndim))
        if mode in ("max", "min") and data.draw(st.booleans()):
            kw["return_indices"] = True
    kw["mode"] = mode
    assume(_fits(x, kw, ndim))
    with tiny_bands_and_threads() if data.draw(st.booleans()) else nullcontext():
        check_against_reference(x, kw, ndim)


@pytest.mark.parametrize("ndim", [1, 3])
@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_adaptive_and_global_match_reference(ndim, data):
    x = data.draw(signals_and_volumes(ndim))
    out = data.draw(st.one_of(st.just("global"), per_axis(ndim, 1, 7)))
    kw = dict(output_size=out, mode=data.draw(st.sampled_from(["max", "avg", "min", "sum"])))
    if kw["mode"] in ("max", "min") and data.draw(st.booleans()):
        kw["return_indices"] = True
    check_against_reference(x, kw, ndim)


@pytest.mark.parametrize("ndim", [1, 3])
@settings(max_examples=300, **SETTINGS)
@given(data=st.data())
def test_output_shape_and_errors_match_reference(ndim, data):
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    if data.draw(st.booleans()):
        shape += (2,)
    kw = dict(size=data.draw(per_axis(ndim, 0, 6)), stride=data.draw(st.one_of(st.none(), per_axis(ndim, 0, 3))),
              padding=data.draw(st.one_of(st.sampled_from(["valid", "same"]), per_axis(ndim, 0, 3))),
              dilation=data.draw(per_axis(ndim, 0, 3)), ceil_mode=data.draw(st.booleans()))
    try:
        want = ref_output_shape(shape, ndim=ndim, **kw)
        ref_pool(np.zeros(shape), ndim=ndim, **kw)        # a window of padding only: refused as well
    except ValueError:
        with pytest.raises(ValueError):
            output_shape(shape, ndim=ndim, **kw)
        with pytest.raises(ValueError):
            pool(np.zeros(shape), ndim=ndim, **kw)
        return
    assert output_shape(shape, ndim=ndim, **kw) == want
    assert pool(np.zeros(shape), ndim=ndim, **kw).shape == want
    cells = window_cells(shape, ndim=ndim, **kw)
    assert tuple(len(windows) for windows in cells) == want[:ndim]


def test_the_reference_refuses_windows_of_padding_only():
    with pytest.raises(EmptyWindowError):
        ref_pool(np.ones(2), 2, 1, 1, dilation=3, ndim=1)
    with pytest.raises(ValueError, match="holds only padding"):
        pool1d(np.ones(2), 2, 1, 1, dilation=3)


# --------------------------------------------------------------------------- unpool


@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_unpool_undoes_max_pooling(ndim, data):
    x = data.draw(signals_and_volumes(ndim, max_side={1: 16, 2: 8, 3: 5}[ndim]))
    kw = data.draw(window_kwargs(ndim))
    kw.pop("count_pad")
    assume(_fits(x, kw, ndim))
    values, indices = pool(x, ndim=ndim, return_indices=True, **kw)
    back = unpool(values, indices, x.shape[:ndim], ndim=ndim)
    assert back.shape == x.shape and back.dtype == x.dtype
    np.testing.assert_array_equal(back, ref_unpool(values, indices, x.shape[:ndim], ndim))
    # every maximum back at its cell, zeros elsewhere
    chosen = np.zeros(x.shape, bool)
    flat = indices.reshape(-1, math.prod(x.shape[ndim:]))
    for c in range(flat.shape[1]):
        chosen.reshape(-1, flat.shape[1])[flat[:, c], c] = True
    np.testing.assert_array_equal(back[chosen], x[chosen])
    assert not back[~chosen].any()
    assert {1: unpool1d, 2: unpool2d, 3: unpool3d}[ndim](values, indices, x.shape[:ndim]).tobytes() == back.tobytes()


@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_unpool_of_any_indices_matches_reference(ndim, data):
    """Indices that name a cell several times, in any order: the last value in row-major order stays."""
    out = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
    vshape = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim)) + ((2,) if data.draw(st.booleans()) else ())
    values = data.draw(arrays(np.float32, vshape, elements=st.floats(-5, 5, width=32)))
    indices = data.draw(arrays(np.int64, vshape, elements=st.integers(0, math.prod(out) - 1)))
    np.testing.assert_array_equal(unpool(values, indices, out, ndim=ndim), ref_unpool(values, indices, out, ndim))


def test_unpool_keeps_the_last_value_for_a_cell():
    assert unpool([1.0, 2.0, 3.0], [0, 0, 4], 5, ndim=1).tolist() == [2, 0, 0, 0, 3]  # PyTorch gives the same
    assert unpool(np.array([[1, 9], [2, 8]]), np.array([[0, 1], [0, 1]]), 2, ndim=1).tolist() == [[2, 0], [0, 8]]


@pytest.mark.parametrize("args, message", [
    (([1, 2], [0, 2], 2), r"index 2 at \(1,\) is outside the length-2 output: indices run 0 \.\. 1"),
    (([1, 2], [0, -1], 2), r"index -1 at \(1,\) is outside"),
    (([1, 2], [0.0, 1.0], 2), "indices must be an integer array, got dtype float64"),
    (([1, 2], [0], 2), r"indices must have the shape of the values, \(2,\), got \(1,\)"),
    (([1, 2], [0, 1], 0), "output shape must be >= 1"),
    (([1, 2], [0, 1], (2, 2)), r"output shape must be an int or a \(n,\) tuple of ints"),
    ((["a"], [0], 2), "values must be a bool, integer or float array"),
])
def test_unpool_refusals(args, message):
    with pytest.raises(ValueError, match=message):
        unpool1d(*args)


def test_unpool_types():
    assert unpool2d(np.array([[True]]), [[3]], (2, 2)).tolist() == [[False, False], [False, True]]
    big = np.array([1], dtype=">i4")
    assert unpool1d(big, np.array([1], dtype=np.uint8), 2).dtype == np.dtype("int32")


# --------------------------------------------------------------------------- fractional


@st.composite
def fractional_case(draw, ndim):
    dtype = draw(st.sampled_from(["float64", "float32", "float16", "uint8", "int32", "bool"]))
    x = draw(signals_and_volumes(ndim, dtype, max_side={2: 12, 3: 6}[ndim]))
    spatial = x.shape[:ndim]
    k = tuple(draw(st.integers(1, n)) for n in spatial)
    out = tuple(draw(st.integers(1, n - kk + 1)) for n, kk in zip(spatial, k))
    channels = x.shape[ndim] if x.ndim > ndim else 1
    width = {"float16": 16, "float32": 32}.get(dtype, 64)
    samples = draw(arrays(np.float64, (channels, ndim), elements=st.floats(0, 1, exclude_max=True, width=width)))
    if x.ndim == ndim and draw(st.booleans()):
        samples = samples[0]
    return x, k, out, samples


@pytest.mark.parametrize("ndim", [2, 3])
@settings(max_examples=250, **SETTINGS)
@given(data=st.data())
def test_fractional_matches_reference(ndim, data):
    x, k, out, samples = data.draw(fractional_case(ndim))
    want_values, want_indices = ref_fractional_max_pool(x, k, out, samples, ndim)
    values, indices = FRACTIONAL[ndim](x, k, out, samples=samples, return_indices=True)
    assert values.dtype == x.dtype and indices.dtype == np.int64
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(indices, want_indices)
    np.testing.assert_array_equal(FRACTIONAL[ndim](x, k, out, samples=samples), want_values)
    back = unpool(values, indices, x.shape[:ndim], ndim=ndim)
    np.testing.assert_array_equal(back, ref_unpool(values, indices, x.shape[:ndim], ndim))


def test_fractional_windows_by_hand():
    # n = 5, k = 2, o = 3: alpha = 1.5; u = 0.5 places windows at 0, 2, 3 (int(0.75) - 0, int(2.25) - 0, n - k)
    x = np.arange(25).reshape(5, 5)
    assert fractional_max_pool2d(x, 2, 3, samples=[0.5, 0.5]).tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    # column 0 of the samples places the columns (PyTorch's order): u = 0 puts them at 0, 1, 3
    assert fractional_max_pool2d(x, 2, 3, samples=[0.0, 0.5])[0].tolist() == [6, 7, 9]
    assert fractional_max_pool2d(x, 2, 3, samples=[0.5, 0.0])[:, 0].tolist() == [6, 11, 21]
    v = np.arange(125).reshape(5, 5, 5)
    # 3-D keeps (D, H, W) order: column 0 the depth
    assert fractional_max_pool3d(v, 2, 3, samples=[0.0, 0.5, 0.5])[:, 0, 0].tolist() == [31, 56, 106]


def test_fractional_seed_and_output_ratio():
    x = np.random.default_rng(1).random((20, 20, 3))
    a = fractional_max_pool2d(x, 2, output_ratio=0.7071, seed=7)
    assert a.shape == (14, 14, 3)                                # int(20 * 0.7071)
    np.testing.assert_array_equal(a, fractional_max_pool2d(x, 2, output_ratio=0.7071, seed=7))
    drawn = np.random.default_rng(7).random((3, 2))
    np.testing.assert_array_equal(a, fractional_max_pool2d(x, 2, 14, samples=drawn))
    volume = np.zeros((10, 8, 6))
    assert fractional_max_pool3d(volume, (2, 2, 2), output_ratio=(0.5, 0.5, 0.5), seed=0).shape == (5, 4, 3)
    assert fractional_max_pool2d(np.zeros((4, 4)), 2, 3).shape == (3, 3)  # fresh samples, any of them fit


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=2), "takes either output_size or output_ratio"),
    (dict(size=2, output_size=3, output_ratio=0.5), "takes either output_size or output_ratio"),
    (dict(size=2, output_size=5), r"output size 5x5 with pool size 2x2 does not fit the 5x5 input: along rows, "
                                  r"output \+ size - 1 = 6 is more than 5"),
    (dict(size=6, output_size=1), "does not fit"),
    (dict(size=2, output_ratio=1.0), "output_ratio must be between 0 and 1"),
    (dict(size=2, output_ratio=(0.5,)), "output_ratio must be a number or 2 numbers"),
    (dict(size=2, output_ratio=0.1), "output_ratio 0.1 leaves no output cell along rows"),
    (dict(size=2, output_size=3, samples=[0.5, 1.0]), r"samples must lie in \[0, 1\)"),
    (dict(size=2, output_size=3, samples=[0.5, -0.1]), r"samples must lie in \[0, 1\)"),
    (dict(size=2, output_size=3, samples=[0.5]), r"samples must be numbers of shape \(2,\)"),
    (dict(size=2, output_size=3, samples=[0.5, 0.5], seed=1), "give samples or seed, not both"),
])
def test_fractional_refusals(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fractional_max_pool2d(np.zeros((5, 5)), **kwargs)


def test_fractional_samples_are_taken_in_the_inputs_type():
    # 0.99999999 is below 1 in float64 but rounds to 1 in float32: PyTorch would take it as 1
    with pytest.raises(ValueError, match=r"samples must lie in \[0, 1\) \(as float32, the input's float type\)"):
        fractional_max_pool2d(np.zeros((5, 5), np.float32), 2, 3, samples=[0.99999999, 0.5])
    assert fractional_max_pool2d(np.zeros((5, 5)), 2, 3, samples=[0.99999999, 0.5]).shape == (3, 3)


def test_fractional_3d_takes_what_pytorch_2d_takes():
    # PyTorch's FractionalMaxPool3d wants output + size - 1 < input, one stricter than its 2-D check; poolcli applies
    # the 2-D rule to both: the windows are then consecutive, the last at n - k
    x = np.arange(27).reshape(3, 3, 3)
    values, indices = fractional_max_pool3d(x, 2, 2, samples=[0.3, 0.6, 0.9], return_indices=True)
    assert values.tolist() == pool3d(x, 2, 1).tolist() and np.array_equal(values, indices)
