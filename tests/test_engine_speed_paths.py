"""The engine's fast paths (issue 14) pinned against the slow reference: global and adaptive pooling, the cached
recipes for small inputs, integer results (dtype=), indices, and interleaved channels.

Every path is drawn over int16, uint8, float32 and float64, with NaN, non-contiguous views and HxWx3 inputs.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from helpers import no_small_recipes
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from reference import ref_pool, ref_pool2d

import poolcli
from poolcli.engine import small

DTYPES = [np.int16, np.uint8, np.float32, np.float64]


@st.composite
def arrays(draw, ndim=2, max_side=12, nan=True):
    """An input of ``ndim`` spatial axes, maybe with channels, maybe a non-contiguous view, maybe holding NaN."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    spatial = tuple(draw(st.integers(1, max_side)) for _ in range(ndim))
    channels = draw(st.sampled_from([(), (1,), (3,)]))
    view = draw(st.sampled_from(["plain", "reversed", "strided", "fortran"]))
    shape = spatial + channels
    big = tuple(2 * n if view == "strided" else n for n in shape)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":
        # few distinct values, so ties are common; now and then a NaN
        a = rng.integers(-4, 5, big).astype(dtype) * dtype.type(0.5)
        if nan and draw(st.booleans()):
            a[rng.random(big) < 0.15] = np.nan
    else:
        info = np.iinfo(dtype)
        extremes = np.array([info.min, info.max, 0, 1], dtype=np.int64)
        a = np.where(rng.random(big) < 0.2, rng.choice(extremes, big), rng.integers(info.min, info.max, big, endpoint=True))
        a = a.astype(dtype)
    if view == "reversed":
        a = a[::-1]
    elif view == "strided":
        a = a[tuple(slice(None, None, 2) for _ in big)]
    elif view == "fortran":
        a = np.asfortranarray(a)
    assert a.shape == shape
    return a


def assert_same(got, want):
    """Equal values, NaN where NaN, the same dtype; floats within a few ulps (the reference rounds exact sums once)."""
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=4 * np.finfo(got.dtype).eps, atol=0)
    else:
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- global and adaptive


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_global_and_adaptive_match_reference(data):
    ndim = data.draw(st.sampled_from([1, 2, 3]))
    x = data.draw(arrays(ndim, max_side=9 if ndim == 3 else 20))
    mode = data.draw(st.sampled_from(["max", "min", "sum", "avg"]))
    spatial = x.shape[:ndim]
    # every n/o from a global window (o = 1) through regular ones to one window per cell
    out = tuple(data.draw(st.integers(1, n)) for n in spatial)
    size = "global" if data.draw(st.booleans()) else out
    got = poolcli.pool(x, mode=mode, ndim=ndim, output_size=size)
    assert_same(got, ref_pool(x, mode=mode, ndim=ndim, output_size=size))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_global_and_adaptive_indices_match_reference(data):
    ndim = data.draw(st.sampled_from([1, 2, 3]))
    x = data.draw(arrays(ndim, max_side=9 if ndim == 3 else 20))
    mode = data.draw(st.sampled_from(["max", "min"]))
    out = "global" if data.draw(st.booleans()) else tuple(data.draw(st.integers(1, n)) for n in x.shape[:ndim])
    values, indices = poolcli.pool(x, mode=mode, ndim=ndim, output_size=out, return_indices=True)
    want_values, want_indices = ref_pool(x, mode=mode, ndim=ndim, output_size=out, return_indices=True)
    assert_same(values, want_values)
    np.testing.assert_array_equal(indices, want_indices)  # the first best in row-major order, the last NaN


def test_global_pooling_of_a_wide_input_is_one_reduction_with_the_rules_kept():
    x = np.zeros((3, 5000), np.float32)
    x[1, 4000] = 7
    x[2, 10], x[0, 4999] = np.nan, np.nan  # the last NaN in row-major order is (2, 10)
    assert poolcli.pool2d(np.nan_to_num(x), output_size="global").tolist() == [[7.0]]
    values, where = poolcli.pool2d(x, output_size="global", return_indices=True)
    assert np.isnan(values[0, 0]) and where.tolist() == [[2 * 5000 + 10]]
    ints = np.full((4, 4096), 255, np.uint8)
    assert poolcli.pool2d(ints, output_size="global", mode="sum").tolist() == [[4 * 4096 * 255.0]]
    assert poolcli.pool2d(ints, output_size="global", mode="avg").dtype == np.float64


# --------------------------------------------------------------------------- small inputs


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_small_recipes_match_reference_and_the_banded_passes_bit_for_bit(data):
    x = data.draw(arrays(2, max_side=10))
    mode = data.draw(st.sampled_from(["max", "min", "sum", "avg"]))
    k = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)))
    s = data.draw(st.one_of(st.none(), st.integers(1, 3)))
    d = data.draw(st.sampled_from([1, 2]))
    ceil_mode = data.draw(st.booleans())
    padding = data.draw(st.sampled_from(["valid", "same", 1, (0, 2)]))
    kw = dict(size=k, stride=s, mode=mode, dilation=d, ceil_mode=ceil_mode, padding=padding)
    if mode == "avg" and data.draw(st.booleans()):
        kw["count_pad"] = data.draw(st.booleans())
    try:
        if padding == "same" and kw.get("count_pad"):
            raise ValueError("Keras never counts its padding")  # refused by poolcli, which the reference does not check
        want = ref_pool2d(x, **kw)
    except ValueError:
        with pytest.raises(ValueError):
            poolcli.pool2d(x, **kw)
        return
    got = poolcli.pool2d(x, **kw)
    assert_same(got, want)
    with no_small_recipes():
        banded = poolcli.pool2d(x, **kw)
    np.testing.assert_array_equal(got, banded)  # the same passes in the same order: the same bits
    assert got.dtype == banded.dtype


def test_small_recipes_are_cached_by_shape_and_arguments_and_refuse_what_they_do_not_handle():
    x = np.arange(64, dtype=np.float32).reshape(8, 8)
    args = (2, None, "valid", "max", 2, 1, False, None, None)
    assert small.small_recipe(x, *args) is small.small_recipe(x.copy(), *args)
    assert small.small_recipe(x, 3, 1, "same", "max", 2, 1, False, None, None) is not None  # padded by np.full
    assert small.small_recipe(x, 3, 1, "same", "avg", 2, 1, False, True, None) is None  # refused by the general path
    assert small.small_recipe(x, 10**6, None, "valid", "max", 2, 1, True, None, None) is None  # a vast overhang
    assert small.small_recipe(x, [2, 2], None, "valid", "max", 2, 1, False, None, None) is None  # a list
    assert small.small_recipe(x.astype(bool), *args) is None
    assert small.small_recipe(np.zeros((512, 512), np.float32), *args) is None  # large: the banded passes


def test_small_float_sums_that_overflow_are_computed_again_without_a_warning():
    x = np.full((4, 4), 3e38, np.float32)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(poolcli.pool2d(x, 2, mode="avg"), np.full((2, 2), 3e38, np.float32))
        assert np.isinf(poolcli.pool2d(x, 2, mode="sum")).all()
    y = np.array([[np.inf, -np.inf], [1, 2]], np.float32)
    assert np.isnan(poolcli.pool2d(y, 2, mode="avg")).all()


# --------------------------------------------------------------------------- integer results


def half_up(v):
    """floor(v + 1/2), exactly, for a float, an int or a Fraction."""
    return math.floor(Fraction(v) + Fraction(1, 2))


def expected_rounded(x, target, **kw):
    """The reference result rounded half up and saturated into ``target``, cell by cell.

    An avg of integers is rounded from its exact value: the reference's sum over the reference's count of the
    window's real cells (its divisor, as no padding is counted here).
    """
    mode = kw["mode"]
    if x.dtype.kind in "iu" and mode == "avg":
        sums = ref_pool2d(x, **{**kw, "mode": "sum"})
        counts = ref_pool2d(np.ones(x.shape, np.int64), **{**kw, "mode": "sum"})
        values = np.vectorize(lambda a, b: half_up(Fraction(int(a), int(b))), otypes=[object])(sums, counts)
    else:
        want = ref_pool2d(x, **kw)
        assert not (want.dtype.kind == "f" and np.isnan(want).any())
        values = np.vectorize(half_up, otypes=[object])(want)
    lo, hi = (0, 1) if target == np.dtype(bool) else (int(np.iinfo(target).min), int(np.iinfo(target).max))
    return np.vectorize(lambda v: min(max(int(v), lo), hi), otypes=[object])(values).astype(target)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_integer_results_are_the_exact_result_rounded_half_up_and_saturated(data):
    x = data.draw(arrays(2, max_side=10, nan=False))
    target = np.dtype(data.draw(st.sampled_from([np.uint8, np.int16, np.int32, np.uint16, bool])))
    mode = data.draw(st.sampled_from(["max", "min", "sum", "avg"]))
    how = data.draw(st.sampled_from(["valid", "adaptive", "same"]))
    if how == "valid":
        kw = dict(size=(data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))), stride=data.draw(st.integers(1, 3)))
    elif how == "adaptive":
        kw = dict(output_size=tuple(data.draw(st.integers(1, n)) for n in x.shape[:2]))
    else:
        kw = dict(size=2, padding="same")
    kw["mode"] = mode
    try:
        ref_pool2d(x, **kw)
    except ValueError:
        return
    got = poolcli.pool2d(x, **kw, dtype=target)
    want = expected_rounded(x, target, **kw)
    assert got.dtype == target
    np.testing.assert_array_equal(got, want)
    with no_small_recipes():
        np.testing.assert_array_equal(poolcli.pool2d(x, **kw, dtype=target), want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_same_gives_the_input_type(dtype):
    x = np.array([[1, 2], [3, 5]], dtype)
    got = poolcli.pool2d(x, 2, mode="avg", dtype="same")
    assert got.dtype == dtype
    assert got.tolist() == ([[3]] if np.dtype(dtype).kind in "iu" else [[2.75]])


def test_hand_worked_rounding_half_up_and_saturation():
    assert poolcli.pool1d(np.array([1, 2, -3, -2], np.int16), 2, mode="avg", dtype="same").tolist() == [2, -2]
    assert poolcli.pool1d(np.array([250, 255], np.uint8), 2, mode="sum", dtype="same").tolist() == [255]
    assert poolcli.pool1d(np.array([-5, 3], np.int16), 1, dtype=np.uint8).tolist() == [0, 3]
    floats = np.array([-2.5, 2.5, 0.49999999999999994, 1e300, -1e300])
    assert poolcli.pool1d(floats, 1, dtype=np.int64).tolist() == [-2, 3, 0, 2**63 - 1, -(2**63)]
    assert poolcli.pool1d(np.array([70000.0]), 1, dtype=np.float16).tolist() == [np.inf]
    assert poolcli.pool1d(np.array([True, False, False, False]), 2, mode="avg", dtype="same").tolist() == [True, False]


def test_a_result_type_that_cannot_hold_the_values_is_refused_in_one_line():
    with pytest.raises(ValueError, match="NaN"):
        poolcli.pool2d(np.array([[np.nan, 1.0]]), (1, 2), dtype=np.uint8)
    for bad in ("text", np.complex64, object, "nope"):
        with pytest.raises(ValueError, match="dtype must be None, 'same' or a numpy"):
            poolcli.pool2d(np.ones((2, 2)), dtype=bad)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.booleans(), st.integers(0, 2**32 - 1))
def test_avg_2x2_of_uint8_to_uint8_is_pillows_reduce_2(h, w, rgb, seed):
    """Pillow's reduce(2) adds the half divisor and shifts: half up. Its odd last row and column average the
    cells they hold, which is Keras's 'same' padding (uncounted) at the end of the axis."""
    x = np.random.default_rng(seed).integers(0, 256, (h, w, 3) if rgb else (h, w), dtype=np.uint8)
    want = np.asarray(Image.fromarray(x).reduce(2))
    np.testing.assert_array_equal(poolcli.pool2d(x, 2, padding="same", mode="avg", dtype=np.uint8), want)
    if h % 2 == 0 and w % 2 == 0:
        np.testing.assert_array_equal(poolcli.pool2d(x, 2, mode="avg", dtype="same"), want)
        with no_small_recipes():  # the 16-bit-word kernel of large 2-D inputs
            np.testing.assert_array_equal(poolcli.pool2d(x, 2, mode="avg", dtype="same"), want)


def test_the_uint8_2x2_kernel_on_a_large_image_with_odd_rows_and_views():
    x = np.random.default_rng(5).integers(0, 256, (301, 640), dtype=np.uint8)
    want = ((x[0:300:2, 0::2].astype(int) + x[1:300:2, 0::2] + x[0:300:2, 1::2] + x[1:300:2, 1::2] + 2) >> 2).astype(np.uint8)
    np.testing.assert_array_equal(poolcli.pool2d(x, 2, mode="avg", dtype="same"), want)
    np.testing.assert_array_equal(poolcli.pool2d(x[:, ::-1], 2, mode="avg", dtype="same"), want[:, ::-1])  # not contiguous
    np.testing.assert_array_equal(poolcli.pool2d(x[:, :639], 2, mode="avg", dtype="same"), want[:, :319])  # odd width


# --------------------------------------------------------------------------- indices


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_indices_of_unpadded_windows_match_reference(data):
    """The keyed passes (no padding, no NaN in the band) and the general ones (NaN): ties row-major, the last NaN."""
    ndim = data.draw(st.sampled_from([1, 2, 2, 3]))
    x = data.draw(arrays(ndim, max_side=7 if ndim == 3 else 12))
    mode = data.draw(st.sampled_from(["max", "min"]))
    k = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(ndim))
    kw = dict(size=k, stride=s, dilation=d, mode=mode, ndim=ndim, return_indices=True)
    try:
        want = ref_pool(x, **kw)
    except ValueError:
        return
    values, indices = poolcli.pool(x, **kw)
    assert_same(values, want[0])
    np.testing.assert_array_equal(indices, want[1])


def test_indices_of_tied_cells_go_row_major_across_rows_and_columns():
    # the max 5 sits at (0, 1) and (1, 0) of the window: row-major first is (0, 1), though column 0 comes first
    x = np.array([[1, 5], [5, 1]], np.float32)
    assert poolcli.pool2d(x, 2, return_indices=True)[1].tolist() == [[1]]
    assert poolcli.pool2d(-x, 2, mode="min", return_indices=True)[1].tolist() == [[1]]
    assert ref_pool2d(x, 2, return_indices=True)[1].tolist() == [[1]]


# --------------------------------------------------------------------------- the command line


def test_cli_dtype_rounds_half_up_and_says_so(tmp_path):
    from click.testing import CliRunner

    from poolcli.cli import main

    src = tmp_path / "m.csv"
    src.write_text("1,2\n3,5\n")
    result = CliRunner().invoke(main, ["pool", str(src), "-m", "avg", "--dtype", "uint8"])
    assert result.exit_code == 0
    assert result.stdout == "3\n"
    assert "--dtype uint8: results rounded half up and saturated to 0..255" in result.stderr
    plain = CliRunner().invoke(main, ["pool", str(src), "-m", "avg"])
    assert plain.stdout == "2.75\n" and "--dtype" not in plain.stderr
    png = tmp_path / "g.png"
    Image.fromarray(np.array([[1, 2], [3, 4]], np.uint8)).save(png)
    same = CliRunner().invoke(main, ["pool", str(png), "-m", "max", "--dtype", "same", "-o", str(tmp_path / "o.npy")])
    assert same.exit_code == 0 and "--dtype" not in same.stderr  # max of uint8 into uint8 changes nothing
    assert np.load(tmp_path / "o.npy").tolist() == [[4]]
    bad = CliRunner().invoke(main, ["pool", str(src), "--dtype", "complex"])
    assert bad.exit_code == 2 and "Invalid value for '--dtype'" in bad.stderr


# --------------------------------------------------------------------------- threads


def test_a_second_thread_runs_only_where_it_pays(monkeypatch):
    """Stride-1 windows on 4- and 8-byte cells use the threads set; stride == size and 1- or 2-byte cells one thread."""
    import concurrent.futures

    from poolcli.engine import banded, threads

    made = []
    real = concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", lambda max_workers: made.append(max_workers) or real(max_workers))
    monkeypatch.setattr(banded, "_BAND_BYTES", 1)
    monkeypatch.setattr(threads, "_THREAD_MIN_ELEMENTS", 1)
    x = np.arange(40 * 40, dtype=np.float32).reshape(40, 40)
    with no_small_recipes(), poolcli.using_threads(2):
        for arr, k, s in ((x, 2, 2), (x.astype(np.uint8), 3, 1), (x.astype(np.int16), 3, 1)):
            np.testing.assert_array_equal(poolcli.pool2d(arr, k, s), ref_pool2d(arr, k, s))
        assert made == []
        np.testing.assert_array_equal(poolcli.pool2d(x, 3, 1, mode="avg"), ref_pool2d(x, 3, 1, mode="avg"))
        assert made == [2]
