"""Adaptive and global pooling streamed (poolcli.stream): the whole path's bytes and notes for every mode, band
size and type, NaN and infinities included; the order of the engine's sums (poolcli.engine.rowsums) fixed by a
window's own rows, and as accurate as it says."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolcli import stream
from poolcli.engine import GlobalSums, pool, reduction, rowsums
from poolcli.formats import codecs
from poolcli.formats.errors import InputError
from poolcli.pipeline import FilterSpec, PoolSpec, WindowSpec, run

MODES = ["avg", "sum", "max", "min"]


def outcome(source, destination, spec, *, keep_values, indices=None, streams=True):
    """The outputs' bytes and the notes, or the error's text (and then no output)."""
    kw = {"indices": indices} if indices else {}
    try:
        result = run(source, destination, spec, keep_values=keep_values, **kw)
    except (InputError, ValueError) as exc:
        assert not os.path.exists(destination)
        return str(exc)
    if not keep_values and streams is not None:
        assert (result.values.shape[0] == 0) == streams  # streamed: the rows were written, not handed back
    got = []
    for path in [destination] + ([indices] if indices else []):
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".npy"):  # NaN's sign bit (which SIMD paths vary) set one way
            arr = np.load(path)
            if arr.dtype.kind == "f":
                arr = np.where(np.isnan(arr), abs(arr), arr)
            data = data[: len(data) - arr.nbytes] + arr.tobytes()
        os.remove(path)
        got.append(data)
    return got, [str(n) for n in result.notes]


@st.composite
def adaptive_windows(draw):
    mode = draw(st.sampled_from(MODES))
    if draw(st.booleans()):
        size = draw(st.sampled_from(["global", 1, (1, 1)]))  # global, as the CLI and as the library spell it
    else:
        size = (draw(st.integers(1, 40)), draw(st.integers(1, 6)))
    dtype = draw(st.sampled_from([None, None, "float32", "uint8", "int16"]))
    return WindowSpec(output_size=size, mode=mode, dtype=dtype)


def _one_row_of_several(window):
    """avg or sum to one row of several columns: its one window down the rows is read whole."""
    size = window.output_size
    return isinstance(size, tuple) and size[0] == 1 and size[1] > 1 and window.mode in ("avg", "sum")


def values(draw, shape, kind, huge=False):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "int":
        return rng.integers(-300, 300, shape).astype(float)
    arr = rng.normal(0, 50, shape) * 10.0 ** rng.integers(-3, 4, shape)
    if kind == "special":  # NaN, infinities, signed zeros and a huge value (NPY), a few of each
        for v in (np.nan, np.inf, -np.inf, -0.0) + ((1e300,) if huge else ()):
            if draw(st.booleans()):
                arr.flat[rng.integers(0, arr.size)] = v
    return arr


@st.composite
def matrices(draw):
    """Text: no whole number from 2**53 on, whose note a streamed run gives when the band that holds one is read."""
    h = draw(st.sampled_from([1, 2, 3, 7, 20, 45, 130]))
    w = draw(st.integers(1, 5))
    return values(draw, (h, w), draw(st.sampled_from(["int", "float", "special"])))


def text_of(arr):
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in arr).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arr=matrices(),
    window=adaptive_windows(),
    block=st.sampled_from([2, 3, 4, 128]),
    band=st.integers(1, 120),
    fmt=st.sampled_from(["csv", "npy"]),
    relu=st.booleans(),
    kernel=st.sampled_from([None, ((1, 2), (0.5, -1))]),
)
def test_text_streamed_equals_whole(tmp_path_factory, monkeypatch, arr, window, block, band, fmt, relu, kernel):
    monkeypatch.setattr(stream, "BAND_BYTES", band)  # a band of a row or a few
    monkeypatch.setattr(rowsums, "BLOCK", block)  # pieces of a few rows: sums of several pieces in small inputs
    tmp_path = tmp_path_factory.mktemp("text")
    src = tmp_path / "in.csv"
    src.write_bytes(text_of(arr))
    spec = PoolSpec(window=window, filter=FilterSpec(kernel=kernel, relu=relu))
    dst = str(tmp_path / f"out.{fmt}")
    streams = None if arr.shape[0] == 1 else not _one_row_of_several(window)  # a row is a signal, pooled whole
    indices = str(tmp_path / "idx.csv") if window.mode in ("max", "min") else None
    expected = outcome(str(src), dst, spec, keep_values=True, indices=indices)
    assert outcome(str(src), dst, spec, keep_values=False, indices=indices, streams=streams) == expected


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    window=adaptive_windows(),
    block=st.sampled_from([2, 5, 128]),
    band=st.integers(1, 300),
    dtype=st.sampled_from(["<f8", ">f4", "<f2", "<i8", ">i2", "<u1", "|b1", "<u8"]),
    channels=st.sampled_from([0, 1, 3]),
)
def test_npy_streamed_equals_whole(tmp_path_factory, monkeypatch, data, window, block, band, dtype, channels):
    monkeypatch.setattr(stream, "BAND_BYTES", band)
    monkeypatch.setattr(rowsums, "BLOCK", block)
    tmp_path = tmp_path_factory.mktemp("npy")
    h, w = data.draw(st.sampled_from([2, 9, 33, 140])), data.draw(st.integers(1, 6))
    shape = (h, w) + ((channels,) if channels else ())
    kind = np.dtype(dtype).kind
    if kind == "f":
        with np.errstate(over="ignore"):  # 1e300 is inf in float16 and float32
            arr = values(data.draw, shape, data.draw(st.sampled_from(["float", "special"])), huge=True).astype(dtype)
    else:
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        info = np.iinfo(np.uint8 if kind == "b" else dtype)
        arr = rng.integers(max(info.min, -(2**62)), min(info.max, 2**62), shape, endpoint=True)
        arr = (arr % 2 if kind == "b" else arr).astype(dtype)
    np.save(tmp_path / "in.npy", arr)
    src, dst = str(tmp_path / "in.npy"), str(tmp_path / "out.npy")
    streams = None if w == 1 else not _one_row_of_several(window)  # a column is a signal, pooled whole
    assert outcome(src, dst, PoolSpec(window=window), keep_values=False, streams=streams) == outcome(
        src, dst, PoolSpec(window=window), keep_values=True
    )


@pytest.mark.skipif(not codecs.have_vips(), reason="libvips (the codecs extra) is not installed")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", ["global", (5, 3), (200, 7)])
def test_png_streamed_equals_whole(tmp_path, monkeypatch, mode, size):
    from poolcli.formats import imagestream

    monkeypatch.setattr(imagestream, "STREAM_PIXELS", 1)
    monkeypatch.setattr(stream, "BAND_BYTES", 7)
    monkeypatch.setattr(rowsums, "BLOCK", 4)
    rng = np.random.default_rng(7)
    src, dst = str(tmp_path / "in.png"), str(tmp_path / "out.csv")
    with open(src, "wb") as f:
        codecs.png_writer(rng.integers(0, 65535, (41, 13, 3), endpoint=True).astype(np.uint16), 6)(f)
    spec = PoolSpec(window=WindowSpec(output_size=size, mode=mode))
    assert outcome(src, dst, spec, keep_values=False) == outcome(src, dst, spec, keep_values=True)


def test_an_overflowing_global_sum_is_rescued_streamed_as_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "BAND_BYTES", 30)
    monkeypatch.setattr(rowsums, "BLOCK", 2)
    arr = np.full((9, 2), 1e308)
    arr[4, 1] = -1e308
    np.save(tmp_path / "in.npy", arr)
    src, dst = str(tmp_path / "in.npy"), str(tmp_path / "out.npy")
    for mode, want in (("avg", 1e308 / 18 * 16), ("sum", math.inf)):  # 17 of 1e308, one of -1e308
        spec = PoolSpec(window=WindowSpec(output_size="global", mode=mode))
        assert outcome(src, dst, spec, keep_values=False) == outcome(src, dst, spec, keep_values=True)
        run(src, dst, spec, keep_values=False)
        assert np.load(dst).item() == pytest.approx(want, rel=1e-15)  # PyTorch gives inf for the avg


def _poolcli(*args, data):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "poolcli", "pool", "-", *args]
    proc = subprocess.run(cmd, input=data, env=env, capture_output=True, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_global_pooling_of_a_stream_needs_no_count_and_adaptive_is_spooled_with_a_note():
    data = b"".join(b"%d,%d\n" % (i, 2 * i) for i in range(1, 8))  # 1..7 and 2..14
    assert _poolcli("--output-size", "global", "-m", "avg", data=data) == (0, "6\n", "")
    assert _poolcli("--output-size", "global", "-m", "sum", data=data) == (0, "84\n", "")
    code, out, err = _poolcli("--output-size", "2x1", "-m", "avg", data=data)
    assert (code, out) == (0, "3.75\n8.25\n")  # rows 1..4 and 4..7: (1+2+3+4 + 2+4+6+8) / 8, (4+..+7 + 8+..+14) / 8
    assert err == (
        "poolcli: <stdin>: adaptive pooling places its windows by the number of rows: the stream was held in a "
        "temporary file to count them\n"
    )


def test_global_sums_hold_less_than_a_piece_of_rows():
    sums = GlobalSums(reduction("avg"), 2)
    x = np.random.default_rng(3).normal(size=(1000, 6)).astype(np.float32)
    for t in range(0, 1000, 37):
        sums.add(x[t : t + 37])
        assert sums.held is None or len(sums.held) < rowsums.BLOCK
    assert sums.result().tobytes() == pool(x, output_size="global", mode="avg", ndim=2).tobytes()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 700),
    w=st.integers(1, 40),
    out=st.tuples(st.integers(1, 9), st.integers(1, 9)),
)
def test_sums_are_within_the_stated_error_of_the_exact_sum(seed, h, w, out):
    """|sum - exact| <= (roundings on the way) * eps * sum(|x|): pairwise within a piece of BLOCK rows, the pieces
    one after another, then at most (columns - 1) roundings across a window's columns."""
    x = np.random.default_rng(seed).normal(0, 1, (h, w)).astype(np.float32) * 1e3
    oh, ow = min(out[0], h), min(out[1], w)
    got = pool(x, output_size=(oh, ow), mode="sum", ndim=2)
    eps = float(np.finfo(np.float32).eps)
    for i in range(oh):
        r0, r1 = i * h // oh, -(-(i + 1) * h // oh)
        for j in range(ow):
            c0, c1 = j * w // ow, -(-(j + 1) * w // ow)
            cells = x[r0:r1, c0:c1].astype(np.float64)
            rows = r1 - r0
            roundings = math.ceil(math.log2(min(rows, rowsums.BLOCK))) + math.ceil(rows / rowsums.BLOCK) + (c1 - c0)
            bound = roundings * eps * float(np.abs(cells).sum())
            assert abs(float(got[i, j]) - math.fsum(cells.ravel())) <= bound
