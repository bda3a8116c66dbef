"""The fast text paths against the precise ones (issue 14, target 4).

Reading: whatever the fast reader accepts gives the float64 values float() gives, bit for bit; whatever it
does not, the precise path (the reader as it was) answers, with the same values, notes and errors. Writing:
the text is byte for byte what the value-by-value writer (kept below as the reference) writes.
"""

from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from poolcli import io
from poolcli.formats import textfast, textwrite


@contextmanager
def precise_only():
    with mock.patch.object(textfast, "parse_fast", lambda *args: None):
        yield


def outcome(data: bytes, **kw):
    """The matrix's bits, shape and notes, or the error message."""
    try:
        arr, notes = io.parse_matrix(data, "m.csv", **kw)
    except io.InputError as exc:
        return "error", str(exc)
    return arr.shape, arr.view(np.uint64).tobytes(), notes


def same_as_precise(data: bytes, **kw):
    fast = outcome(data, **kw)
    with precise_only():
        slow = outcome(data, **kw)
    assert fast == slow
    return fast


def fast_values(data: bytes, width: int) -> np.ndarray:
    """The fast reader's values for whole lines, with no fallback to the precise path."""
    values = textfast._parse_lines(data, 0, len(data), ord(","), width)
    assert values is not None, data[:200]
    return values


def bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


# --------------------------------------------------------------------------- reading: every cell as float() reads it


def _random_doubles(rng, n):
    """Bit patterns at random (every exponent) and values of everyday sizes."""
    patterns = rng.integers(0, 1 << 63, n, dtype=np.int64).view(np.float64)
    everyday = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 7, n)
    x = np.concatenate([patterns, everyday])
    return x[np.isfinite(x)]


@pytest.mark.parametrize("spelling", ["{!r}", "{:.17g}", "{:.16g}", "{:.15g}", "{:.18e}", "{:.20e}", "{:.9g}", "{:.25f}", "{:.3e}"])
def test_every_cell_reads_as_float_reads_it(spelling):
    rng = np.random.default_rng(sum(map(ord, spelling)))
    cells = [spelling.format(v) for v in _random_doubles(rng, 30_000).tolist()]
    cells += ["-" + c if not c.startswith("-") else c[1:] for c in cells[:5000]]
    cells = cells[: len(cells) // 10 * 10]
    data = "\n".join(",".join(cells[i:i + 10]) for i in range(0, len(cells), 10)).encode()
    expected = [float(c) for c in cells]
    assert np.array_equal(bits(fast_values(data + b"\n", 10)), bits(expected))


def _halfway_cells(rng):
    """Decimals exactly halfway between two doubles, and their neighbours: where rounding twice goes wrong."""
    cells = []
    for places in range(0, 5):  # odd / 2**t with a 54-bit odd has t decimal places and at most 19 digits
        for odd in (rng.integers(1 << 52, 1 << 53, 300, dtype=np.int64) * 2 + 1).tolist():
            exact = Decimal(odd) / Decimal(2 ** (places + 1))
            cells += [str(exact), str(exact + Decimal(1) / 10 ** (places + 1)), str(exact - Decimal(1) / 10 ** (places + 1))]
    for odd in (rng.integers(1 << 52, 1 << 53, 300, dtype=np.int64) * 2 + 1).tolist():
        cells += [f"{odd * 2}", f"{odd * 2}e0", f"{odd}0e-1", f"{odd * 4}", f"-{odd * 2}"]
    return cells


def test_halfway_decimals_round_to_even_as_float_does():
    cells = _halfway_cells(np.random.default_rng(5))
    cells = cells[: len(cells) // 4 * 4]
    data = "\n".join(",".join(cells[i:i + 4]) for i in range(0, len(cells), 4)).encode() + b"\n"
    assert np.array_equal(bits(fast_values(data, 4)), bits([float(c) for c in cells]))


def test_without_extended_precision_the_same_values(monkeypatch):
    monkeypatch.setattr(textfast, "EXTENDED", False)
    cells = [repr(v) for v in _random_doubles(np.random.default_rng(3), 2000).tolist()] + _halfway_cells(np.random.default_rng(4))[:600]
    cells = cells[: len(cells) // 4 * 4]
    data = "\n".join(",".join(cells[i:i + 4]) for i in range(0, len(cells), 4)).encode() + b"\n"
    assert np.array_equal(bits(fast_values(data, 4)), bits([float(c) for c in cells]))


_DIGITS = st.text("0123456789", min_size=0, max_size=24)
_NUMBERS = st.builds(
    lambda sign, whole, point, frac, e, esign, exp: sign + whole + point + frac + (e + esign + exp if e else ""),
    st.sampled_from(["", "-", "+"]), _DIGITS, st.sampled_from(["", "."]), _DIGITS,
    st.sampled_from(["", "e", "E"]), st.sampled_from(["", "-", "+"]), st.text("0123456789", max_size=4),
)
_CELLS = _NUMBERS | st.sampled_from(["nan", "-inf", "Infinity", "1_000", "1e999", "-1e-999", "0x10", "", " 1", "1 ", '"2"', "١", "1.2.3", "e5", "."])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_CELLS, min_size=3, max_size=3), min_size=1, max_size=6), st.sampled_from([",", ";", "\t", " "]),
       st.sampled_from(["\n", "\r\n"]))
def test_any_cells_give_what_the_precise_reader_gives(rows, delim, newline):
    data = newline.join(delim.join(r) for r in rows).encode()
    same_as_precise(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_NUMBERS.filter(lambda c: any(ch.isdigit() for ch in c.split("e")[0].split("E")[0])), min_size=4, max_size=4), min_size=1, max_size=8))
def test_numbers_are_read_exactly(rows):
    rows = [["1"] * 4] + rows  # a first row of numbers: no header
    data = "\n".join(",".join(r) for r in rows).encode()
    result = same_as_precise(data)
    try:
        expected = [float(c) for r in rows for c in r]
    except ValueError:
        assert result[0] == "error"
        return
    if result[0] != "error":
        assert result[1] == bits(expected).tobytes()


# --------------------------------------------------------------------------- reading: the layout


@pytest.mark.parametrize("text", [
    "1,2,3\n4,5,6\n", "1,2,3\n4,5,6", "1,2,3\r\n4,5,6\r\n", "\ufeff1,2,3\n4,5,6\n", "1;2;3\n4;5;6\n", "1\t2\t3\n4\t5\t6\n",
    "1 2 3\n4 5 6\n", "1  2 3\n4 5 6\n", " 1 2 3\n4 5 6\n", "1 2 3 \n4 5 6\n", "# made by hand\n\n1,2,3\n4,5,6\n\n\n",
    "a,b,c\n1,2,3\n4,5,6\n", "a,b,c\n\n1,2,3\n", "a,b,c\n# note\n1,2,3\n", "a,b,c\n", "x\ny\n", "", "# only\n", "\n\n",
    "1,2,3\n\n4,5,6\n", "1,2,3\n# c\n4,5,6\n", "1,2,3\r4,5,6\r", "1,2,3\n4,5\n", "1,2\n3,4,5\n", "1,2,\n3,4,5\n",
    "1,,3\n4,5,6\n", "1,2,3\n4,5,6\n7,8,x\n", "1,2\x0c3\n", "1,2\n3\x854\n", "1,2\u20283\n", "1, 2, 3\n4, 5, 6\n",
    '"1","2"\n"3","4"\n', "1,2\n3,1e999\n", "1,-1e999\n3,abc\n", "nan,inf\n-inf,NaN\n", "1,2\n3,4\x00\n", "\t1\t2\n",
    "1e5,2E-3\n-1.5e+300,3e1e2\n", "1e,2\n", "1.e5,.5\n-.5e-5,+5.\n", "1\n2\n3\n", "42", "1,2\n3,4\n\n\n  \n",
    "0\tnan\t", "1,2,3\n4,5,6\t\n", "1 2\n3 4 \n", "1,2\n3,4\n  ", "1e5,2e5\n3e5,4\n", "1e5,2e5\n3e5,4e5e\n",
])
def test_layouts_read_as_the_precise_reader_reads_them(text):
    same_as_precise(text.encode())


def test_not_utf8_and_utf16_go_the_precise_way():
    for data in (b"1,2\n3,\xff\n", b"\xff\xfe" + "1,2\n3,4\n".encode("utf-16-le"), "é,2\n1,2\n".encode()):
        same_as_precise(data)


def test_the_cell_limit_is_the_same():
    for limit in (5, 6, 100):
        same_as_precise(b"1,2,3\n4,5,6\n", max_cells=limit)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 9), st.integers(0, 2**32 - 1), st.sampled_from([",", " ", "\t"]))
def test_bands_cut_anywhere_give_the_whole(rows, width, seed, delim):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, width)) * 10.0 ** rng.integers(-8, 8, (rows, width))
    text = io.format_matrix(x, delimiter=delim).encode()
    with mock.patch.object(textfast, "_BAND", int(rng.integers(1, 200))):
        arr, _ = io.parse_matrix(text, "m")
    assert np.array_equal(bits(arr), bits(x))


def test_any_run_of_whole_lines_parses_alone():
    """What a reader streaming a band at a time would do: the lines of each band, on their own."""
    x = np.random.default_rng(7).random((50, 6))
    text = io.format_matrix(x).encode()
    cuts = [0] + [i + 1 for i in range(len(text)) if text[i:i + 1] == b"\n"][4::5]
    parts = [textfast._parse_lines(text, a, b, ord(","), 6) for a, b in zip(cuts, cuts[1:])]
    assert np.array_equal(bits(np.concatenate(parts)), bits(x.ravel()))


def test_a_cell_past_the_fast_readers_reach_is_read_by_float():
    long = "0." + "1" * 40
    data = f"{long},1e-320,1e300,-0\n".encode()
    assert np.array_equal(bits(fast_values(data, 4)), bits([float(long), 1e-320, 1e300, -0.0]))


# --------------------------------------------------------------------------- writing: byte for byte as value by value


def reference_cell(v, dtype: np.dtype) -> str:
    """The obviously correct cell: an integer as such, else the shortest form in the value's own type, as repr spells it."""
    if dtype.kind in "biu":
        return str(int(v))
    f = float(v)
    if f != f:
        return "nan"
    if f in (np.inf, -np.inf):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return str(int(f))  # -0.0 too: "0"
    if dtype == np.float32:
        return repr(float(str(np.float32(v))))  # numpy's shortest float32 decimal, spelled as repr spells it
    return repr(f)


def reference(arr: np.ndarray, delimiter: str = ",") -> str:
    cells = [[reference_cell(v, arr.dtype) for v in row] for row in arr]
    return "".join(delimiter.join(row) + "\n" for row in cells)


def _float_families(rng, n):
    """Bit patterns at random, everyday values, short decimals, powers of two, and values whose 16-digit
    rounding is a tie (odd / 2**t with 17 significant digits)."""
    with np.errstate(all="ignore"):
        return {
            "bits": rng.integers(0, 1 << 64, n, dtype=np.uint64).view(np.float64),
            "everyday": rng.standard_normal(n) * 10.0 ** rng.integers(-20, 21, n),
            "uniform": rng.random(n),
            "short": np.round(rng.random(n) * 10.0 ** rng.integers(0, 8, n)) / 10.0 ** rng.integers(0, 8, n),
            "powers of two": 2.0 ** rng.integers(-1074, 1024, n).astype(float) * rng.choice([-1, 1], n),
            "ties": (rng.integers(0, 1 << 20, n) * 2 + 1) / 2.0 ** rng.integers(17, 22, n),
            "near 1e16": 1e16 + rng.integers(-2000, 2000, n) * rng.choice([0.5, 1, 2], n),
            "tiny": rng.random(n) * 10.0 ** rng.integers(-320, -290, n),
            "huge": rng.random(n) * 10.0 ** rng.integers(290, 308, n),
        }


@pytest.mark.parametrize("family", list(_float_families(np.random.default_rng(0), 1)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_floats_are_written_as_value_by_value(family, dtype):
    with np.errstate(all="ignore"):
        x = _float_families(np.random.default_rng(len(family)), 20_000)[family].astype(dtype)
    if dtype == np.float32 and family == "bits":
        x = np.random.default_rng(1).integers(0, 1 << 32, 20_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    arr = x.reshape(200, 100)
    assert io.format_matrix(arr) == reference(arr)


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"])
def test_integers_are_written_as_value_by_value(dtype):
    dt = np.dtype(dtype)
    rng = np.random.default_rng(dt.itemsize)
    if dt.kind == "b":
        arr = rng.integers(0, 2, (50, 40)).astype(bool)
    else:
        info = np.iinfo(dt)
        arr = rng.integers(info.min, info.max, (50, 40), dtype=dt, endpoint=True)
        arr[0, :4] = [info.min, info.max, 0, info.max - 1]
    assert io.format_matrix(arr) == reference(arr)


def test_without_extended_precision_the_same_text(monkeypatch):
    monkeypatch.setattr(textfast, "EXTENDED", False)
    for x in _float_families(np.random.default_rng(9), 500).values():
        arr = x.reshape(20, 25)
        assert io.format_matrix(arr) == reference(arr)


_DELIMITERS = st.sampled_from([",", "\t", " ", ";", "|", " ; ", " | ", "  ", "\t|\t"])  # every kind the reader splits on


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["f8", "f4", "i8", "u2", "i1"]).flatmap(
        lambda code: st.tuples(
            st.just(np.dtype(code)),
            st.lists(
                st.floats(width=64 if code == "f8" else 32, allow_nan=True, allow_infinity=True, allow_subnormal=True)
                | st.sampled_from([0.0, -0.0, 0.1, 1e16, -1e-4, 1e-5, 123456789.0])
                if code[0] == "f" else st.integers(int(np.iinfo(code).min), int(np.iinfo(code).max)),
                min_size=1, max_size=40,
            ),
        )
    ),
    st.integers(1, 7),
    _DELIMITERS,
)
def test_any_values_are_written_as_value_by_value(dtype_values, width, delimiter):
    dtype, values = dtype_values
    values = values * width
    with np.errstate(all="ignore"):
        arr = np.array(values[: len(values) // width * width], dtype=dtype).reshape(-1, width)
    assert io.format_matrix(arr, delimiter=delimiter) == reference(arr, delimiter)


def test_bands_views_and_orders_change_nothing(monkeypatch):
    x = np.random.default_rng(2).standard_normal((37, 23)) * 10.0 ** np.random.default_rng(3).integers(-6, 20, (37, 23))
    x[::5, ::3] = np.round(x[::5, ::3])
    x[1, 1], x[2, 2], x[3, 3] = np.nan, -np.inf, -0.0
    expected = reference(x)
    for cells in (1, 7, 23, 1000):
        monkeypatch.setattr(textwrite, "_CELLS", cells)
        assert io.format_matrix(x) == expected
        assert io.format_matrix(np.asfortranarray(x)) == expected
        assert io.format_matrix(x.T.copy().T) == expected
        assert io.format_matrix(x[::2, ::-3]) == reference(x[::2, ::-3])


def test_signalling_nan_and_extremes():
    snan = np.array([0x7FF0000000000001, 0xFFF8000000000001], dtype=np.uint64).view(np.float64)
    arr = np.array([[snan[0], snan[1], np.finfo(np.float64).max, np.finfo(np.float64).tiny],
                    [5e-324, -5e-324, np.nextafter(1e16, 0), 1e16]])
    assert io.format_matrix(arr) == "nan,nan,1.7976931348623157e+308,2.2250738585072014e-308\n5e-324,-5e-324,9999999999999998,1e+16\n"
    f32 = np.array([[np.finfo(np.float32).max, np.finfo(np.float32).tiny, 1e-45, 0.1]], np.float32)
    assert io.format_matrix(f32) == "3.4028235e+38,1.1754944e-38,1e-45,0.1\n"


def test_powers_of_ten_are_exact_then_correctly_rounded():
    from fractions import Fraction

    for dtype, exact_up_to in ((np.float64, 22), (np.longdouble, 27)):
        if dtype == np.longdouble and not textfast.EXTENDED:
            continue
        table = textfast.powers_of_ten(dtype)
        for k, p in enumerate(table.tolist() if dtype == np.float64 else table):
            mantissa, exponent = np.frexp(dtype(p))
            bits = 53 if dtype == np.float64 else 64
            value = Fraction(int(np.ldexp(mantissa, bits))) * Fraction(2) ** (int(exponent) - bits)
            ulp = Fraction(2) ** (int(exponent) - bits)
            assert abs(value - 10**k) <= ulp / 2, k
            assert (value == 10**k) == (k <= exact_up_to), k
