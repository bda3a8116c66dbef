"""JSON in and out: nested lists as json.dumps(a.tolist()) writes them, every value exact, faults named by place."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from poolcli import io, pool2d
from poolcli.cli import main
from poolcli.formats import jsonfmt
from poolcli.formats.jsonfmt import format_json, parse_json
from poolcli.pipeline import PoolSpec, encode

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]


def through_json(arr, fmt="json"):
    write, notes = encode(arr, fmt, PoolSpec(), source_dtype=arr.dtype, name="o.json")
    buf = __import__("io").BytesIO()
    write(buf)
    return buf.getvalue(), notes


def extremes(dtype):
    """Every value of ``dtype`` a writer is most likely to get wrong."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return [True, False]
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return [info.min, info.max, info.min + 1, info.max - 1, 0, 1]
    info = np.finfo(dt)
    return [info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0, 0.1, 1 / 3, 2.5, 1e-7, np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2)])
def test_every_dtype_round_trips_value_for_value(dtype, shape):
    values = extremes(dtype)
    arr = np.resize(np.array(values, dtype=dtype), shape)
    data, notes = through_json(arr)
    back = io.load_bytes(data, "o.json")
    assert back.kind == "json" and back.array.shape == shape
    # JSON declares no type: the values come back in int64/uint64/float64, the same numbers in the array's own type
    assert np.array_equal(back.array.astype(dtype), arr, equal_nan=arr.dtype.kind == "f")
    if arr.dtype.kind in "biu":
        assert back.array.dtype.kind in "iu" and back.array.tolist() == arr.tolist()
    # Python's json module reads the same numbers
    assert np.array_equal(np.array(json.loads(data), dtype=np.float64), back.array.astype(np.float64), equal_nan=True)
    nonfinite = arr.dtype.kind == "f"
    assert [str(n) for n in notes] == (["o.json: NaN and infinity are written as NaN / Infinity, as Python's json module does (not strict JSON)"] if nonfinite else [])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_array_round_trips(data):
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(st.sampled_from([(1, 1), (2, 5), (3, 2, 3), (4, 1, 1)]))
    arr = data.draw(hnp.arrays(np.dtype(dtype), shape))
    back = parse_json(format_json(arr)[0].encode())
    assert back.shape == shape
    assert np.array_equal(back.astype(dtype), arr, equal_nan=arr.dtype.kind == "f")


def test_the_text_writers_spelling_one_row_a_line():
    assert format_json(np.array([[1.0, 2.5], [-0.0, 1e300]]))[0] == "[[1, 2.5],\n [0, 1e+300]]\n"
    assert format_json(np.array([[0.1, 0.2]], dtype=np.float32))[0] == "[[0.1, 0.2]]\n"  # float32's own shortest form
    assert format_json(np.arange(12, dtype=np.uint8).reshape(2, 2, 3))[0] == "[[[0, 1, 2], [3, 4, 5]],\n [[6, 7, 8], [9, 10, 11]]]\n"
    assert format_json(np.array([[np.nan, -np.inf, np.inf]]))[0] == "[[NaN, -Infinity, Infinity]]\n"


# ---------------------------------------------------------------- files written by others


def test_what_pythons_json_module_writes_reads_back_exactly():
    rng = np.random.default_rng(5)
    floats = rng.standard_normal((4, 5)) * 10.0 ** rng.integers(-300, 300, (4, 5))
    floats[0, :3] = [np.nan, np.inf, -np.inf]
    back = io.load_bytes(json.dumps(floats.tolist()).encode(), "f.json").array
    assert back.dtype == np.float64 and np.array_equal(back, floats, equal_nan=True)
    ints = rng.integers(-(2**63), 2**63 - 1, (3, 4, 2), dtype=np.int64, endpoint=True)
    back = io.load_bytes(json.dumps(ints.tolist(), indent=4).encode(), "i.json").array
    assert back.dtype == np.int64 and np.array_equal(back, ints)
    big = np.array([[2**64 - 1, 2**63], [0, 1]], dtype=np.uint64)
    back = io.load_bytes(json.dumps(big.tolist()).encode(), "u.json").array
    assert back.dtype == np.uint64 and np.array_equal(back, big)


@pytest.mark.parametrize(
    "text, expected, dtype",
    [
        ("\n\t[ [1 ,2] ,\r\n [3,4 ] ]\n", [[1, 2], [3, 4]], np.int64),
        ("\ufeff[[1, 2.5]]", [[1, 2.5]], np.float64),  # a UTF-8 BOM
        ("[1, 2, 3]", [[1, 2, 3]], np.int64),  # a flat list is one row
        ("[[1E3, -0.0, 1e-320, 5e-324]]", [[1000.0, -0.0, 1e-320, 5e-324]], np.float64),
        ("[[0.1000000000000000055511151231257827]]", [[0.1]], np.float64),  # correctly rounded
        ("[[-1, 9223372036854775808]]", [[-1, 2**63]], np.float64),  # 2**63 is exact in float64
        ("[[1, 1180591620717411303424]]", [[1, 2**70]], np.float64),
        ("[[12345678901234567, 1]]", [[12345678901234567, 1]], np.int64),  # past 2**53: kept by int64
        ("[[1e300, 0.5, -Infinity]]", [[1e300, 0.5, -np.inf]], np.float64),  # large floats: read by the careful path
        ("[[9007199254740992, 0.5]]", [[2**53, 0.5]], np.float64),  # 2**53 itself is exact
    ],
)
def test_hand_made_json(text, expected, dtype):
    arr = io.load_bytes(text.encode(), "h.json").array
    assert arr.dtype == dtype and arr.tolist() == expected
    if dtype == np.float64:
        assert np.array_equal(np.signbit(arr), np.signbit(np.array(expected, dtype=np.float64)))


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[1, 2], [3]]", "h.json: [1] holds 1 value, expected 2 values as [0]"),
        ("[[[1, 2]], [[3, 4], [5, 6]]]", "h.json: [1] holds 2 values, expected 1 value as [0]"),
        ("[[1, 2], 3]", "h.json: [1] holds a number, expected 2 values as [0]"),
        ('[[1, 2], [3, "4"]]', 'h.json: [1][1]: "4" is not a number'),
        ("[[1, true]]", "h.json: [0][1]: true is not a number"),
        ("[[null, 1]]", "h.json: [0][0]: null is not a number"),
        ('[[1, {"a": 1}]]', 'h.json: [0][1]: {"a": 1} is not a number'),
        ("[[1, 2], [3, 1e999]]", "h.json: [1][1]: 1e999 is beyond the float64 range"),
        ("[[Infinity, -1E400]]", "h.json: [0][1]: -1E400 is beyond the float64 range"),  # beside a real infinity
        ("[[9007199254740993, 0.5]]", "h.json: [0][0]: the integer 9007199254740993 cannot be held exactly"),  # 2**53 + 1
        ("[[0.5, 12345678901234567891]]", "h.json: [0][1]: the integer 12345678901234567891 cannot be held exactly beside the other values"),
        ("[[-1, 18446744073709551615]]", "h.json: [0][1]: the integer 18446744073709551615 cannot be held exactly"),
        ("[[1, 2],\n [3, 4]", "h.json: line 2, column 8: Expecting ',' delimiter"),
        ("[[1, 2]]\n[[3]]", "h.json: line 2, column 1: Extra data"),
        ("[[1, 2,]]", "h.json: line 1, column 8: Expecting value"),
        ("[]", "h.json: the top level is an empty list"),
        ("[[], []]", "h.json: [0] is an empty list"),
        ("[[[[1]]]]", "h.json: [0][0][0] holds a list: lists nested more than 3 deep"),
        ("[" * 100_000, "h.json: lists nested too deeply"),
        ("[[1, 2],\n [3, \xff]]", "h.json: line 2: not UTF-8 text (byte 0xff)"),
    ],
)
def test_bad_json_is_one_line_naming_the_place(text, message):
    with pytest.raises(io.InputError) as err:
        io.load_bytes(text.encode("latin-1"), "h.json")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_more_values_than_max_pixels_are_refused_before_parsing():
    with pytest.raises(io.InputError, match=r"h.json: more than 5 values; raise --max-pixels"):
        io.load_bytes(b"[[1, 2, 3], [4, 5, 6]]", "h.json", max_pixels=5)
    assert io.load_bytes(b"[[1, 2, 3], [4, 5, 6]]", "h.json", max_pixels=6).array.shape == (2, 3)


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(-6, 6).reshape(3, 4),
        np.random.default_rng(9).integers(-1000, 1000, (5, 6)) / 8,
        np.array([[np.nan, np.inf], [-np.inf, -0.0]]),
        np.arange(24).reshape(2, 3, 4) * 0.5,
    ],
)
def test_the_quick_and_the_careful_path_agree(arr):
    text = json.dumps(arr.tolist())
    value = json.loads(text)
    quick, careful = jsonfmt._quick(value, text), jsonfmt._careful(value, "x")
    assert quick is not None and quick.dtype == careful.dtype
    assert np.array_equal(quick, careful, equal_nan=True) and np.array_equal(quick, arr, equal_nan=True)


# ---------------------------------------------------------------- the CLI, end to end

M = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16.5]]


def run(args, cwd, stdin=None):
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "poolcli", *args], cwd=cwd, input=stdin, capture_output=True, env=env, timeout=120)


def test_pool_json_in_json_out(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps(M))
    r = run(["pool", "m.json", "-o", "out.json"], tmp_path)
    assert r.returncode == 0 and r.stderr == b""
    assert (tmp_path / "out.json").read_text() == "[[6, 8],\n [14, 16.5]]\n"
    r = run(["pool", "m.json", "-m", "avg"], tmp_path)  # to stdout: CSV, as for any input
    assert r.stdout == b"3.5,5.5\n11.5,13.625\n"


def test_json_on_stdin_and_to_stdout(tmp_path):
    r = run(["pool", "-", "--to", "json", "-k", "2", "-s", "1"], tmp_path, stdin=json.dumps(M).encode())
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"[[6, 7, 8],\n [10, 11, 12],\n [14, 15, 16.5]]\n"
    r = run(["pool", "-", "-k", "1", "--to", "json"], tmp_path, stdin=b"[[0.5, NaN], [Infinity, 1]]")
    assert r.stdout == b"[[0.5, NaN],\n [Infinity, 1]]\n"
    assert r.stderr == b"poolcli: <stdout>: NaN and infinity are written as NaN / Infinity, as Python's json module does (not strict JSON)\n"


def test_json_and_csv_of_the_same_numbers_give_the_same_image(tmp_path):
    rows = [[0, 255, 7, 9], [128, 3, 64, 200]]
    (tmp_path / "m.json").write_text(json.dumps(rows))
    (tmp_path / "m.csv").write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    for name in ("m.json", "m.csv"):
        assert run(["pool", name, "-o", name + ".png"], tmp_path).returncode == 0
    assert (tmp_path / "m.json.png").read_bytes() == (tmp_path / "m.csv.png").read_bytes()
    assert io.read_input(str(tmp_path / "m.json.png")).array.tolist() == [[255, 200]]  # 8-bit, values as they are


def test_a_colour_image_to_json_and_back(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(2).integers(0, 256, (6, 4, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert run(["pool", "c.png", "-o", "c.json"], tmp_path).returncode == 0
    got = json.loads((tmp_path / "c.json").read_text())
    assert got == pool2d(rgb, 2).tolist()
    assert run(["pool", "c.json", "-k", "1", "-o", "back.png"], tmp_path).returncode == 0
    assert np.array_equal(io.read_input(str(tmp_path / "back.png")).array, pool2d(rgb, 2))


def test_json_keeps_a_channels_first_layout(tmp_path):
    chw = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    (tmp_path / "chw.json").write_text(json.dumps(chw.tolist()))
    assert run(["pool", "chw.json", "--layout", "chw", "-o", "o.json"], tmp_path).returncode == 0
    assert json.loads((tmp_path / "o.json").read_text()) == [pool2d(c, 2).tolist() for c in chw]


def test_bad_json_fails_in_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "bad.json").write_text("[[1, 2],\n [3, x]]")
    r = run(["pool", "bad.json", "-o", "o.json"], tmp_path)
    assert r.returncode == 1
    assert r.stderr == b"poolcli: error: bad.json: line 2, column 6: Expecting value\n"
    assert sorted(os.listdir(tmp_path)) == ["bad.json"]


def test_batch_takes_json_with_glob(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.json").write_text(json.dumps(M))
    (src / "b.json").write_text("[[1, 2], [3]]")
    (src / "c.png").write_bytes(b"")  # not asked for: left alone
    r = CliRunner().invoke(main, ["batch", str(src), str(tmp_path / "out"), "--glob", "*.json", "-j", "1", "-q"])
    assert r.exit_code == 1  # b.json fails, a.json is written
    assert sorted(os.listdir(tmp_path / "out")) == ["a.json"]
    assert (tmp_path / "out" / "a.json").read_text() == "[[6, 8],\n [14, 16.5]]\n"
    assert "b.json: [1] holds 1 value, expected 2 values as [0]" in r.output
    r = CliRunner().invoke(main, ["batch", str(src), str(tmp_path / "csv"), "--glob", "a.json", "-t", "csv", "-j", "1", "-q"])
    assert r.exit_code == 0 and (tmp_path / "csv" / "a.csv").read_text() == "6,8\n14,16.5\n"
