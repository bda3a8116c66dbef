"""The vectorised text paths pinned against Python itself (issue 14, target 4).

Reading: every cell the fast reader takes is the float64 ``float()`` gives, bit for bit, whatever its spelling
(every exponent, subnormals, 17 and more digits, integers past 2**53, -0, the nan and inf words). Writing:
every cell is ``repr``'s shortest round-trip form of the value in its own type (an integral value as an
integer), reads back to the same value, and is never ``-0``.
"""

import struct

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from poolcli import io
from poolcli.formats import textfast

SETTINGS = settings(max_examples=300, deadline=None)


def bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def as_text(cells, width: int) -> bytes:
    cells = cells[: len(cells) // width * width]
    return "".join(",".join(cells[i : i + width]) + "\n" for i in range(0, len(cells), width)).encode()


def fast_read(data: bytes, width: int) -> np.ndarray:
    """The fast reader alone, no precise path behind it."""
    values = textfast._parse_lines(data, 0, len(data), ord(","), width)
    assert values is not None, data[:200]
    return values


# --------------------------------------------------------------------------- reading

#: Any double, by its bits: every exponent, subnormals, both signs, 17-digit values
DOUBLES = st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0]).filter(
    lambda v: v == v and abs(v) != float("inf")
) | st.floats(allow_nan=False, allow_infinity=False)

SPELLINGS = st.sampled_from(["{!r}", "{:.17g}", "{:.16g}", "{:.15g}", "{:.17e}", "{:.17E}", "{:.20e}", "{:.3g}", "{:.30f}"])


@SETTINGS
@given(st.lists(st.tuples(DOUBLES, SPELLINGS), min_size=1, max_size=60), st.integers(1, 6))
def test_any_double_in_any_spelling_reads_as_float_reads_it(pairs, width):
    cells = [spelling.format(v) for v, spelling in pairs] * width
    cells = [c for c in cells if abs(float(c)) != float("inf")]  # %.15g of the largest double: beyond the range
    if len(cells) < width:
        return
    data = as_text(cells, width)
    expected = [float(c) for c in cells[: len(cells) // width * width]]
    assert np.array_equal(bits(fast_read(data, width)), bits(expected))
    assert np.array_equal(bits(io.parse_matrix(data, "m.csv")[0].ravel()), bits(expected))


#: Decimals built digit by digit: up to 25 digits, a point anywhere, an exponent or none, signs and leading zeros
DECIMALS = st.builds(
    lambda sign, digits, point, e, zeros: sign + "0" * zeros + digits[:point] + "." + digits[point:] + e
    if point is not None
    else sign + "0" * zeros + digits + e,
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", min_size=1, max_size=25),
    st.none() | st.integers(0, 25),
    st.sampled_from([""]) | st.integers(-400, 400).map(lambda e: f"e{e}") | st.integers(-30, 30).map(lambda e: f"E+{e}" if e >= 0 else f"E{e}"),
    st.integers(0, 3),
)


@SETTINGS
@given(st.lists(DECIMALS, min_size=1, max_size=40), st.integers(1, 4))
def test_any_decimal_reads_as_float_reads_it(cells, width):
    cells = [c for c in cells * width if abs(float(c)) != float("inf")]
    if len(cells) < width:
        return
    data = as_text(cells, width)
    expected = [float(c) for c in cells[: len(cells) // width * width]]
    assert np.array_equal(bits(fast_read(data, width)), bits(expected))


@SETTINGS
@given(st.lists(st.integers(-(10**30), 10**30) | st.integers(2**53 - 9, 2**64 + 9), min_size=1, max_size=50))
def test_integers_past_2_53_read_as_float_reads_them(numbers):
    cells = [str(n) for n in numbers]
    assert np.array_equal(bits(fast_read(as_text(cells, 1), 1)), bits([float(c) for c in cells]))


@SETTINGS
@given(DOUBLES.filter(lambda v: v != 0))
def test_halfway_points_and_their_neighbours_round_as_float_does(v):
    """The exact decimal halfway between a double and the next, one unit of its last digit either side."""
    from decimal import Decimal, getcontext

    getcontext().prec = 1200
    with np.errstate(over="ignore"):
        up = np.nextafter(v, np.inf)
    if not np.isfinite(up):
        return
    mid = (Decimal(v) + Decimal(float(up))) / 2
    text = format(mid, "f") if abs(v) > 1e-5 and abs(v) < 1e20 else format(mid, "e")
    cells = [text]
    last = Decimal(1).scaleb(mid.adjusted() - len(mid.as_tuple().digits) + 1)
    cells += [format(mid - last, "e"), format(mid + last, "e")]
    cells = [c for c in cells if abs(float(c)) != float("inf")]
    data = as_text(cells, 1)
    assert np.array_equal(bits(fast_read(data, 1)), bits([float(c) for c in cells]))


def test_negative_zero_in_every_spelling():
    cells = ["-0", "-0.0", "-0e10", "-0.000e-5", "-00", "-0E0", "-.0", "-0.", "0", "+0.0"]
    assert bits(fast_read(as_text(cells, 5), 5)).tolist() == bits([float(c) for c in cells]).tolist()


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["nan", "NaN", "NAN", "-nan", "+nan", "inf", "-inf", "+inf", "Inf", "INF", "infinity"])
        | st.sampled_from(["Infinity", "-Infinity", "+INFINITY", "iNfInItY"])
        | DOUBLES.map(repr),
        min_size=2,
        max_size=30,
    )
)
def test_nan_and_inf_words_read_as_float_reads_them(cells):
    cells = cells[: len(cells) // 2 * 2]
    data = as_text(cells, 2)
    expected = np.array([float(c) for c in cells])
    for got in (fast_read(data, 2), io.parse_matrix(data, "m.csv")[0].ravel()):
        nan = np.isnan(expected)
        assert np.array_equal(np.isnan(got), nan)
        assert np.array_equal(bits(got[~nan]), bits(expected[~nan]))


@pytest.mark.parametrize("cell", ["1e999", "-1e400", "1" * 400])
def test_beyond_the_range_is_an_error_not_infinity(cell):
    with pytest.raises(io.InputError, match="beyond the float64 range"):
        io.parse_matrix(f"1,{cell}\n2,3\n".encode(), "m.csv")


# --------------------------------------------------------------------------- writing


def expected_cell(v, dtype) -> str:
    """repr's shortest round-trip form in the value's own type; an integral value as an integer; never -0."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return str(int(v))
    f = float(v)
    if f != f:
        return "nan"
    if abs(f) == float("inf"):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return str(int(f))
    if dtype != np.float64:
        return repr(float(str(dtype.type(v))))  # numpy's shortest decimal in float32 / float16
    return repr(f)


def written(arr: np.ndarray):
    return [line.split(",") for line in io.format_matrix(arr).splitlines()]


@SETTINGS
@given(
    st.sampled_from([np.float64, np.float32, np.float16]).flatmap(
        lambda t: st.tuples(
            st.just(t),
            st.lists(
                st.floats(width=np.finfo(t).bits, allow_subnormal=True)
                | st.integers(0, 2 ** np.finfo(t).bits - 1).map(
                    lambda b, t=t: np.array(b, dtype=f"u{np.finfo(t).bits // 8}").view(t).item()
                )
                | st.sampled_from([-0.0, 2.0**53 + 2, 2.0**60, 9999999999999998.0, 1e16, 1e-4, 1e-5, 0.1]),
                min_size=1,
                max_size=60,
            ),
        )
    ),
    st.integers(1, 6),
)
def test_every_float_is_written_in_its_shortest_round_trip_form(typed, width):
    dtype, values = typed
    values = values * width
    with np.errstate(all="ignore"):
        arr = np.array(values, dtype=dtype).reshape(-1, width)
    cells = written(arr)
    for row, out in zip(arr, cells):
        for v, c in zip(row, out):
            assert c == expected_cell(v, dtype)
            assert not (c.startswith("-") and float(c) == 0)
            if np.isfinite(v):
                assert dtype(float(c)) == v  # reads back, in its own type


@SETTINGS
@given(st.lists(DOUBLES, min_size=1, max_size=80))
def test_written_doubles_read_back_bit_for_bit(values):
    arr = np.array(values).reshape(-1, 1) + 0.0  # -0 is written as 0
    back, _ = io.parse_matrix(io.format_matrix(arr).encode(), "m.csv")
    assert np.array_equal(bits(back), bits(arr))


@SETTINGS
@given(
    st.sampled_from(["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"]).flatmap(
        lambda code: st.tuples(
            st.just(code), st.lists(st.integers(int(np.iinfo(code).min), int(np.iinfo(code).max)), min_size=1, max_size=60)
        )
    )
)
def test_integers_are_written_exactly(typed):
    code, values = typed
    arr = np.array(values, dtype=code).reshape(-1, 1)
    assert [c for (c,) in written(arr)] == [str(v) for v in values]


def test_a_pooled_image_round_trips_as_integers():
    img = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8).reshape(32, 2, 32, 2).max(axis=(1, 3))
    text = io.format_matrix(img)
    assert "." not in text
    back, _ = io.parse_matrix(text.encode(), "m.csv")
    assert np.array_equal(back, img.astype(np.float64))
