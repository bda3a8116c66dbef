"""The optional OpenCV path (engine/accel.py) held to the numpy path bit for bit.

Every case runs twice through ``pool2d``, with the accelerated path on and off
(``set_accel``), and the two results must have the same type, shape and bytes
(so NaN, infinities and the sign of zero included). The cached recipes for
small inputs are switched off, so that small inputs reach the dispatch too. A
spy checks that OpenCV was used where it should be, and declined where it must
be (NaN, -0.0, types and windows it does not take exactly).

The averages OpenCV rounds (resize INTER_AREA, blur) are checked over every
window sum the input type can give; for the 16-bit types with the widest
windows, over every sum nearest a half (residues ``area // 2`` and
``area // 2 + 1``, where a rounding error shows first) across the whole range.
"""

import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

pytest.importorskip("cv2")

import poolcli
from poolcli.engine import accel, conv, pooling, small
from poolcli.engine.windows import plans

MORPH = [np.uint8, np.uint16, np.int16, np.float32, np.float64]
DECLINED = [np.int8, np.int32, np.int64, np.uint32, np.float16]


@pytest.fixture(autouse=True)
def no_small_recipes():
    saved, cells = small.SMALL_BYTES, accel.MIN_CELLS
    small.SMALL_BYTES, accel.MIN_CELLS = -1, 0  # every input reaches the dispatch, and OpenCV where it applies
    try:
        yield
    finally:
        small.SMALL_BYTES, accel.MIN_CELLS = saved, cells
        poolcli.set_accel(None)


@contextmanager
def spy(name, module=pooling):
    """Record, for each call of ``name`` in ``module`` (extremes, rounded_avg, correlate), whether it returned
    a result."""
    used = []
    real = getattr(module, name)

    def counted(*args):
        out = real(*args)
        used.append(out is not None)
        return out

    setattr(module, name, counted)
    try:
        yield used
    finally:
        setattr(module, name, real)


def both(x, **kw):
    """pool2d with the accelerated path on, then off."""
    poolcli.set_accel(True)
    fast = poolcli.pool2d(x, **kw)
    poolcli.set_accel(False)
    slow = poolcli.pool2d(x, **kw)
    poolcli.set_accel(None)
    return fast, slow


def assert_same_bits(fast, slow):
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    assert fast.flags.c_contiguous
    assert np.array_equal(fast, slow, equal_nan=fast.dtype.kind == "f")
    if fast.dtype.kind == "f":
        assert np.array_equal(np.signbit(fast), np.signbit(slow))
    assert fast.tobytes() == slow.tobytes()


@st.composite
def inputs(draw, dtypes, specials=True):
    """(H, W), (H, W, C) or a view of one: tiny, odd and wide shapes, full-range integers, floats with ties,
    infinities and now and then NaN or -0.0."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    h, w = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    channels = draw(st.sampled_from([(), (), (1,), (2,), (3,), (4,), (5,)]))
    view = draw(st.sampled_from(["plain", "reversed", "strided", "fortran", "channel"]))
    shape = (h, w) + channels
    big = tuple(2 * n for n in shape) if view == "strided" else shape
    if view == "channel":
        big = (h, w, 3)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.kind == "f":
        a = rng.integers(-4, 5, big).astype(dtype) * dtype.type(0.5)  # few values: ties are common
        if specials:
            for value, rate in ((np.inf, 0.05), (-np.inf, 0.05), (np.nan, 0.1), (-0.0, 0.2)):
                if draw(st.booleans()):
                    a[rng.random(big) < rate] = value
    elif dtype.kind == "b":
        a = rng.random(big) < 0.5
    else:
        info = np.iinfo(dtype)
        ends = np.array([info.min, info.max, 0, 1], dtype=np.int64)
        a = np.where(rng.random(big) < 0.3, rng.choice(ends, big), rng.integers(info.min, info.max, big, endpoint=True))
        a = a.astype(dtype)
    if view == "reversed":
        a = a[::-1, ::-1]
    elif view == "strided":
        a = a[tuple(slice(None, None, 2) for _ in big)]
    elif view == "fortran":
        a = np.asfortranarray(a)
    elif view == "channel":
        a = a[:, :, 1]  # one plane of an interleaved image
    return a


@st.composite
def stride_one(draw, a):
    """Stride-1 window arguments for ``a``: windows up to larger than the input, every padding kind."""
    h, w = a.shape[:2]
    kh, kw = draw(st.integers(1, h + 3)), draw(st.integers(1, w + 3))
    padding = draw(st.sampled_from(["valid", "same", "explicit"]))
    if padding == "explicit":
        padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    return dict(size=(kh, kw), stride=1, padding=padding, ceil_mode=draw(st.booleans()))


def fits(a, kw):
    try:
        poolcli.output_shape(a.shape, **{k: v for k, v in kw.items() if k not in ("mode", "dtype")})
    except ValueError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_max_and_min_are_the_numpy_paths_bits(data):
    a = data.draw(inputs(MORPH + [np.bool_]))
    kw = data.draw(stride_one(a))
    kw["mode"] = data.draw(st.sampled_from(["max", "min"]))
    if not fits(a, kw):
        return
    with spy("extremes") as used:
        fast, slow = both(a, **kw)
    assert_same_bits(fast, slow)
    kh, kw_ = kw["size"]
    pads = kw["padding"]
    too_long = isinstance(pads, tuple) and (2 * pads[0] >= kh or 2 * pads[1] >= kw_)  # output longer than the input
    dirty = a.dtype.kind == "f" and (np.isnan(a).any() or (np.signbit(a) & (a == 0)).any())
    every = plans(a.shape, kw["size"], 1, pads, 1, kw["ceil_mode"], True, 2)
    five = a.ndim == 3 and a.shape[2] > 4  # OpenCV's filters refuse some counts above 4
    assert used[0] == (not too_long and not dirty and not five)
    event(f"OpenCV used: {used[0]}")


@pytest.mark.parametrize("dtype", DECLINED)
def test_types_opencv_would_change_are_left_to_numpy(dtype):
    a = (np.arange(40 * 50) % 100).reshape(40, 50).astype(dtype)
    with spy("extremes") as used:
        fast, slow = both(a, size=3, stride=1)
    assert_same_bits(fast, slow)
    assert not any(used)


@pytest.mark.parametrize("mode", ["max", "min"])
def test_nan_and_negative_zero_are_declined(mode):
    """OpenCV's dilate drops a NaN that numpy propagates; which zero wins a +0/-0 tie is the loop's choice."""
    a = np.zeros((20, 20), np.float32)
    a[5, 5] = 7 if mode == "max" else -7
    cv2 = pytest.importorskip("cv2")
    a[10, 10] = np.nan
    spoiled = (cv2.dilate if mode == "max" else cv2.erode)(a, np.ones((3, 3), np.uint8))
    assert not np.isnan(spoiled[10, 11]) or not np.isnan(spoiled[9, 9])  # what the check guards against
    b = a.copy()
    b[10, 10] = -0.0
    with spy("extremes") as used:
        for x in (a, b):
            fast, slow = both(x, size=3, stride=1, padding="same", mode=mode)
            assert_same_bits(fast, slow)
    assert not any(used)


def test_strided_windows_and_dilation_stay_numpy():
    a = np.arange(60 * 70, dtype=np.float32).reshape(60, 70) % 13
    with spy("extremes") as used:
        for kw in (dict(size=3, stride=2), dict(size=3, stride=1, dilation=2), dict(size=2)):
            assert_same_bits(*both(a, **kw))
    assert not any(used)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_integer_averages_are_the_numpy_paths_bits(data):
    # mostly what OpenCV takes, and some of what it must not
    a = data.draw(inputs([np.uint8, np.uint16, np.int16] * 3 + [np.int8, np.int32]))
    k = data.draw(st.sampled_from([1, 2, 3, 3, 4, 5, 7]))
    tiled = data.draw(st.booleans())
    padding = data.draw(st.sampled_from(["valid", "valid", "same", "explicit"]))
    if padding == "explicit":
        padding = data.draw(st.integers(0, k // 2))
    kw = dict(size=k, stride=k if tiled else 1, padding=padding, mode="avg")
    kw["ceil_mode"] = data.draw(st.sampled_from([False, False, True]))
    kw["dtype"] = data.draw(st.sampled_from(["same", "same", "same", np.int32, np.int64, np.uint8, np.float32]))
    if not fits(a, kw):
        return
    with spy("rounded_avg") as used:
        assert_same_bits(*both(a, **kw))
    # OpenCV is used for the windows and types that its rounding was checked on, never beside them
    event(f"OpenCV used: {used[0] if used else None}")
    if used and used[0]:
        assert a.dtype in (np.uint8, np.uint16, np.int16) and k in (2, 3, 5, 7)


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("dtype", MORPH)
def test_large_images_take_opencv(dtype, mode):
    rng = np.random.default_rng(3)
    base = (rng.random((300, 301, 3)) * 200 - 60).astype(dtype)
    with spy("extremes") as used:
        for x in (base, base[:, :, 0].copy(), base[::-1, :, 1]):
            for kw in (
                dict(size=3, stride=1),
                dict(size=7, stride=1, padding="same"),
                dict(size=15, stride=1, padding=7),
            ):
                assert_same_bits(*both(x, mode=mode, **kw))
    assert all(used[0::2])  # each case's first call, with the accelerated path on


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
def test_every_average_in_the_tables_takes_opencv(dtype):
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype)
    for k in sorted(set(accel._AREA[np.dtype(dtype)] + accel._BLUR[np.dtype(dtype)])):
        base = rng.integers(info.min, info.max, (3 * k + 1, 4 * k + 3, 4), endpoint=True).astype(dtype)
        inputs = (base[:, :, 0].copy(), base[:, :, :3], base, base[::-1, :, 1], base[:, :, :1])
        cases = []
        if k in accel._AREA[np.dtype(dtype)]:
            cases.append(dict(size=k))
        if k in accel._BLUR[np.dtype(dtype)]:
            cases += [dict(size=k, stride=1), dict(size=k, stride=1, padding=k // 2)]
        with spy("rounded_avg") as used:
            for x in inputs:
                for kw in cases:
                    for target in ("same", np.int64):
                        assert_same_bits(*both(x, mode="avg", dtype=target, **kw))
        assert all(used[0::2]), (dtype, k)


# --------------------------------------------------------------------------- averages over every window sum


def sum_blocks(k, dtype, sums):
    """An image of k x k blocks side by side, block j holding cells of ``dtype`` that sum to ``sums[j]``
    (measured from the type's lowest value), in rows of 257 blocks (an odd width, so SIMD tails are reached)."""
    area = k * k
    lo = int(np.iinfo(dtype).min)
    q, r = sums // area, sums % area
    blocks = q[:, None] + (np.arange(area)[None, :] < r[:, None]) + lo  # (m, area): r cells one above the rest
    per_row = 257
    m = -(-len(sums) // per_row) * per_row
    blocks = np.concatenate([blocks, np.full((m - len(sums), area), lo)])
    img = blocks.reshape(m // per_row, per_row, k, k).transpose(0, 2, 1, 3).reshape(m // per_row * k, per_row * k)
    return img.astype(dtype)


def every_sum(k, dtype):
    span = (int(np.iinfo(dtype).max) - int(np.iinfo(dtype).min)) * k * k
    if span < 1 << 20:
        return np.arange(span + 1)
    area = k * k
    near_half = np.arange(0, span + 1, area)[:, None] + np.array([area // 2, area // 2 + 1])
    return np.concatenate([np.arange(1 << 16), near_half.ravel()[near_half.ravel() <= span], [span]])


def exact_avg(img, k, stride):
    """floor(mean + 1/2) of every k x k window, from int64 sums (an integral image)."""
    c = np.zeros((img.shape[0] + 1, img.shape[1] + 1), np.int64)
    c[1:, 1:] = img.astype(np.int64).cumsum(0).cumsum(1)
    sums = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]
    return (sums[::stride, ::stride] + k * k // 2) // (k * k)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
def test_area_averages_round_half_up_for_every_sum(dtype):
    for k in accel._AREA[np.dtype(dtype)]:
        img = sum_blocks(k, dtype, every_sum(k, dtype))
        poolcli.set_accel(True)
        got = poolcli.pool2d(img, k, mode="avg", dtype="same")
        assert np.array_equal(got, exact_avg(img, k, k)), (dtype, k)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
def test_blur_averages_round_half_up_for_every_sum(dtype):
    for k in accel._BLUR[np.dtype(dtype)]:
        img = sum_blocks(k, dtype, every_sum(k, dtype))
        poolcli.set_accel(True)
        got = poolcli.pool2d(img, k, 1, mode="avg", dtype="same")
        assert np.array_equal(got, exact_avg(img, k, 1)), (dtype, k)


def test_what_opencv_rounds_otherwise_is_not_used():
    """A 4x4 INTER_AREA rounds halves to even; a 2x2 blur is off by one: neither is in the tables."""
    cv2 = pytest.importorskip("cv2")
    img = sum_blocks(4, np.uint8, np.arange(255 * 16 + 1))
    area = cv2.resize(img, (img.shape[1] // 4, img.shape[0] // 4), interpolation=cv2.INTER_AREA)
    assert not np.array_equal(area, exact_avg(img, 4, 4))
    assert 4 not in accel._AREA[np.dtype(np.uint8)] and 2 not in accel._BLUR[np.dtype(np.uint8)]


# --------------------------------------------------------------------------- conv2d


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_integer_convolutions_are_the_numpy_paths_bits(data):
    a = data.draw(inputs([np.uint8, np.uint16, np.int16, np.uint8, np.uint16, np.int16, np.bool_, np.int32]))
    kh, kw = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    scale = data.draw(st.sampled_from([3, 1000, 1 << 23]))
    weights = np.array(data.draw(st.lists(st.integers(-scale, scale), min_size=kh * kw, max_size=kh * kw)))
    kernel = data.draw(
        st.sampled_from(
            [weights.reshape(kh, kw), weights.reshape(kh, kw) / 16, weights.reshape(kh, kw) / 9, weights * 0.1]
        )
    )
    kernel = kernel.reshape(kh, kw)
    padding = data.draw(st.sampled_from(["valid", "same"]))
    if padding == "valid" and (kh > a.shape[0] or kw > a.shape[1]):
        return
    poolcli.set_accel(True)
    with spy("correlate", conv) as used:
        fast = poolcli.conv2d(a, kernel, padding)
    poolcli.set_accel(False)
    slow = poolcli.conv2d(a, kernel, padding)
    assert_same_bits(fast, slow)
    event(f"OpenCV used: {used[0] if used else None}")
    if used and used[0]:
        assert a.dtype.kind in "ub" or a.dtype == np.int16
        assert kh * kw <= 25 and (a.ndim == 2 or a.shape[2] <= 4)


def test_large_integer_convolutions_take_opencv():
    rng = np.random.default_rng(4)
    base = rng.integers(0, 256, (300, 301, 3), dtype=np.uint8)
    kernels = [poolcli.FILTERS[name] for name in sorted(poolcli.FILTERS)] + [np.arange(25).reshape(5, 5) - 12]
    with spy("correlate", conv) as used:
        for x in (base, base[:, :, 0].copy(), base[::-1, :, 1], base.astype(np.int16) - 128):
            for kernel in kernels:
                for padding in ("valid", "same"):
                    poolcli.set_accel(True)
                    fast = poolcli.conv2d(x, kernel, padding)
                    poolcli.set_accel(False)
                    assert_same_bits(fast, poolcli.conv2d(x, kernel, padding))
    assert used and all(used[0::2])


def test_what_filter2d_rounds_is_not_used():
    """From 50 taps OpenCV convolves through a DFT, which is not exact: such kernels stay numpy's."""
    cv2 = pytest.importorskip("cv2")
    x = np.random.default_rng(2).integers(0, 256, (200, 200), dtype=np.uint8)
    kernel = np.arange(81, dtype=np.float64).reshape(9, 9) - 40
    dft = cv2.filter2D(x, cv2.CV_64F, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:192, :192]
    poolcli.set_accel(True)
    with spy("correlate", conv) as used:
        assert not np.array_equal(dft, poolcli.conv2d(x, kernel))
    assert used == [False]


def test_a_negative_zero_from_filter2d_would_be_made_positive(monkeypatch):
    """OpenCV's sums start from +0.0 and stay +0.0, as numpy's do; were one to give -0.0, it is mended."""

    class Fake:
        BORDER_CONSTANT = 0
        CV_64F = 6

        def filter2D(self, a, depth, kernel, anchor, borderType):
            return np.full(a.shape, -0.0)

        def getNumThreads(self):
            return 1

        def setNumThreads(self, n):
            pass

    monkeypatch.setattr(accel, "_module", Fake())
    poolcli.set_accel(True)
    out = accel.correlate(np.zeros((4, 4), np.uint8), [[-1]], ((0, 0), (0, 0)), (4, 4))
    assert out is not None and not np.signbit(out).any()


# --------------------------------------------------------------------------- the switch


def test_the_switch_and_the_environment(monkeypatch):
    poolcli.set_accel(False)
    assert poolcli.get_accel() is False
    poolcli.set_accel(None)
    monkeypatch.setenv("POOLCLI_ACCEL", "0")
    assert poolcli.get_accel() is False
    monkeypatch.setenv("POOLCLI_ACCEL", "1")
    assert poolcli.get_accel() is True
    poolcli.set_accel(True)
    monkeypatch.setenv("POOLCLI_ACCEL", "0")
    assert poolcli.get_accel() is True  # the call outranks the environment
    with pytest.raises(ValueError, match="accel must be"):
        poolcli.set_accel("yes")


def test_opencv_is_imported_only_for_a_case_it_takes():
    """Importing OpenCV takes tens of milliseconds: a run it cannot speed up, or an input numpy pools in less,
    does not pay it."""
    code = "import sys, numpy as np, poolcli; poolcli.pool2d(np.zeros({}, np.float32), {}); print('cv2' in sys.modules)"
    cases = (("(600, 600)", "2", "False"), ("(600, 600)", "3, 1", "True"), ("(300, 300)", "3, 1", "False"))
    for shape, args, loaded in cases:
        out = subprocess.run(
            [sys.executable, "-c", code.format(shape, args)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == loaded
