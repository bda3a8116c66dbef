"""Hand-worked cases: every case of the semantics table, the seed's worked example, errors, dtypes."""

from pathlib import Path

import numpy as np
import pytest

from poolcli import FILTERS, conv2d, output_shape, parse_filter, pool2d

DATA = Path(__file__).parent / "data"


def square(n, dtype=float):
    return np.arange(1, n * n + 1, dtype=dtype).reshape(n, n)


# (input, kwargs, expected) straight from the semantics table; 4-decimal values compared to 4 decimals
CASES = [
    (square(5), dict(size=2), [[7, 9], [17, 19]]),
    (square(5), dict(size=2, padding="same"), [[7, 9, 10], [17, 19, 20], [22, 24, 25]]),
    (square(5), dict(size=2, padding="same", mode="avg"), [[4, 6, 7.5], [14, 16, 17.5], [21.5, 23.5, 25]]),
    (square(5), dict(size=2, mode="avg", ceil_mode=True), [[4, 6, 7.5], [14, 16, 17.5], [21.5, 23.5, 25]]),
    (np.array([[10.0, 20], [30, 40]]), dict(size=3, stride=2, padding="same", mode="avg"), [[25]]),
    (square(5), dict(size=3, stride=1, padding="same", mode="avg"), None),  # first row checked below
    (square(5), dict(size=4, stride=2, padding="same", mode="avg"), [[7, 8.5, 9.5], [14.5, 16, 17], [19.5, 21, 22]]),
    (square(5), dict(size=4, stride=2, padding="same", mode="max"), [[13, 15, 15], [23, 25, 25], [23, 25, 25]]),
    (square(3), dict(size=3, stride=2, padding=1, mode="avg"), [[1.3333, 1.7778], [2.6667, 3.1111]]),
    (square(3), dict(size=3, stride=2, padding=1, mode="avg", count_pad=False), [[3, 4], [6, 7]]),
    (square(3), dict(size=3, stride=2, padding=1, mode="max"), [[5, 6], [8, 9]]),
    (
        square(4),
        dict(size=3, stride=2, padding=1, mode="avg", ceil_mode=True),
        [[1.5556, 3.3333, 2], [6.3333, 11, 6], [4.5, 7.5, 4]],
    ),
    (
        square(4),
        dict(size=3, stride=2, padding=1, mode="avg", ceil_mode=True, count_pad=False),
        [[3.5, 5, 6], [9.5, 11, 12], [13.5, 15, 16]],
    ),
    (square(4), dict(size=2, mode="sum"), [[14, 22], [46, 54]]),
    (square(4), dict(size=3, stride=3, padding="same"), [[6, 8], [14, 16]]),
    (square(4), dict(size=3, stride=3, ceil_mode=True), [[11, 12], [15, 16]]),
    (square(5), dict(output_size=3, mode="avg"), [[4, 5.5, 7], [11.5, 13, 14.5], [19, 20.5, 22]]),
]


@pytest.mark.parametrize("x, kwargs, expected", [c for c in CASES if c[2] is not None])
def test_semantics_table(x, kwargs, expected):
    got = pool2d(x, **kwargs)
    np.testing.assert_array_equal(np.round(got, 4), np.array(expected, dtype=float))


def test_same_avg_3x3_stride1_first_row():
    assert pool2d(square(5), 3, 1, "same", "avg")[0].tolist() == [4, 4.5, 5.5, 6.5, 7]


def test_same_stride1_keeps_shape_last_rows():
    x = square(4)
    mx = pool2d(x, 2, 1, "same")
    av = pool2d(x, 2, 1, "same", "avg")
    assert mx.shape == av.shape == (4, 4)
    assert mx[-1].tolist() == [14, 15, 16, 16]
    assert av[-1].tolist() == [13.5, 14.5, 15.5, 16]


def test_padding_is_ignored_for_max_of_negatives():
    out = pool2d(-square(5), 2, padding="same")
    assert out[-1, -1] == -25
    assert (out < 0).all()


@pytest.mark.parametrize(
    "n, k, s, p, ceil, expected",
    [(5, 2, 2, 1, True, 3), (6, 1, 2, 0, True, 3), (32, 8, 4, 0, True, 7), (26, 2, 2, 0, False, 13)],
)
def test_output_length(n, k, s, p, ceil, expected):
    assert output_shape((n, n), k, s, p, ceil_mode=ceil) == (expected, expected)


def test_output_shape_keeps_channels_and_matches_pool2d():
    x = np.zeros((7, 9, 3), np.uint8)
    for kwargs in [dict(size=2), dict(size=3, stride=2, padding="same"), dict(size=(2, 3), padding=(1, 1), ceil_mode=True)]:
        assert pool2d(x, **kwargs).shape == output_shape(x.shape, **kwargs)
    assert output_shape((7, 9, 3), output_size="global") == (1, 1, 3)
    assert output_shape((7, 9), output_size=(2, 4)) == (2, 4)


def test_indices_first_in_row_major_order():
    values, idx = pool2d(square(4), 2, return_indices=True)
    assert idx.tolist() == [[5, 7], [13, 15]]
    assert values.tolist() == [[6, 8], [14, 16]]
    ties = np.array([[1, 1, 0], [1, 1, 0]], dtype=np.uint8)
    _, idx = pool2d(ties, 2, 1, return_indices=True)
    assert idx.tolist() == [[0, 1]]


def test_seed_worked_example_every_cell():
    conv = np.loadtxt(DATA / "seven_conv_26x26.txt")
    expected = np.loadtxt(DATA / "seven_maxpool_13x13.txt")
    assert conv.shape == (26, 26) and expected.shape == (13, 13)
    got = pool2d(conv, 2, 2)
    assert got.shape == (13, 13)
    assert np.array_equal(got, expected)


def test_global_pooling_per_channel():
    x = np.stack([square(3), -square(3), np.zeros((3, 3))], axis=2)
    assert pool2d(x, output_size="global").tolist() == [[[9, -1, 0]]]
    assert pool2d(x, output_size="global", mode="avg").tolist() == [[[5, -5, 0]]]


def test_channels_pooled_independently():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    out = pool2d(x, 3, 2, "same", "avg")
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], pool2d(x[:, :, c], 3, 2, "same", "avg"))


@pytest.mark.parametrize("mode", ["max", "min", "avg", "sum"])
def test_nan_in_window_gives_nan(mode):
    x = square(4)
    x[0, 1] = np.nan
    out = pool2d(x, 2, mode=mode)
    assert np.isnan(out[0, 0])
    assert not np.isnan(out[1:, :]).any() and not np.isnan(out[0, 1])


def test_dtypes():
    u8 = np.arange(16, dtype=np.uint8).reshape(4, 4)
    assert pool2d(u8, 2).dtype == np.uint8
    assert pool2d(u8, 2, mode="min").dtype == np.uint8
    assert pool2d(u8, 2, mode="avg").dtype == np.float64
    assert pool2d(u8, 2, mode="sum").dtype == np.float64
    assert pool2d(u8.astype(np.uint16) * 4000, 2).dtype == np.uint16
    assert pool2d(u8.astype(np.float32), 2, mode="avg").dtype == np.float32
    assert pool2d(u8.astype(np.float32), 2, mode="sum").dtype == np.float32


def test_avg_of_8bit_rounded_half_up_equals_pillow_reduce():
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (64, 48), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(x).reduce(2))
    got = np.floor(pool2d(x, 2, mode="avg") + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(got, expected)
    rgb = rng.integers(0, 256, (32, 20, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).reduce(2))
    got = np.floor(pool2d(rgb, 2, mode="avg") + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(got, expected)


def test_sum_of_large_integers_is_exact():
    x = np.full((4, 4), np.iinfo(np.int32).max, dtype=np.int32)
    assert pool2d(x, 4, mode="sum")[0, 0] == 16 * float(np.iinfo(np.int32).max)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(size=3), "pool size 3x3 does not fit the 2x2 input with padding 'valid'; use padding 'same' or a smaller size"),
        (dict(size=0), "pool size must be >= 1, got 0"),
        (dict(size=2, stride=0), "stride must be >= 1, got 0"),
        (dict(size=2, dilation=-1), "dilation must be >= 1, got -1"),
        (dict(size=2, padding=2), "padding 2x2 is more than half the pool window 2x2; use padding <= 1"),
        (dict(mode="median"), "unknown mode 'median'"),
        (dict(mode="avg", return_indices=True), "return_indices applies to max"),
        (dict(size=3, output_size=1), "cannot be combined with size"),
        (dict(padding="same", mode="avg", count_pad=True), "count_pad=True cannot be used with padding 'same'"),
        (dict(padding="full"), "padding must be 'valid', 'same' or an int"),
    ],
)
def test_errors_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError) as err:
        pool2d(np.ones((2, 2)), **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.ones(4), "input must be 2-D (H, W) or 3-D (H, W, C), got 1-D"),
        (np.ones((2, 2, 2, 2)), "got 4-D"),
        (np.ones((0, 3)), "input is empty"),
        (np.array([["a", "b"]]), "integer or float array, got dtype <U1"),
        (np.ones((2, 2), dtype=complex), "got dtype complex128"),
    ],
)
def test_bad_input_arrays(x, message):
    with pytest.raises(ValueError) as err:
        pool2d(x)
    assert message in str(err.value)


# ---------------------------------------------------------------- convolution and filters


def test_conv_is_correlation_not_flipped():
    one = np.zeros((5, 5))
    one[2, 2] = 1
    out = conv2d(one, np.arange(1, 10).reshape(3, 3), padding="same")
    assert out.shape == (5, 5)
    assert out[1:4, 1:4].tolist() == [[9, 8, 7], [6, 5, 4], [3, 2, 1]]


def test_conv_valid_28_to_26_and_dtypes():
    x = np.zeros((28, 28), np.uint8)
    assert conv2d(x, FILTERS["identity"]).shape == (26, 26)
    assert conv2d(x, FILTERS["identity"]).dtype == np.float64
    assert conv2d(x.astype(np.float32), FILTERS["identity"]).dtype == np.float32
    assert conv2d(np.zeros((4, 5, 3)), FILTERS["blur"], "same").shape == (4, 5, 3)


def test_conv_top_edge_hand_worked():
    # bright rows above dark rows: the top-edge filter responds positively on the boundary
    x = np.array([[9, 9, 9], [9, 9, 9], [0, 0, 0], [0, 0, 0]], dtype=float)
    out = conv2d(x, parse_filter("top-edge"))
    assert out.tolist() == [[36.0], [36.0]]
    assert conv2d(x, parse_filter("bottom-edge")).tolist() == [[-36.0], [-36.0]]


def test_conv_same_asymmetric_even_kernel_padding():
    # a 2x2 kernel pads 0 before and 1 after, like Keras 'same'
    x = square(3)
    out = conv2d(x, [[1, 0], [0, 0]], "same")
    np.testing.assert_array_equal(out, x)


def test_filters_match_the_semantics_weights():
    expected = {
        "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "top-edge": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
        "bottom-edge": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "left-edge": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
        "right-edge": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "prewitt-x": [[-1, 0, 1]] * 3,
        "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    }
    for name, weights in expected.items():
        np.testing.assert_array_equal(FILTERS[name], np.array(weights, float), err_msg=name)
    np.testing.assert_allclose(FILTERS["blur"], np.full((3, 3), 1 / 9))
    np.testing.assert_allclose(FILTERS["gaussian"] * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert all(f.shape == (3, 3) and f.dtype == np.float64 for f in FILTERS.values())


def test_filters_are_read_only():
    with pytest.raises(ValueError):
        FILTERS["identity"][1, 1] = 5


def test_parse_filter_inline_names_and_fractions():
    np.testing.assert_array_equal(parse_filter("1,2,1; 0,0,0; -1,-2,-1"), FILTERS["top-edge"])
    np.testing.assert_array_equal(parse_filter("Top_Edge"), FILTERS["top-edge"])
    np.testing.assert_array_equal(parse_filter("sobel-y"), FILTERS["bottom-edge"])
    np.testing.assert_allclose(parse_filter("1/9,1/9,1/9;1/9,1/9,1/9;1/9,1/9,1/9"), FILTERS["blur"])
    assert parse_filter("1 2; 3 4").tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("sharpn", "unknown filter 'sharpn'; did you mean 'sharpen'? known filters: identity, top-edge"),
        ("1,2;3", "is not a rectangle: rows have 2, 1 weights"),
        ("1,x,3;1,2,3", "filter weight 'x' (row 1, column 2) is not a number"),
        ("", "filter is empty"),
    ],
)
def test_parse_filter_errors(text, message):
    with pytest.raises(ValueError) as err:
        parse_filter(text)
    assert message in str(err.value)


def test_kernel_must_be_2d():
    with pytest.raises(ValueError, match="kernel must be a non-empty 2-D array"):
        conv2d(np.ones((4, 4)), np.ones(3))


def test_window_of_only_padding_is_refused():
    # 2x2 input, k=2, dilation 3, padding 1: the first window's cells are -1 and 2, both outside the input
    with pytest.raises(ValueError) as err:
        pool2d(np.ones((2, 2), np.uint8), 2, 1, 1, dilation=3)
    assert "window 0 along rows holds only padding cells of the 2x2 input" in str(err.value)


def test_indices_never_point_into_padding():
    # the real cell ties with the padding value (0 for uint8 max): it must still be chosen
    _, idx = pool2d(np.zeros((1, 1), np.uint8), (1, 2), padding=(0, 1), return_indices=True)
    assert idx.tolist() == [[0]]
    _, idx = pool2d(np.array([[0, 0, 1], [1, 0, 0]]), output_size=1, return_indices=True)
    assert idx.tolist() == [[2]]
