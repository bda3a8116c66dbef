"""The streamed path (poolcli.stream): the same bytes and notes as the whole-array path for every window,
filter and band size; rows out before the input has ended; memory bounded by a band; errors mid-stream."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import poolcli.stream as stream
from poolcli.formats.errors import InputError
from poolcli.formats.textread import parse_matrix
from poolcli.formats.textstream import read_bands
from poolcli.pipeline import FilterSpec, PoolSpec, WindowSpec, run

KERNELS = [None, ((1, 2, 1), (0, 0, 0), (-1, -2, -1)), ((1, -1), (2, 0.5)), ((1,), (2,), (3,)), ((0.25, 0.5, 0.25),)]


def whole(source, destination, spec, **kw):
    """The whole-array path: the library's default, which gives back the values."""
    return run(source, destination, spec, **kw)


def streamed(source, destination, spec, **kw):
    return run(source, destination, spec, keep_values=False, **kw)


def outcome(source, destination, spec, **kw):
    """What a run gives: the output's bytes and the notes, or the error's text (and no output)."""
    runner = kw.pop("runner", streamed)
    adaptive = spec.window.output_size is not None
    # read whole: adaptive avg and sum to one row of several columns (one window down every row)
    one_row = adaptive and spec.window.output_size[0] == 1 and spec.window.output_size[1] > 1
    global_pool = one_row and spec.window.mode in ("avg", "sum")
    try:
        result = runner(source, destination, spec, **kw)
    except (InputError, ValueError) as exc:
        assert not os.path.exists(destination)
        return str(exc)
    if runner is streamed and not global_pool:
        assert result.values.shape[0] == 0  # streamed: the rows were written, not held
    with open(destination, "rb") as f:
        data = f.read()
    if destination.endswith(".npy"):  # the header, and the values with NaN's sign bit (which SIMD paths vary) set one way
        arr = np.load(destination)
        if arr.dtype.kind == "f":
            arr = np.where(np.isnan(arr), abs(arr), arr)
        data = data[: len(data) - arr.nbytes] + arr.tobytes()
    os.remove(destination)
    return data, [str(n) for n in result.notes]


@st.composite
def windows(draw):
    if draw(st.integers(0, 5)) == 0:  # adaptive pooling: its windows spread over the rows
        mode = draw(st.sampled_from(["max", "avg", "min", "sum"]))
        return WindowSpec(output_size=(draw(st.integers(1, 9)), draw(st.integers(1, 5))), mode=mode)
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    kw = {"size": k, "mode": draw(st.sampled_from(["max", "avg", "min", "sum", "lp"]))}
    if kw["mode"] == "lp":
        kw["norm_type"] = draw(st.sampled_from([1.0, 2.0, 3.5]))
    if draw(st.booleans()):
        kw["stride"] = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    if kw["mode"] != "lp":
        padding = draw(st.sampled_from(["valid", "explicit", "same"]))
        if padding == "explicit":
            kw["padding"] = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
            kw["count_pad"] = draw(st.sampled_from([None, True, False]))
        elif padding == "same":
            kw["padding"] = "same"
        if draw(st.booleans()):
            kw["dilation"] = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kw["ceil_mode"] = draw(st.booleans())
    return WindowSpec(**kw)


@st.composite
def matrices(draw):
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 7))
    kind = draw(st.sampled_from(["int", "float", "mixed"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "int":
        arr = rng.integers(-300, 300, (h, w)).astype(float)
    else:
        arr = np.round(rng.normal(0, 50, (h, w)), draw(st.integers(0, 6)))
    if kind == "mixed" and arr.size > 2:
        arr.flat[rng.integers(0, arr.size)] = np.nan
    return arr


def text_of(arr, delim=","):
    return "".join(delim.join(repr(float(v)) for v in row) + "\n" for row in arr).encode()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arr=matrices(),
    window=windows(),
    kernel=st.sampled_from(KERNELS),
    same=st.booleans(),
    relu=st.booleans(),
    band=st.integers(1, 120),
    fmt=st.sampled_from(["csv", "npy", "png", "json"]),  # PNG, JSON: gathered, encoded with text's value type
    header=st.booleans(),
)
def test_streamed_equals_whole(tmp_path_factory, monkeypatch, arr, window, kernel, same, relu, band, fmt, header):
    monkeypatch.setattr(stream, "BAND_BYTES", band)
    tmp_path = tmp_path_factory.mktemp("run")
    src = tmp_path / "in.csv"
    src.write_bytes((b"a,b\n# note\n" if header else b"") + text_of(arr))
    spec = PoolSpec(window=window, filter=FilterSpec(kernel=kernel, padding="same" if same else "valid", relu=relu))
    dst = str(tmp_path / f"out.{fmt}")
    expected = outcome(str(src), dst, spec, runner=whole)
    got = outcome(str(src), dst, spec)
    assert got == expected
    if window.mode in ("max", "min") and not isinstance(expected, str):
        idx = tmp_path / "idx.csv"
        streamed(str(src), dst, spec, indices=str(idx))
        got_idx = idx.read_bytes()
        whole(str(src), dst, spec, indices=str(idx))
        assert idx.read_bytes() == got_idx


NPY_TYPES = ["<f8", ">f8", "<f4", ">i2", "<u1", "|b1", "<i8", ">u2", "<f2"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    window=windows(),
    kernel=st.sampled_from(KERNELS),
    band=st.integers(1, 400),
    dtype=st.sampled_from(NPY_TYPES),
    fortran=st.booleans(),
    channels=st.sampled_from([0, 1, 3, 5]),
    layout=st.sampled_from([None, "chw"]),
    fmt=st.sampled_from(["csv", "npy"]),
)
def test_npy_streamed_equals_whole(tmp_path_factory, monkeypatch, data, window, kernel, band, dtype, fortran, channels, layout, fmt):
    monkeypatch.setattr(stream, "BAND_BYTES", band)
    tmp_path = tmp_path_factory.mktemp("npy")
    h, w = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 7))
    shape = (h, w) if not channels else ((channels, h, w) if layout == "chw" else (h, w, channels))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    arr = (rng.integers(0, 2, shape) if dtype == "|b1" else rng.integers(0, 200, shape)).astype(dtype)
    np.save(tmp_path / "in.npy", np.asfortranarray(arr) if fortran else arr)
    channel = data.draw(st.sampled_from([None, 0, 2])) if channels else None
    if fmt == "csv" and channels and channel is None:
        fmt = "npy"
    spec = PoolSpec(window=window, filter=FilterSpec(kernel=kernel), channel=channel, layout=layout)
    dst = str(tmp_path / f"out.{fmt}")
    src = str(tmp_path / "in.npy")
    assert outcome(src, dst, spec) == outcome(src, dst, spec, runner=whole)


def test_same_padding_on_a_stream_is_counted_in_a_temporary_file():
    data = b"".join(b"%d,%d,%d\n" % (i, i + 1, -i) for i in range(7))
    cmd = ["pool", "-", "-k", "3", "-s", "2", "-p", "same", "-m", "avg"]
    proc = _poolcli(*cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(data)
    assert proc.returncode == 0
    assert err.decode() == (
        "poolcli: <stdin>: Keras 'same' padding places its windows by the number of rows: the stream was held in a "
        "temporary file to count them\n"
    )
    # Keras: 7 rows, stride 2 -> 4 windows from row -1 (one padding row each side); 3 columns -> 2 windows
    # from column -1; avg ignores the padding: rows 0-1 x columns 0-1 are 0,1,1,2, columns 1-2 are 1,0,2,-1
    assert out.decode().splitlines() == ["1,0.5", "2.5,0.5", "4.5,0.5", "6,0.5"]


@pytest.mark.parametrize(
    "data",
    [
        b"x;y\n1;2\r\n3;4\r\n\n# c\n5;6",
        b"\xef\xbb\xbf1 2\n3   4\n",
        "1,2\n3,4\n".encode("utf-16"),
        b"1\r2\r3\r",
        b"1\t2\n3\t4\n",
        b"h\n",
        b"",
        b"# only\n\n",
        b"1,2\n3,x\n",
        b"1,2\n3\n",
        b"1,2\n,3\n",
        b"1,2\n1e999,3\n",
        b"1,2\n\xff,3\n",
        b"1,inf\nnan,-Infinity\n",
    ],
)
@pytest.mark.parametrize("band", [1, 2, 5, 1 << 20])
def test_the_band_reader_reads_as_the_whole_reader(data, band):
    try:
        expected = parse_matrix(data, "x")
    except InputError as exc:
        expected = str(exc)
    try:
        bands = read_bands(io.BytesIO(data), "x", max_width=10**6, band_bytes=band)
        got = (np.concatenate(list(bands)), bands.notes)
    except InputError as exc:
        got = str(exc)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
    else:
        np.testing.assert_array_equal(got[0], expected[0])
        assert got[1] == expected[1]


def test_a_bad_cell_far_down_names_its_line_and_column_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "BAND_BYTES", 4096)
    src = tmp_path / "big.csv"
    src.write_bytes(b"1,2,3\n" * 20000 + b"4,5,oops\n" + b"1,2,3\n" * 10)
    dst = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"line 20001, column 3: 'oops' is not a number"):
        streamed(str(src), str(dst), PoolSpec())
    assert os.listdir(tmp_path) == ["big.csv"]
    src.write_bytes(b"1,2,3\n" * 20000 + b"4,5\n")
    with pytest.raises(InputError, match=r"line 20001 has 2 values, expected 3 as on line 1"):
        streamed(str(src), str(dst), PoolSpec())


def _poolcli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen([sys.executable, "-m", "poolcli", *args], env=env, **kw)


def test_on_stdout_the_rows_sent_stay_sent_and_the_exit_is_1():
    data = b"1,2\n3,4\n" * 50000 + b"5,x\n"
    proc = _poolcli("pool", "-", "-k", "2", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(data)
    assert proc.returncode == 1
    assert err.decode().strip() == "poolcli: error: <stdin>: line 100001, column 2: 'x' is not a number"
    sent = out.count(b"\n")  # the rows of the bands before the bad line's: what was read and pooled by then
    assert 0 < sent <= 50000 and out == b"4\n" * sent


def test_an_output_row_comes_out_before_the_input_has_ended():
    proc = _poolcli(
        "pool", "-", "-k", "2", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    row = ",".join(str(v) for v in range(40)).encode() + b"\n"
    proc.stdin.write(row + row)  # two rows: one output row's windows; more than the 64 bytes that tell the format
    proc.stdin.flush()
    first = proc.stdout.readline()  # blocks until the row is written: the input is still open
    assert first == ",".join(str(v) for v in range(1, 40, 2)).encode() + b"\n"
    proc.stdin.write(row)
    proc.stdin.close()
    assert proc.stdout.read() == b""  # the third row makes no window: 2x2 windows of 3 rows give 1 row
    assert proc.wait() == 0


def test_a_stream_of_hundreds_of_megabytes_is_pooled_in_bounded_memory(tmp_path):
    script = (
        "import sys\n"
        "row = (','.join(['12345.5'] * 2000) + '\\n').encode()\n"  # 16 KB a row
        "out = sys.stdout.buffer\n"
        "for _ in range(20000):\n"  # 320 MB
        "    out.write(row)\n"
    )
    gen = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    peak = tmp_path / "peak"
    probe = (
        "import runpy, sys, atexit\n"
        f"atexit.register(lambda: open({str(peak)!r}, 'w').write("
        "[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]))\n"
        "sys.argv = ['poolcli', 'pool', '-', '-k', '2']\n"
        "runpy.run_module('poolcli', run_name='__main__')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    pool = subprocess.Popen([sys.executable, "-c", probe], stdin=gen.stdout, stdout=subprocess.PIPE, env=env)
    gen.stdout.close()
    lines = sum(1 for _ in pool.stdout)
    assert pool.wait() == 0 and gen.wait() == 0
    assert lines == 10000
    assert int(peak.read_text()) < 200 * 1024  # kB: the input is 320 MB


def test_a_stream_longer_than_the_limit_is_pooled_and_only_its_result_is_limited():
    data = b"1,2,3,4\n5,6,7,8\n" * 5000  # 40,000 cells on stdin, --max-pixels 3,000
    proc = _poolcli("pool", "-", "-k", "4", "--max-pixels", "3000", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = proc.communicate(data)
    assert proc.returncode == 0 and out == b"8\n" * 2500  # 2,500 pixels
    proc = _poolcli(
        "pool", "-", "-k", "1", "--max-pixels", "3000", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = proc.communicate(data)
    assert proc.returncode == 1
    assert err.decode().startswith("poolcli: error: <stdin>: the result has reached ")
    assert err.decode().endswith("more than --max-pixels 3,000; raise --max-pixels if this is meant\n")


def test_batch_streams_text_and_npy_files(tmp_path, monkeypatch):
    from poolcli.batch.outcome import process_file
    from poolcli.batch.walk import Task

    calls = []
    real = stream.pool_bands
    monkeypatch.setattr(stream, "pool_bands", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    (tmp_path / "m.csv").write_text("1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n")
    np.save(tmp_path / "m.npy", np.arange(16, dtype=np.int16).reshape(4, 4))
    for name, out in (("m.csv", "o.csv"), ("m.npy", "o.npy")):
        task = Task(str(tmp_path / name), str(tmp_path / "out" / out), name)
        assert process_file(task, PoolSpec(), skip_existing=False).status == "ok"
    assert calls == ["text", "npy"]
    assert (tmp_path / "out" / "o.csv").read_text() == "6,8\n14,16\n"
    result = np.load(tmp_path / "out" / "o.npy")
    assert result.dtype == np.int16 and result.tolist() == [[5, 7], [13, 15]]


def test_stdin_that_holds_no_text_is_read_whole_as_before(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.arange(16, dtype=np.uint8).reshape(4, 4))
    proc = _poolcli("pool", "-", "-k", "2", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(buf.getvalue())
    assert (proc.returncode, out, err) == (0, b"5,7\n13,15\n", b"")
    proc = _poolcli("pool", "-", "-k", "2", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(b"[[1, 2], [3, 4]]")
    assert (proc.returncode, out, err) == (0, b"4\n", b"")
