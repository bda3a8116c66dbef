"""The streamed path meets the rest of the house: signals (a column streams down its rows as a signal, a
single row is pooled whole), --dtype (the same values and the same note), volumes and fractional pooling
(never streamed), each against the whole-array path and the loop reference."""

import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import poolcli.stream as stream
from poolcli.pipeline import PoolSpec, WindowSpec, run
from poolcli.specs import FractionalSpec

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_pool  # noqa: E402


def both(tmp_path, text, spec, fmt="csv"):
    """(streamed bytes and notes, whole-path bytes and notes) of pooling ``text``."""
    src = tmp_path / "in.csv"
    src.write_text(text)
    got = []
    for keep in (False, True):
        dst = tmp_path / f"out-{keep}.{fmt}"
        result = run(str(src), str(dst), spec, keep_values=keep)
        got.append((dst.read_bytes(), [str(n) for n in result.notes]))
    return got


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    n=st.integers(2, 40),  # a single cell is a row
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    mode=st.sampled_from(["max", "avg", "sum", "min"]),
    band=st.integers(1, 50),
    padding=st.sampled_from(["valid", "same", 0, 1]),
)
def test_a_column_streams_as_the_signal_it_is(tmp_path_factory, monkeypatch, n, k, s, mode, band, padding):
    monkeypatch.setattr(stream, "BAND_BYTES", band)
    tmp_path = tmp_path_factory.mktemp("col")
    x = np.random.default_rng(n * 7 + k).integers(-50, 50, n).astype(float)
    if isinstance(padding, int) and padding > k // 2:
        padding = 0
    window = WindowSpec(size=k, stride=s, padding=padding, mode=mode)
    try:
        want = ref_pool(x, ndim=1, size=k, stride=s, padding=padding, mode=mode)
    except ValueError:
        return
    text = "".join(f"{v:g}\n" for v in x)
    (streamed, notes_s), (whole, notes_w) = both(tmp_path, text, PoolSpec(window=window))
    assert streamed == whole and notes_s == notes_w
    got = np.loadtxt(streamed.decode().splitlines(), ndmin=1)
    np.testing.assert_allclose(got, want.ravel(), rtol=1e-15)


def test_a_single_row_is_pooled_whole_as_a_signal(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "BAND_BYTES", 4)  # the row arrives in many pieces
    (streamed, _), (whole, _) = both(tmp_path, "3,1,4,1,5,9,2,6\n", PoolSpec(window=WindowSpec(size=3, stride=2)))
    assert streamed == whole == b"4,5,9\n"


@pytest.mark.parametrize("dtype", ["uint8", "same", "int16", "float32"])
def test_dtype_gives_the_same_values_and_note_streamed(tmp_path, monkeypatch, dtype):
    monkeypatch.setattr(stream, "BAND_BYTES", 16)
    rows = ["1,2,3,4", "5,6,7,8", "9,10,11,12", "13,14,15,17", "250,255,0,1", "255,255,1,1"]
    spec = PoolSpec(window=WindowSpec(size=2, mode="avg", dtype=dtype))
    (streamed, notes_s), (whole, notes_w) = both(tmp_path, "\n".join(rows) + "\n", spec)
    assert streamed == whole and notes_s == notes_w
    if dtype in ("uint8", "int16"):
        assert streamed == b"4,6\n12,14\n254,1\n"  # 3.5, 5.5 / 11.5, 13.75 / 253.75, 0.75 rounded half up
        assert any("rounded half up" in n for n in notes_s)


def test_volumes_and_fractional_pooling_are_not_streamed(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("streamed")

    monkeypatch.setattr(stream, "pool_bands", refuse)
    v = np.arange(4 * 4 * 4, dtype=np.float64).reshape(4, 4, 4)
    np.save(tmp_path / "v.npy", v)
    spec = PoolSpec(window=WindowSpec(size=2), volume=True)
    run(str(tmp_path / "v.npy"), str(tmp_path / "o.npy"), spec, keep_values=False)
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), ref_pool(v, ndim=3, size=2))
    m = np.arange(36, dtype=np.float64).reshape(6, 6)
    np.savetxt(tmp_path / "m.csv", m, delimiter=",", fmt="%g")
    frac = WindowSpec(size=2, fractional=FractionalSpec(output_ratio=0.5, seed=3))
    run(str(tmp_path / "m.csv"), str(tmp_path / "f.npy"), PoolSpec(window=frac), keep_values=False)
    from poolcli import fractional_max_pool2d

    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), fractional_max_pool2d(m, 2, output_ratio=0.5, seed=3))


def test_npy_out_is_c_order_whatever_the_input_order(tmp_path):
    """A Fortran-order input's result may be Fortran-ordered in memory; the file written is the same either way."""
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(12.0).reshape(3, 4)))
    files = []
    for keep in (False, True):
        dst = tmp_path / f"o-{keep}.npy"
        run(str(tmp_path / "f.npy"), str(dst), PoolSpec(window=WindowSpec(size=(1, 1))), keep_values=keep)
        files.append(dst.read_bytes())
    assert files[0] == files[1] and b"'fortran_order': False" in files[0]
    np.testing.assert_array_equal(np.load(tmp_path / "o-True.npy"), np.arange(12.0).reshape(3, 4))
