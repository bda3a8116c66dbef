"""Fidelity of NPY loading, text output, the views and writes (issue 10, points 1, 9, 10, 11, 12 and -0).

Every dtype and byte order an NPY file can hold loads as its native-order numbers or is refused by name; text
is each value's shortest round-trip form in its own type, never -0; the delimiter cannot be part of a number;
views show every non-zero value as non-zero in bounded width; -o writes through symlinks and names the file
on every write error.
"""

import errno
import os
import re
import stat
import subprocess
import sys
import threading
import warnings
from decimal import Decimal

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from poolcli import io, pool2d
from poolcli.formats import files
from poolcli.cli import main
from poolcli.render import format_cells, view_format


def run(args, **kw):
    return CliRunner().invoke(main, args, env={"COLUMNS": "80", "NO_COLOR": "1"}, **kw)


# --------------------------------------------------------------------------- NPY: every dtype, every byte order

DTYPES = ["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]
ORDERS = ["<", ">", "="]


def _values(code: str) -> np.ndarray:
    """A 4x6 matrix that uses each type's extremes, so a byte left unswapped shows."""
    dt = np.dtype(code)
    if dt.kind == "b":
        return (np.arange(24).reshape(4, 6) % 3 == 0)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        base = np.array([info.min, info.max, 0, 1, info.max - 1, info.min + 1], dtype=object)
        return np.array([np.roll(base, r).tolist() for r in range(4)], dtype=dt)
    info = np.finfo(dt)
    base = [info.max, -info.max, info.smallest_subnormal, -0.0, 0.1, float(info.tiny)]
    rows = [np.roll(np.array(base, dtype=dt), r) for r in range(4)]
    rows[3][0] = np.nan
    return np.array(rows, dtype=dt)


def _native(code: str) -> np.ndarray:
    arr = _values(code)
    return arr.astype(np.uint8) if arr.dtype.kind == "b" else arr.astype(arr.dtype.newbyteorder("="))


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("code", DTYPES)
def test_every_dtype_and_byte_order_pools_as_its_native_equivalent(tmp_path, code, order):
    dt = np.dtype(code).newbyteorder(order) if np.dtype(code).itemsize > 1 else np.dtype(code)
    np.save(tmp_path / "x.npy", _values(code).astype(dt))
    native = _native(code)
    loaded = io.read_input(str(tmp_path / "x.npy")).array
    assert loaded.dtype.isnative and loaded.dtype == native.dtype
    assert np.array_equal(loaded, native, equal_nan=True)
    for mode in ("max", "avg"):
        expected = pool2d(native, 2, mode=mode)
        result = run(["pool", str(tmp_path / "x.npy"), "-m", mode, "-o", str(tmp_path / "out.npy")])
        assert result.exit_code == 0, result.output
        # byte order changes no value: nothing to say (but 64-bit extremes averaged in float64 are rounded)
        rounded = mode == "avg" and code in ("i8", "u8")
        assert ("64-bit integers beyond 2**53 go through float64" in result.stderr) == rounded
        assert len(result.stderr.splitlines()) == rounded
        got = np.load(tmp_path / "out.npy")
        assert got.dtype == expected.dtype and got.dtype.isnative
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(expected))  # NPY keeps exact bits, -0.0 included
        csv = run(["pool", str(tmp_path / "x.npy"), "-m", mode])
        assert csv.exit_code == 0, csv.output
        assert csv.stdout == io.format_matrix(expected)


def test_the_issues_big_endian_example():
    import io as stdio

    buf = stdio.BytesIO()
    np.save(buf, np.arange(16, dtype=">f8").reshape(4, 4))
    result = run(["pool", "-"], input=buf.getvalue())
    assert result.exit_code == 0, result.output
    assert result.stdout == "5,7\n13,15\n"


def test_big_endian_fortran_order_and_bool_values(tmp_path):
    x = np.asfortranarray(np.arange(20, dtype=">i4").reshape(4, 5) * -7)
    np.save(tmp_path / "f.npy", x)
    got = io.read_input(str(tmp_path / "f.npy")).array
    assert got.dtype == np.int32 and got.tolist() == (np.arange(20).reshape(4, 5) * -7).tolist()
    np.save(tmp_path / "b.npy", np.array([[True, False], [False, False]]))
    assert run(["pool", str(tmp_path / "b.npy"), "-m", "avg"]).stdout == "0.25\n"


def _header_npy(descr: str, shape, payload: bytes) -> bytes:
    """An NPY file written by hand (another tool's writer), not by np.save."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, tuple(shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + payload


def test_hand_written_big_endian_npy_from_another_writer():
    import struct

    values = [1.5, -2.0, 3.25, 1e300]
    data = _header_npy(">f8", (2, 2), struct.pack(">4d", *values))
    result = run(["pool", "-", "-k", "1"], input=data)
    assert result.exit_code == 0, result.output
    assert result.stdout == "1.5,-2\n3.25,1e+300\n"
    data16 = _header_npy(">u2", (1, 3), struct.pack(">3H", 1, 256, 65535))
    assert run(["pool", "-", "-k", "1"], input=data16).stdout == "1,256,65535\n"


REFUSED = [
    (np.zeros((2, 2), np.complex64), "NPY dtype complex64 (complex) is not supported"),
    (np.zeros((2, 2), ">c16"), "NPY dtype complex128 (complex) is not supported"),
    (np.zeros((2, 2), "datetime64[s]"), "NPY dtype datetime64[s] (datetime) is not supported"),
    (np.zeros((2, 2), "timedelta64[ms]"), "NPY dtype timedelta64[ms] (timedelta) is not supported"),
    (np.zeros((2, 2), "U3"), "NPY dtype <U3 (text) is not supported"),
    (np.zeros((2, 2), "S2"), "NPY dtype |S2 (bytes) is not supported"),
    (np.zeros((2, 2), "V4"), "NPY dtype |V4 (raw bytes (void)) is not supported"),
    (np.zeros((2, 2), [("x", "<i4"), ("y", ">f8")]), "NPY dtype is a structured record (fields x, y), not supported"),
]
if np.dtype(np.longdouble).itemsize > 8:
    REFUSED.append((np.zeros((2, 2), np.longdouble), f"NPY dtype {np.dtype(np.longdouble).name} (extended precision) is not supported"))


@pytest.mark.parametrize("arr, message", REFUSED, ids=[str(a.dtype) for a, _ in REFUSED])
def test_types_that_hold_no_plain_numbers_are_refused_by_name(tmp_path, arr, message):
    np.save(tmp_path / "a.npy", arr)
    result = run(["pool", str(tmp_path / "a.npy"), "-o", str(tmp_path / "out.npy")])
    assert result.exit_code == 1
    assert result.stderr == f"poolcli: error: {tmp_path / 'a.npy'}: {message}; poolcli reads bool, integer and float arrays" + (
        "; convert it to float64 first" if "extended" in message else "") + "\n"
    assert sorted(os.listdir(tmp_path)) == ["a.npy"]


# --------------------------------------------------------------------------- text: shortest form in the own dtype


def test_float32_and_float16_are_written_in_their_own_shortest_form():
    f32 = np.array([[0.1, 1.5, 3.0, -0.0], [123456789.0, 1e-45, 3.4028235e38, 1e-5]], np.float32)
    assert io.format_matrix(f32) == "0.1,1.5,3,0\n123456792,1e-45,3.4028235e+38,1e-05\n"
    f16 = np.array([[0.1, 65504, 6e-8, np.nan], [np.inf, -np.inf, -0.0, 0.333]], np.float16)
    assert io.format_matrix(f16) == "0.1,65504,6e-08,nan\ninf,-inf,0,0.333\n"
    assert io.format_matrix(np.array([[0.1, 0.2]], np.float32)) == "0.1,0.2\n"  # the no-integer path
    assert io.format_matrix(np.array([[0.1]], np.float32).astype(np.float64)) == "0.10000000149011612\n"  # float64 as is


def test_never_minus_zero_in_text_with_or_without_precision():
    x = np.array([[-0.0, 0.0, -1e-300, -0.0004], [-0.0005, -0.0006, 2.5, -np.inf]])
    assert io.format_matrix(x) == "0,0,-1e-300,-0.0004\n-0.0005,-0.0006,2.5,-inf\n"
    # %.3f rounds the binary value: -0.0005 is just beyond -0.0005, so it keeps its sign and digit
    assert io.format_matrix(x, precision=3) == "0.000,0.000,0.000,0.000\n-0.001,-0.001,2.500,-inf\n"
    assert io.format_matrix(np.array([[1 / 3, 2.0]]), precision=3) == "0.333,2.000\n"  # precision as before


def test_engine_minus_zero_is_0_in_csv_and_kept_in_npy(tmp_path):
    np.save(tmp_path / "z.npy", np.array([[-0.0, -0.0], [-0.0, -0.0]]))
    assert run(["pool", str(tmp_path / "z.npy")]).stdout == "0\n"
    run(["pool", str(tmp_path / "z.npy"), "-o", str(tmp_path / "o.npy")])
    assert np.signbit(np.load(tmp_path / "o.npy")).all()
    edge = run(["pool", "-", "-k", "1", "-c", "0,0,0;0,0,0;0,0,-1"], input="0,0,0\n0,0,0\n0,0,0\n")
    assert edge.exit_code == 0, edge.output
    assert edge.stdout == "0\n"  # 0 * -1 is -0.0 in the engine


def test_float32_npy_to_csv_through_the_cli(tmp_path):
    np.save(tmp_path / "x.npy", np.array([[0.1, 0.7], [0.3, 0.2]], np.float32))
    assert run(["pool", str(tmp_path / "x.npy"), "-k", "1"]).stdout == "0.1,0.7\n0.3,0.2\n"
    assert run(["pool", str(tmp_path / "x.npy")]).stdout == "0.7\n"


def _reference_cell(v, dtype) -> str:
    """The obviously correct cell: numpy's own shortest repr of the value in its type, in Python's spelling."""
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if v == np.round(v) and abs(float(v)) < 1e16:
        return str(int(v))
    return repr(float(repr(dtype.type(v)).split("(")[-1].rstrip(")")))


def _check_cells(arr: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a signalling NaN or a subnormal must not make numpy speak
        text = io.format_matrix(arr)
    cells = [line.split(",") for line in text.splitlines()]
    assert len(cells) == arr.shape[0] and all(len(r) == arr.shape[1] for r in cells)
    flat = [c for r in cells for c in r]
    for v, cell in zip(arr.ravel().tolist(), flat):
        assert cell == _reference_cell(arr.dtype.type(v), arr.dtype), (v, cell)
        assert not re.fullmatch(r"-0(\.0*)?", cell)
    back = np.array(flat, dtype=np.float64).astype(arr.dtype).reshape(arr.shape)
    nan = np.isnan(arr)
    assert np.array_equal(np.isnan(back), nan) and np.array_equal(back[~nan], arr[~nan])  # the same values
    assert not np.signbit(back[back == 0]).any()  # -0 was written 0


def test_every_float16_value_round_trips_in_its_shortest_form():
    everything = np.arange(1 << 16, dtype=np.uint16).view(np.float16).reshape(256, 256)
    _check_cells(everything)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([16, 32, 64]).flatmap(
        lambda width: hnp.arrays(
            np.dtype(f"f{width // 8}"),
            hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
            elements=st.floats(width=width, allow_nan=True, allow_infinity=True, allow_subnormal=True)
            | st.sampled_from([0.0, -0.0, 0.1, 1.0, 3.0]),
        )
    )
)
def test_random_floats_are_written_shortest_and_read_back_the_same(arr):
    _check_cells(arr)


def test_float32_bit_patterns_at_random_round_trip():
    bits = np.random.default_rng(10).integers(0, 1 << 32, 40_000, dtype=np.uint64).astype(np.uint32)
    _check_cells(bits.view(np.float32).reshape(200, 200))


# --------------------------------------------------------------------------- the delimiter


@pytest.mark.parametrize("delim", ["1", "0", "9", ".", "+", "-", "e", "E", "n", "a", "i", "f", "N", "I", "t", "y", "_", '"', "٣", "|1|", " e "])
def test_delimiters_that_can_be_part_of_a_number_are_refused(delim):
    result = run(["pool", "-", "--delimiter", delim], input="1000,-25\n")
    assert result.exit_code == 2
    assert "can be part of a number" in result.stderr and len(result.stderr.splitlines()) == 1
    with pytest.raises(io.OutputError, match="can be part of a number"):
        io.check_delimiter(delim)
    with pytest.raises(io.OutputError):
        io.format_matrix(np.array([[1.0]]), delimiter=delim)


@pytest.mark.parametrize("delim, expected", [("|", "1000|-25\n"), ("tab", "1000\t-25\n"), (" ; ", "1000 ; -25\n"), (" | ", "1000 | -25\n")])
def test_other_delimiters_are_written_as_given(delim, expected):
    result = run(["pool", "-", "-k", "1", "--delimiter", delim], input="1000,-25\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


@pytest.mark.parametrize("delim", ["", "\n", "a\rb", "\x1c", "\u2028"])
def test_empty_and_line_breaking_delimiters_are_refused(delim):
    with pytest.raises(io.OutputError):
        io.check_delimiter(delim)


# --------------------------------------------------------------------------- views


def test_show_of_tiny_values_uses_exponents():
    result = run(["show", "-", "--no-color"], input="1e-9,2e-9\n3e-9,4e-9\n")
    assert result.stdout == (
        "<stdin>  2x2 float64  min 1e-09  max 4e-09  mean 2.5e-09\n"
        "      0     1\n"
        "0 1e-09 2e-09\n"
        "1 3e-09 4e-09\n"
    )


def test_huge_and_mixed_values_stay_narrow():
    result = run(["show", "-", "--no-color"], input="1e300,2\n-3.25e-9,0\n")
    assert result.stdout.splitlines()[1:] == [
        "          0         1",
        "0 1.00e+300  2.00e+00",
        "1 -3.25e-09         0",
    ]


def test_views_judge_float32_in_its_own_type(tmp_path):
    np.save(tmp_path / "x.npy", np.array([[0.1, 0.25], [0.3, 1.0]], np.float32))
    assert run(["show", str(tmp_path / "x.npy"), "--no-color"]).stdout.splitlines()[2:] == ["0 0.10 0.25", "1 0.30 1.00"]


def test_explain_with_tiny_values_and_forced_precision():
    out = run(["explain", "-", "-m", "avg", "--no-color"], input="1.5e-9,2e-9\n3e-9,0\n").stdout
    assert "avg(1.5e-09, 2.0e-09, 3.0e-09, 0) = 6.5e-09 / 4 = 1.625e-09" in out.splitlines()
    forced = run(["show", "-", "--no-color", "--precision", "2"], input="1e-9,-1e-9\n").stdout
    assert forced.splitlines()[2] == "0 0.00 0.00"  # --precision still forces decimals; never -0.00


def test_views_keep_four_decimals_and_integers_where_they_were_fine():
    assert view_format(np.array([[1.0, 2.5]])) == ".1f"
    assert view_format(np.array([[12 / 9, 16 / 9]])) == ".4f"
    assert view_format(np.array([[0.0012345, 1.0]])) == ".4f"
    assert view_format(np.array([[0.00012345, 1.0]])) == ".4e"
    assert view_format(np.array([[1, 2]], np.uint8)) == "d"
    assert view_format(np.array([[0.1 + 0.2, 1.0]])) == ".1f"  # float64 rounding noise is not shown
    assert view_format(np.array([[123456789.0, 1.0]])) == ".4e"
    assert view_format(np.array([[np.nan, -np.inf]])) == ".0f"


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                  elements=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-300, 5e-5, 1e7])))
def test_views_show_every_non_zero_value_as_non_zero_in_bounded_width(arr):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cells = format_cells(arr, view_format(arr))
    for v, cell in zip(arr.ravel().tolist(), [c for r in cells for c in r]):
        assert len(cell) <= 14, cell  # "-99999999.9999" or "-1.2345e+300" at most
        assert not re.fullmatch(r"-0(\.0*)?(e[+-]\d+)?", cell)
        if np.isfinite(v):
            shown, exact = Decimal(cell), Decimal(v)  # "1.7977e+308" is beyond float64, not beyond a decimal
            assert (shown == 0) == (v == 0), (v, cell)
            assert shown == 0 or (shown > 0) == (v > 0)
            assert abs(shown - exact) <= Decimal("5e-5") * max(abs(exact), 1), (v, cell)


# --------------------------------------------------------------------------- writes through symlinks


def test_output_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path, monkeypatch):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "data" / "t.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "links" / "link.csv"
    os.symlink("../data/t.csv", link)
    folders = []
    real_mkstemp = files.tempfile.mkstemp

    def spy(**kw):
        folders.append(kw["dir"])
        return real_mkstemp(**kw)

    monkeypatch.setattr(files.tempfile, "mkstemp", spy)
    result = run(["pool", str(tmp_path / "m.csv"), "-k", "1", "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert os.path.islink(link) and os.readlink(link) == "../data/t.csv"
    assert target.read_text() == "1,2\n3,4\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert folders == [str(tmp_path / "data")]  # the temporary file beside the target: the rename is atomic
    assert sorted(os.listdir(tmp_path / "data")) == ["t.csv"] and os.listdir(tmp_path / "links") == ["link.csv"]


def test_a_chain_of_links_and_a_dangling_link(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    (tmp_path / "t.csv").write_text("old\n")
    os.symlink("t.csv", tmp_path / "one.csv")
    os.symlink("one.csv", tmp_path / "two.csv")
    assert run(["pool", str(tmp_path / "m.csv"), "-o", str(tmp_path / "two.csv")]).exit_code == 0
    assert (tmp_path / "t.csv").read_text() == "4\n" and os.path.islink(tmp_path / "two.csv") and os.path.islink(tmp_path / "one.csv")
    (tmp_path / "sub").mkdir()
    os.symlink("sub/new.csv", tmp_path / "dangling.csv")
    assert run(["pool", str(tmp_path / "m.csv"), "-o", str(tmp_path / "dangling.csv")]).exit_code == 0
    assert (tmp_path / "sub" / "new.csv").read_text() == "4\n" and os.path.islink(tmp_path / "dangling.csv")


@pytest.mark.parametrize("setup, message", [
    (lambda d: os.symlink("nowhere/x.csv", d / "out.csv"), "out.csv: links to {d}/nowhere/x.csv, whose folder does not exist"),
    (lambda d: (os.symlink("loop2", d / "out.csv"), os.symlink("out.csv", d / "loop2")), "out.csv: cannot write there (too many levels of symbolic links)"),
    (lambda d: os.symlink(".", d / "out.csv"), "out.csv: is a folder; give a file name"),
])
def test_links_that_cannot_be_written_are_refused_before_reading(tmp_path, setup, message):
    setup(tmp_path)
    before = sorted(os.listdir(tmp_path))
    result = run(["pool", str(tmp_path / "missing-input.csv"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert result.stderr == f"poolcli: error: {tmp_path}/{message.format(d=tmp_path)}\n"
    assert sorted(os.listdir(tmp_path)) == before


def test_a_fifo_is_written_in_place(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    result = run(["pool", str(tmp_path / "m.csv"), "-k", "1", "-o", str(fifo), "-t", "tif"])
    reader.join(30)
    assert result.exit_code == 0, result.output
    assert got and got[0][:4] == b"II*\x00"  # a TIFF (its encoder seeks: written whole once encoded)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(os.listdir(tmp_path)) == ["m.csv", "pipe"]


# --------------------------------------------------------------------------- write errors name the file


@pytest.fixture
def source_and_old_output(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    (tmp_path / "out.csv").write_text("previous\n")
    return tmp_path


def _fail(exc):
    def raiser(*a, **kw):
        raise exc
    return raiser


@pytest.mark.parametrize("where, exc, message", [
    ("mkstemp", PermissionError(errno.EACCES, "Permission denied"), "out.csv: cannot write in {d} (permission denied)"),
    ("mkstemp", OSError(errno.EROFS, "Read-only file system"), "out.csv: cannot write in {d} (read-only file system)"),
    ("fsync", OSError(errno.EIO, "Input/output error"), "out.csv: cannot write (input/output error)"),
    ("fsync", OSError(errno.ENOSPC, "No space left on device"), "out.csv: cannot write (no space left on device)"),
    ("replace", OSError(errno.EXDEV, "Invalid cross-device link"), "out.csv: cannot put the finished output in place (invalid cross-device link)"),
    ("replace", PermissionError(errno.EACCES, "Permission denied"), "out.csv: cannot put the finished output in place (permission denied)"),
])
def test_every_write_error_is_one_line_naming_the_file(source_and_old_output, monkeypatch, where, exc, message):
    d = source_and_old_output
    target = {"mkstemp": files.tempfile, "fsync": files.os, "replace": files.os}[where]
    monkeypatch.setattr(target, where, _fail(exc))
    result = run(["pool", str(d / "m.csv"), "-k", "1", "-o", str(d / "out.csv")])
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stderr == f"poolcli: error: {d}/{message.format(d=d)}\n"
    assert (d / "out.csv").read_text() == "previous\n"
    assert sorted(os.listdir(d)) == ["m.csv", "out.csv"]


def test_full_disk_mid_write_names_the_file(source_and_old_output, monkeypatch):
    d = source_and_old_output
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    result = run(["pool", str(d / "m.csv"), "-k", "1", "-o", str(d / "out.csv")])
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stderr == f"poolcli: error: {d}/out.csv: cannot write (no space left on device)\n"
    assert (d / "out.csv").read_text() == "previous\n" and sorted(os.listdir(d)) == ["m.csv", "out.csv"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_real_full_device_on_stdout_and_as_output(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    cmd = [sys.executable, "-m", "poolcli", "pool", str(tmp_path / "m.csv"), "-k", "1"]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == "poolcli: error: <stdout>: cannot write (no space left on device)\n"
    os.symlink("/dev/full", tmp_path / "full.csv")  # a link to a device: written in place, never renamed over
    proc = subprocess.run(cmd + ["-o", str(tmp_path / "full.csv")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == f"poolcli: error: {tmp_path}/full.csv: cannot write (no space left on device)\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and os.path.islink(tmp_path / "full.csv")


@pytest.mark.parametrize("mode, filt, said", [("avg", None, True), ("sum", None, True), ("max", None, False), ("max", "blur", True)])
def test_int64_beyond_2_to_53_through_float64_is_said(tmp_path, mode, filt, said):
    from click.testing import CliRunner

    from poolcli.cli import main

    arr = np.full((4, 4), 2**60 + 1, dtype=np.int64)
    np.save(tmp_path / "big.npy", arr)
    args = ["pool", str(tmp_path / "big.npy"), "-m", mode, "-o", str(tmp_path / "o.npy")] + (["-c", filt] if filt else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    assert ("64-bit integers beyond 2**53 go through float64" in result.stderr) == said
    if mode == "max" and not filt:
        assert np.array_equal(np.load(tmp_path / "o.npy"), np.full((2, 2), 2**60 + 1))  # max keeps every bit
