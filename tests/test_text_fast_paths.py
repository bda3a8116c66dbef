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

from poolcli import io, textmatrix


@contextmanager
def precise_only():
    with mock.patch.object(textmatrix, "_parse_fast", lambda *args: None):
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
    values = textmatrix._parse_lines(data, 0, len(data), ord(","), width)
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
    monkeypatch.setattr(textmatrix, "_EXTENDED", False)
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
    with mock.patch.object(textmatrix, "_BAND", int(rng.integers(1, 200))):
        arr, _ = io.parse_matrix(text, "m")
    assert np.array_equal(bits(arr), bits(x))


def test_any_run_of_whole_lines_parses_alone():
    """What a reader streaming a band at a time would do: the lines of each band, on their own."""
    x = np.random.default_rng(7).random((50, 6))
    text = io.format_matrix(x).encode()
    cuts = [0] + [i + 1 for i in range(len(text)) if text[i:i + 1] == b"\n"][4::5]
    parts = [textmatrix._parse_lines(text, a, b, ord(","), 6) for a, b in zip(cuts, cuts[1:])]
    assert np.array_equal(bits(np.concatenate(parts)), bits(x.ravel()))


def test_a_cell_past_the_fast_readers_reach_is_read_by_float():
    long = "0." + "1" * 40
    data = f"{long},1e-320,1e300,-0\n".encode()
    assert np.array_equal(bits(fast_values(data, 4)), bits([float(long), 1e-320, 1e300, -0.0]))
