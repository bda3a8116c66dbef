"""`show` and `pool --show` on a stream: a glimpse (corners and statistics gathered band by band) gives the
view of the whole matrix, the same text and colours, for any split into bands; memory stays that of a band."""

import io
import os
import re
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from rich.console import Console

import hypothesis.extra.numpy as hnp
from poolcli import stream
from poolcli.formats import imagestream
from poolcli.cli import main
from poolcli.glimpse import Formats, Glimpse
from poolcli.render import render_glimpse, render_matrix, view_format

DTYPES = ["float64", "float32", "float16", "int8", "uint8", "int16", "uint16", "int32", "int64", "uint64"]
NICE = st.one_of(
    st.integers(-4000, 4000).map(lambda v: v / 8),
    st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e-9, 2.5e-4, 1e8, 1e300, 0.1, 1 / 3]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def matrices(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 150))
    channels = draw(st.sampled_from([None, None, None, 1, 3]))
    shape = (h, w) if channels is None else (h, w, channels)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            return draw(hnp.arrays(np.float64, shape, elements=NICE)).astype(dtype)
    return draw(hnp.arrays(dtype, shape, elements=st.one_of(hnp.from_dtype(dtype), st.integers(0, 9))))


def bands_of(values, cuts):
    edges = [0, *sorted(set(cuts)), len(values)]
    return [values[a:b] for a, b in zip(edges, edges[1:])]


def text_of(renderable, color):
    console = Console(
        width=400, record=True, file=io.StringIO(), color_system="truecolor" if color else None, force_terminal=color
    )
    console.print(renderable)
    return console.export_text(styles=color)


def slow_view_format(values, precision=None):
    """The rule of README's Types section, on the whole matrix at once (as the views chose it before glimpses)."""
    if values.dtype.kind in "biu":
        return "d"
    if precision is not None:
        return f".{precision}f"
    nonzero = np.abs(values[np.isfinite(values) & (values != 0)])
    if nonzero.size == 0:
        return ".0f"
    wide = nonzero.astype(np.float64)

    def shows(shown):
        if nonzero.dtype.itemsize < 8:
            return np.array_equal(shown.astype(nonzero.dtype), nonzero)
        return np.allclose(shown, nonzero, rtol=1e-12, atol=0)

    if wide.max() < 1e8:
        for d in range(5):
            if shows(np.round(wide, d)):
                return f".{d}f"
        if wide.min() >= 1e-3:
            return ".4f"
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        exp = np.floor(np.log10(wide))
        exp += wide >= 10.0 ** (exp + 1)
        exp -= wide < 10.0**exp
        for digits in range(1, 5):
            unit = 10.0 ** (exp - digits + 1)
            if shows(np.round(wide / unit) * unit):
                return f".{digits - 1}e"
    return ".4e"


@settings(max_examples=80, deadline=None)
@given(
    matrices(),
    st.lists(st.integers(1, 39), max_size=40),
    st.integers(2, 12),
    st.one_of(st.none(), st.integers(2, 20)),
    st.integers(20, 200),
    st.one_of(st.none(), st.integers(0, 6)),
)
def test_a_glimpse_fed_in_any_bands_gives_the_whole_matrix_view(values, cuts, max_rows, max_cols, width, precision):
    view = dict(max_rows=max_rows, max_cols=max_cols, width=width)
    glimpse = Glimpse(**view)
    for band in bands_of(values, [c for c in cuts if c < len(values)]):
        glimpse.add(band)
    for color in (False, True):
        whole = text_of(render_matrix(values, title="m", precision=precision, color=color, **view), color)
        assert text_of(render_glimpse(glimpse, title="m", precision=precision, color=color), color) == whole
    # what the view is drawn from, against the whole matrix read at once
    for c, part in enumerate(glimpse.channels or [glimpse]):
        matrix = values if values.ndim == 2 else values[:, :, c]
        assert (part.h, part.w, part.dtype) == (*matrix.shape, matrix.dtype)
        assert part.formats.spec(precision) == slow_view_format(matrix, precision) == view_format(matrix, precision)
        finite = matrix[np.isfinite(matrix)] if matrix.dtype.kind == "f" else matrix.ravel()
        if finite.size:
            assert (part.lo, part.hi) == (finite.min(), finite.max())
            exact = sum(Fraction(int(v)) if matrix.dtype.kind in "iu" else Fraction(float(v)) for v in finite.tolist())
            assert part.mean == float(exact / finite.size)
        else:
            assert part.lo is None
        if matrix.dtype.kind == "f":
            assert (part.nan, part.posinf, part.neginf) == (
                int(np.isnan(matrix).sum()),
                int(np.isposinf(matrix).sum()),
                int(np.isneginf(matrix).sum()),
            )
        # only the corners are held: the first and last rows, of each the columns at its ends
        held = part.head.shape[0] + (0 if part.tail is None else part.tail.shape[0])
        assert held <= max_rows and part.head.shape[1] <= 2 * part.ends


def test_the_mean_is_exact_where_float_sums_are_not():
    values = np.array([[1e16, 1.0, -1e16, 1.0, 3.0]])
    glimpse = Glimpse()
    for band in np.array_split(values.T, 5):  # a column, one cell a band
        glimpse.add(band)
    assert glimpse.mean == 1.0  # the float sums 1e16 + 1 - 1e16 give 0 (pairwise) or 2
    big = np.array([[2**63 - 1, 2**63 - 3]], dtype=np.int64)
    assert Glimpse.of(big).mean == float(2**63 - 2)
    assert Formats.of(np.array([1.5, 2.25])).spec() == ".2f"


# --------------------------------------------------------------------------- the commands


def run(args, monkeypatch, band=None, **kw):
    if band is not None:
        monkeypatch.setattr(stream, "BAND_BYTES", band)
    result = CliRunner().invoke(main, args, env={"COLUMNS": "80", "NO_COLOR": None}, **kw)
    assert result.exit_code == 0, result.output
    return result


def without_stream_lines(text):
    lines = text.splitlines(keepends=True)
    streamed = [line for line in lines if re.sub(r"\x1b\[[0-9;]*m", "", line).startswith("streamed: ")]
    return "".join(line for line in lines if line not in streamed), streamed


@pytest.fixture
def csv_with_header(tmp_path):
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(size=(45, 70)) * 50, 2)
    values[7, 3], values[40, 69] = np.nan, -np.inf
    path = tmp_path / "m.csv"
    body = "\n".join(",".join(f"{v:.2f}" for v in row) for row in values)
    path.write_text("a,b\n" + body + "\n")
    return path


@pytest.mark.parametrize("extra", [[], ["--max-rows", "6", "--max-cols", "5"], ["--color", "--precision", "1"]])
def test_show_streams_a_large_text_file_and_shows_what_the_whole_path_shows(csv_with_header, monkeypatch, extra):
    args = ["show", str(csv_with_header), *extra] + ([] if "--color" in extra else ["--no-color"])
    whole = run(args, monkeypatch)
    streamed = run(args, monkeypatch, band=256)
    view, lines = without_stream_lines(streamed.stdout)
    assert view == whole.stdout and not without_stream_lines(whole.stdout)[1]
    assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines] == [
        "streamed: 45 x 70 (3,150 values), NaN 1, inf 0, -inf 1\n"
    ]
    assert (
        streamed.stderr
        == whole.stderr
        == f"poolcli: {csv_with_header}: line 1 looks like a header (a, b); skipped it\n"
    )


def test_show_on_standard_input_streams_past_a_band_and_reads_a_small_one_whole(csv_with_header, monkeypatch):
    data = csv_with_header.read_bytes()
    whole = run(["show", "-", "--no-color"], monkeypatch, input=data)
    streamed = run(["show", "-", "--no-color"], monkeypatch, band=300, input=data)
    view, lines = without_stream_lines(streamed.stdout)
    assert view == whole.stdout and len(lines) == 1 and not without_stream_lines(whole.stdout)[1]
    assert view.splitlines()[0] == "<stdin>  45x70 float64  min -166.6  max 194.32  mean 0.8634"
    assert streamed.stderr == whole.stderr


@pytest.mark.parametrize(
    "shape, dtype, extra, channels",
    [
        ((40, 90, 3), np.uint16, [], 3),
        ((40, 90, 3), np.uint16, ["--channel", "2"], 1),
        ((3, 40, 90), np.float32, ["--layout", "chw", "--max-rows", "5"], 3),
        ((3, 30, 8), np.int64, [], 8),  # read as 8 channels of 3x30, with a note
        ((200, 30), np.float16, ["--color"], 1),
    ],
)
def test_show_streams_a_large_npy_as_the_whole_path_shows_it(tmp_path, monkeypatch, shape, dtype, extra, channels):
    rng = np.random.default_rng(5)
    values = (rng.normal(size=shape) * 1000).astype(dtype)
    np.save(tmp_path / "a.npy", values)
    args = ["show", str(tmp_path / "a.npy"), *extra] + ([] if "--color" in extra else ["--no-color"])
    whole = run(args, monkeypatch)
    streamed = run(args, monkeypatch, band=64)
    view, lines = without_stream_lines(streamed.stdout)
    assert view == whole.stdout and len(lines) == channels and not without_stream_lines(whole.stdout)[1]
    assert streamed.stderr == whole.stderr


@pytest.mark.parametrize("mode, dtype", [("RGB", np.uint8), ("I;16", np.uint16)])
def test_show_streams_a_large_png_as_the_whole_path_shows_it(tmp_path, monkeypatch, mode, dtype):
    rng = np.random.default_rng(6)
    shape = (70, 90, 3) if mode == "RGB" else (70, 90)
    values = rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)
    Image.fromarray(values, mode if mode == "RGB" else None).save(tmp_path / "a.png")
    whole = run(["show", str(tmp_path / "a.png"), "--no-color"], monkeypatch)
    monkeypatch.setattr(imagestream, "STREAM_PIXELS", 1)  # a 70x90 PNG read as a large one, band by band
    streamed = run(["show", str(tmp_path / "a.png"), "--no-color"], monkeypatch, band=2000)
    view, lines = without_stream_lines(streamed.stdout)
    assert view == whole.stdout and len(lines) == (3 if mode == "RGB" else 1)
    assert streamed.stderr == whole.stderr


@pytest.mark.parametrize("kind", ["tiff", "ppm"])
def test_show_streams_a_large_tiff_or_ppm_as_the_whole_path_shows_it(tmp_path, monkeypatch, kind):
    tifffile = pytest.importorskip("tifffile")
    values = np.random.default_rng(7).integers(0, 65535, size=(70, 90, 3), dtype=np.uint16)
    path = tmp_path / f"a.{kind}"
    if kind == "tiff":
        pytest.importorskip("pyvips")  # libvips reads TIFF band by band
        tifffile.imwrite(path, values, photometric="rgb", rowsperstrip=8)
    else:
        path.write_bytes(b"P6\n90 70\n65535\n" + values.astype(">u2").tobytes())
    whole = run(["show", str(path), "--no-color"], monkeypatch)
    monkeypatch.setattr(imagestream, "STREAM_PIXELS", 1)  # a 70x90 image read as a large one, band by band
    streamed = run(["show", str(path), "--no-color"], monkeypatch, band=2000)
    view, lines = without_stream_lines(streamed.stdout)
    assert view == whole.stdout and len(lines) == 3
    assert streamed.stderr == whole.stderr


@pytest.mark.parametrize("extra", [[], ["-c", "sobel-x", "--relu", "-s", "3"], ["--color"]])
def test_pool_show_on_a_streamed_run_shows_the_whole_runs_views(csv_with_header, tmp_path, monkeypatch, extra):
    out = tmp_path / "out.csv"
    args = ["pool", str(csv_with_header), "-k", "2", "-o", str(out), "--show"] + (extra or ["--no-color"])
    with monkeypatch.context() as whole_only:
        whole_only.setattr(stream, "try_stream", lambda *a, **kw: None)
        whole = run(args, monkeypatch)
    whole_bytes = out.read_bytes()
    streamed = run(args, monkeypatch, band=200)
    view, lines = without_stream_lines(streamed.stderr)
    assert view == whole.stderr and len(lines) == 2
    assert out.read_bytes() == whole_bytes
    shape = "14x23" if "-s" in extra else "22x35"  # 43x68 after the 3x3 filter, 2x2 windows 3 apart
    assert f"output  {shape} float64" in view and "input" in view


def _peak_rss_kb(args, stdin, tmp_path):
    """Run poolcli in a child fed by ``stdin``; return its stdout and its peak RSS (VmHWM) in kB."""
    peak = tmp_path / "peak"
    probe = (
        "import runpy, sys, atexit\n"
        f"atexit.register(lambda: open({str(peak)!r}, 'w').write("
        "[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]))\n"
        f"sys.argv = ['poolcli', *{args!r}]\n"
        "runpy.run_module('poolcli', run_name='__main__')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "COLUMNS": "80", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-c", probe], stdin=stdin, stdout=subprocess.PIPE, env=env)
    stdin.close()
    out = proc.stdout.read().decode()
    assert proc.wait() == 0
    return out, int(peak.read_text())


def test_show_on_a_stream_of_tens_of_megabytes_keeps_the_corners_in_bounded_memory(tmp_path):
    script = (
        "import sys\n"
        "rest = (',12345.5' * 999 + '\\n').encode()\n"  # 8 KB a row, its first value its number
        "out = sys.stdout.buffer\n"
        "for i in range(7000):\n"  # 56 MB: read whole, its bytes and its float64 values would take 112 MB
        "    out.write(str(i).encode() + rest)\n"
    )
    gen = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    out, peak = _peak_rss_kb(["show", "-", "--max-rows", "4"], gen.stdout, tmp_path)
    assert gen.wait() == 0
    lines = out.splitlines()
    assert lines[0] == "<stdin>  7000x1000 float64  min 0  max 12345.5  mean 1.234e+04"
    assert lines[4].split()[:2] == ["…", "…"]
    assert lines[5].split()[:2] == ["6998", "6998.0"] and lines[6].split()[:2] == ["6999", "6999.0"]
    assert lines[-1] == "streamed: 7,000 x 1,000 (7,000,000 values), NaN 0, inf 0, -inf 0"
    assert peak < 110 * 1024  # kB


def test_pool_show_on_a_streamed_npy_with_channels_shows_the_whole_runs_views(tmp_path, monkeypatch):
    values = np.random.default_rng(8).integers(0, 60000, size=(30, 50, 3), dtype=np.uint16)
    np.save(tmp_path / "a.npy", values)
    out = tmp_path / "out.npy"
    args = ["pool", str(tmp_path / "a.npy"), "-k", "3", "-m", "avg", "-o", str(out), "--show", "--no-color"]
    with monkeypatch.context() as whole_only:
        whole_only.setattr(stream, "try_stream", lambda *a, **kw: None)
        whole = run(args, monkeypatch)
    expected = np.load(out)
    streamed = run(args, monkeypatch, band=500)
    view, lines = without_stream_lines(streamed.stderr)
    assert view == whole.stderr and len(lines) == 6  # input and output, three channels each
    np.testing.assert_array_equal(np.load(out), expected)


def test_a_small_input_shown_by_pool_takes_the_whole_path_views_first(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "poolcli", "pool", "-", "-k", "2", "--show", "--no-color"],
        input=b"1,2\n3,4\n",
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd(), "COLUMNS": "80"},
    )
    assert proc.returncode == 0 and proc.stdout == b"4\n"
    assert proc.stderr.decode().splitlines()[0] == "input  2x2 float64  min 1  max 4  mean 2.5"
    assert "streamed: " not in proc.stderr.decode()
