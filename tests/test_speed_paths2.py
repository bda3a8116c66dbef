"""Issue 14's second round of fast paths pinned against the slow reference and against the paths they replace:
the small-input recipes' finishing steps (divide, round, saturate worked out once; the input widened first;
padding copied from a template), padded windows computed without a padded copy of the band, and the image
path's integer route (avg of 8/16-bit images asked of the engine as integers, the same bytes and notes as
through float64).
"""

from contextlib import contextmanager

import numpy as np
import pytest
from helpers import no_small_recipes
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import ref_pool
from test_engine_speed_paths import arrays, assert_same, half_up

import poolcli
from poolcli.engine import banded

TARGETS = [None, "same", np.uint8, np.int16, np.uint16, np.int32, np.float32, np.float64]


@contextmanager
def tiny_bands():
    """Bands of a row or two, so that a small input runs through many bands, the first and last padded."""
    saved = banded._BAND_BYTES
    banded._BAND_BYTES = 1
    try:
        yield
    finally:
        banded._BAND_BYTES = saved


def _padded_everywhere(x, axis, plan, ufunc, acc, fill, out):
    """The way padded windows were computed before: the whole band padded along the axis, then reduced."""
    padded = banded.pad_axis(x, axis, plan.before, plan.after, fill)
    return banded._window_reduce(padded, axis, plan.out, plan.k, plan.s, plan.d, ufunc, acc, out)


@contextmanager
def padded_copies():
    saved = banded._edged_reduce
    banded._edged_reduce = _padded_everywhere
    try:
        yield
    finally:
        banded._edged_reduce = saved


@st.composite
def windows(draw, ndim):
    """Window arguments of every kind: sizes, strides, dilations, paddings, ceil_mode, count_pad, modes."""
    mode = draw(st.sampled_from(["max", "min", "sum", "avg"]))
    k = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    kw = dict(
        size=k,
        stride=draw(st.one_of(st.none(), st.integers(1, 3))),
        mode=mode,
        dilation=draw(st.sampled_from([1, 2])),
        ceil_mode=draw(st.booleans()),
        padding=draw(st.sampled_from(["valid", "same", 1, tuple(kk // 2 for kk in k)])),
    )
    if mode == "avg" and kw["padding"] != "same" and draw(st.booleans()):
        kw["count_pad"] = draw(st.booleans())
    return kw


def reference_or_none(x, ndim, kw):
    try:
        return ref_pool(x, ndim=ndim, **kw)
    except ValueError:
        return None


def expected(x, ndim, kw, target):
    """The reference's result in ``target``: None keeps it, a float type casts it, an integer type rounds it half
    up and saturates it. (The reference's avg is its exact sum over its divisor rounded once to float64: whole,
    or on a half, exactly when the exact quotient is, for windows this small.)"""
    want = ref_pool(x, ndim=ndim, **kw)
    if target is None:
        return want
    t = x.dtype if isinstance(target, str) else np.dtype(target)
    if t.kind == "f":
        with np.errstate(over="ignore"):
            return want.astype(t)
    info = np.iinfo(t)
    rounded = np.vectorize(lambda v: min(max(half_up(v), int(info.min)), int(info.max)), otypes=[object])(want)
    return rounded.astype(t)


# --------------------------------------------------------------------------- small inputs


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_small_recipes_with_every_result_type_match_the_reference_and_the_banded_passes(data):
    ndim = data.draw(st.sampled_from([1, 2, 2, 3]))
    x = data.draw(arrays(ndim, max_side=5 if ndim == 3 else 10, nan=False))
    kw = data.draw(windows(ndim))
    target = data.draw(st.sampled_from(TARGETS))
    if reference_or_none(x, ndim, kw) is None:
        with pytest.raises(ValueError):
            poolcli.pool(x, ndim=ndim, dtype=target, **kw)
        return
    got = poolcli.pool(x, ndim=ndim, dtype=target, **kw)
    assert_same(got, expected(x, ndim, kw, target))
    with no_small_recipes():
        general = poolcli.pool(x, ndim=ndim, dtype=target, **kw)
    assert got.dtype == general.dtype
    np.testing.assert_array_equal(got, general)  # bit for bit: the same passes in the same order


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_small_recipes_keep_nan_and_signed_zeros_as_the_general_path(data):
    x = data.draw(arrays(2, max_side=8))
    if x.dtype.kind == "f" and data.draw(st.booleans()):
        x = np.where(x == 0, -x.dtype.type(0), x)  # negative zeros, whose sums stay negative zeros
    kw = data.draw(windows(2))
    if reference_or_none(x, 2, kw) is None:
        return
    got = poolcli.pool2d(x, **kw)
    with no_small_recipes():
        general = poolcli.pool2d(x, **kw)
    assert got.tobytes() == general.tobytes()  # every bit, the sign of zero and NaN included


def test_small_recipe_rounding_hand_worked():
    x = np.array([[1, 2, 3], [4, 6, 250]], np.uint8)
    # sums 13 and 261 over 4 cells: 3.25 -> 3 and 65.25 -> 65; with 'same', the last column averages 2 cells
    assert poolcli.pool2d(x, 2, 1, mode="avg", dtype="same").tolist() == [[3, 65]]
    assert poolcli.pool2d(x, 2, padding="same", mode="avg", dtype="same").tolist() == [[3, 127]]  # 253/2
    assert poolcli.pool2d(x, 2, 1, mode="sum", dtype="same").tolist() == [[13, 255]]  # saturated
    assert poolcli.pool2d(x.astype(np.int16) - 7, 2, 1, mode="avg", dtype=np.int8).tolist() == [[-4, 58]]


# --------------------------------------------------------------------------- padding without a padded band


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_padded_windows_from_the_unpadded_band_match_the_reference_and_padded_copies_bit_for_bit(data):
    ndim = data.draw(st.sampled_from([1, 2, 2, 3]))
    x = data.draw(arrays(ndim, max_side=6 if ndim == 3 else 14))
    kw = data.draw(windows(ndim))
    want = reference_or_none(x, ndim, kw)
    with no_small_recipes(), tiny_bands():
        if want is None:
            with pytest.raises(ValueError):
                poolcli.pool(x, ndim=ndim, **kw)
            return
        got = poolcli.pool(x, ndim=ndim, **kw)
        with padded_copies():
            before = poolcli.pool(x, ndim=ndim, **kw)
    assert_same(got, want)
    assert got.tobytes() == before.tobytes()


@pytest.mark.parametrize("mode", ["max", "avg", "sum", "min"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int16])
def test_wide_padded_images_in_several_bands_match_padded_copies(mode, dtype):
    rng = np.random.default_rng(7)
    x = (rng.random((70, 300, 3)) * 100).astype(dtype)
    for k, s, padding in [(3, 1, "same"), (3, 2, "same"), (7, 1, "same"), (5, 3, 2), (3, 1, 1), (2, 2, "same")]:
        got = poolcli.pool2d(x, k, s, padding, mode)
        with padded_copies():
            np.testing.assert_array_equal(got, poolcli.pool2d(x, k, s, padding, mode))
        view = x[::-1, 1:, 0]
        np.testing.assert_array_equal(
            poolcli.pool2d(view, k, s, padding, mode), poolcli.pool2d(np.ascontiguousarray(view), k, s, padding, mode)
        )


def test_same_padding_hand_worked_edges():
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    # 'same' 3x3/1: each window holds its real neighbours only, padded cells never win or count
    with no_small_recipes():
        got = poolcli.pool2d(x, 3, 1, "same", "max")
        avg = poolcli.pool2d(x, 3, 1, "same", "avg")
    assert got.tolist() == [[6, 7, 8, 8], [10, 11, 12, 12], [10, 11, 12, 12]]
    assert avg[:, 0].tolist() == [(1 + 2 + 5 + 6) / 4, (1 + 2 + 5 + 6 + 9 + 10) / 6, (5 + 6 + 9 + 10) / 4]
    assert avg[1, 1] == (1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11) / 9 and avg[2, 3] == (7 + 8 + 11 + 12) / 4


# --------------------------------------------------------------------------- the image path's integer route


@contextmanager
def patched(module, name, value):
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def _written(src, dst, spec, float_route):
    """The bytes ``run`` writes and its notes (or the error it raises), by the integer route or through float64."""
    from poolcli import pipeline

    notes = []
    route = (lambda *args: None) if float_route else pipeline.image_rounding
    try:
        with patched(pipeline, "image_rounding", route):
            pipeline.run(src, dst, spec, keep_values=False, on_note=notes.append)
    except ValueError as exc:
        return b"", [(str(exc), "error")]
    with open(dst, "rb") as f:
        return f.read(), [(str(n), n.kind) for n in notes]


@st.composite
def image_runs(draw):
    """An 8- or 16-bit input of 1 to 4 channels and a run of pool on it: mostly averages, every kind of window."""
    from poolcli.specs import OutputSpec, PoolSpec, WindowSpec

    dtype = np.dtype(draw(st.sampled_from([np.uint8, np.uint16])))
    shape = (draw(st.integers(1, 20)), draw(st.integers(1, 20))) + draw(st.sampled_from([(), (2,), (3,), (4,)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = int(np.iinfo(dtype).max)
    x = rng.integers(0, top + 1, shape, dtype=np.int64)
    if draw(st.booleans()):  # runs of equal values and multiples of 4, so that some averages are whole numbers
        x = (x // 4 * 4) if draw(st.booleans()) else np.full(shape, draw(st.integers(0, top)))
    x = x.astype(dtype)
    mode = draw(st.sampled_from(["avg", "avg", "avg", "mean", "sum", "max"]))
    if draw(st.integers(0, 4)) == 0:
        window = WindowSpec(mode=mode, output_size=(draw(st.integers(1, shape[0])), draw(st.integers(1, shape[1]))))
    else:
        k = draw(st.integers(1, 4))
        padding = draw(st.sampled_from(["valid", "same", k // 2]))
        count_pad = draw(st.sampled_from([None, False])) if padding not in ("valid", "same") else None
        window = WindowSpec(
            size=k,
            stride=draw(st.one_of(st.none(), st.integers(1, 3))),
            padding=padding,
            mode=mode,
            ceil_mode=draw(st.booleans()),
            count_pad=count_pad,
        )
    spec = PoolSpec(
        window=window,
        output=OutputSpec(rescale=draw(st.sampled_from(["auto", "auto", "clip", "minmax"]))),
        gray=draw(st.booleans()) and len(shape) == 3 and dtype == np.uint8,
        channel=0 if draw(st.integers(0, 5)) == 0 and len(shape) == 3 else None,
    )
    fmt = draw(st.sampled_from(["png", "png", "tif", "jpg", "gif"]))
    source = draw(st.sampled_from(["npy", "png"])) if dtype == np.uint8 and shape[2:] in ((), (3,), (4,)) else "npy"
    return x, spec, fmt, source


@settings(max_examples=120, deadline=None)
@given(image_runs(), st.booleans())
def test_averages_written_as_images_are_the_same_bytes_and_notes_by_the_integer_route(run_args, streamed):
    """The route taken where it applies (avg of 8/16-bit values to PNG/TIFF of their depth) writes what the float64
    route writes, byte for byte, with the same notes in the same order; elsewhere nothing changes."""
    import tempfile

    from PIL import Image

    from poolcli.formats import imagestream

    x, spec, fmt, source = run_args
    with tempfile.TemporaryDirectory() as tmp:
        src = f"{tmp}/in.{source}"
        if source == "npy":
            np.save(src, x)
        else:
            Image.fromarray(x).save(src)
        # a PNG input of any size streamed through libvips, band by band, as large ones are
        with patched(imagestream, "STREAM_PIXELS", 1 if streamed else imagestream.STREAM_PIXELS):
            ours = _written(src, f"{tmp}/a.{fmt}", spec, float_route=False)
            before = _written(src, f"{tmp}/b.{fmt}", spec, float_route=True)
    assert ours[0] == before[0]
    assert [(text.replace("/a.", "/?."), kind) for text, kind in ours[1]] == [
        (text.replace("/b.", "/?."), kind) for text, kind in before[1]
    ]


def test_the_integer_route_is_taken_where_it_applies_and_nowhere_else():
    from poolcli.pipeline import image_rounding
    from poolcli.specs import OutputSpec, PoolSpec, WindowSpec

    u8, u16, f64 = np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float64)
    avg = PoolSpec(window=WindowSpec(mode="avg"))
    assert image_rounding(avg, "png", u8, u8) == [] and image_rounding(avg, "tiff", u16, u16) == []
    assert image_rounding(avg, "png", u16, u16) == []  # 16-bit PNG
    assert image_rounding(avg, "jpeg", u16, u16) is None  # 8 bits: x*255/65535 of the float average
    assert image_rounding(avg, "csv", u8, u8) is None and image_rounding(avg, "npy", u8, u8) is None
    assert image_rounding(avg, "png", u8, f64) is None  # a filter made floats
    assert image_rounding(PoolSpec(window=WindowSpec(mode="sum")), "png", u8, u8) is None  # sums pass 255
    assert image_rounding(PoolSpec(window=WindowSpec(mode="avg", dtype="uint16")), "png", u8, u8) is None
    assert image_rounding(PoolSpec(window=WindowSpec(mode="avg"), output=OutputSpec(rescale="minmax")), "png", u8, u8) is None


def test_pool_rounded_says_whether_a_value_was_rounded():
    from poolcli.engine.pooling import pool_rounded

    whole = np.array([[1, 3], [3, 5]], np.uint8)  # sum 12: the average 3 is exact
    values, rounded = pool_rounded(whole, ndim=2, mode="avg")
    assert values.tolist() == [[3]] and values.dtype == np.uint8 and not rounded
    values, rounded = pool_rounded(np.array([[1, 2], [3, 5]], np.uint8), ndim=2, mode="avg")
    assert values.tolist() == [[3]] and rounded  # 11/4 = 2.75
    big = np.kron(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64), np.ones((2, 2), np.uint8))
    assert not pool_rounded(big, ndim=2, mode="avg", size=2)[1]  # the 16-bit-word kernel: every window whole
    big[100, 77] += 1
    assert pool_rounded(big, ndim=2, mode="avg", size=2)[1]
    assert pool_rounded(big.astype(np.uint16), ndim=2, mode="avg", size=3, stride=1, padding="same")[1]
    with pytest.raises(ValueError, match="average of integers"):
        pool_rounded(big, ndim=2, mode="max")
    with pytest.raises(ValueError, match="average of integers"):
        pool_rounded(big.astype(np.float32), ndim=2, mode="avg")


# --------------------------------------------------------------------------- ties of 0.0 and -0.0


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_max_and_min_of_signed_zeros_equal_the_cell_the_index_points_at_but_for_the_sign(data):
    """The documented rule: the index is the first best cell in row-major order (PyTorch, TF); the value equals it,
    and may differ from it only in the sign of zero."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shape = (data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)))
    x = rng.choice(np.array([0.0, -0.0, -1.0, 1.0], dtype), shape)
    mode = data.draw(st.sampled_from(["max", "min"]))
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    kw = dict(size=k, stride=data.draw(st.integers(1, 2)), padding=data.draw(st.sampled_from(["valid", "same"])))
    if reference_or_none(x, 2, dict(kw, mode=mode)) is None:
        return
    values, where = poolcli.pool2d(x, mode=mode, return_indices=True, **kw)
    want_values, want_where = ref_pool(x, ndim=2, mode=mode, return_indices=True, **kw)
    np.testing.assert_array_equal(where, want_where)
    np.testing.assert_array_equal(values, x.reshape(-1)[where])  # equal: 0.0 == -0.0
    np.testing.assert_array_equal(poolcli.pool2d(x, mode=mode, **kw), want_values)


def test_a_window_of_both_zeros_hand_worked():
    x = np.array([[-1.0, 0.0], [-0.0, -1.0]])
    values, where = poolcli.pool2d(x, 2, return_indices=True)
    assert where.tolist() == [[1]] and values.tolist() == [[0.0]]  # the first best is (0, 1); the value is a zero
