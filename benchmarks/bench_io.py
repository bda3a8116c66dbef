"""Start-up, text I/O, the whole `poolcli pool` on a large PNG, and `poolcli batch` with 1 and 2 jobs.

    python benchmarks/bench_io.py              # everything but the 16384^2 run
    python benchmarks/bench_io.py --huge       # also pool a 16384x16384 PNG and report its peak RSS
    python benchmarks/bench_io.py --text       # only the text tables: poolcli, pyarrow, numpy, pandas (if installed)
    python benchmarks/bench_io.py --text --data "float64, uniform [0, 1)" --data "pooled 8-bit image" --rounds 5
                                               # only those data sets (issue 14's two cases), 5 rounds each

Every command is timed as a fresh process (median of several runs), against the baseline named beside it;
the text readers and writers are timed in one process, their runs interleaved.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt, machine, median_ms, optional, table  # noqa: E402

from poolcli.io import format_matrix, parse_matrix  # noqa: E402

PY = sys.executable
POOLCLI = [PY, "-m", "poolcli"]


def run_ms(cmd, repeat=7, **kw) -> float:
    return median_ms(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw), repeat)


def startup(tmp):
    # as after `pip install`: the package's bytecode compiled once (PYTHONDONTWRITEBYTECODE would skip it)
    import poolcli

    subprocess.run([PY, "-m", "compileall", "-q", os.path.dirname(poolcli.__file__)], check=True)
    csv = os.path.join(tmp, "m28.csv")
    np.savetxt(csv, np.random.default_rng(0).random((28, 28)), delimiter=",")
    base_click = run_ms([PY, "-c", "import click"])
    base_np = run_ms([PY, "-c", "import numpy, click"])
    helps = run_ms(POOLCLI + ["--help"])
    pool = run_ms(POOLCLI + ["pool", csv])
    rows = [
        ["poolcli --help", fmt(helps), 'python -c "import click"', fmt(base_click), f"{helps / base_click:.2f}x"],
        ["poolcli pool 28x28.csv", fmt(pool), 'python -c "import numpy, click"', fmt(base_np), f"{pool / base_np:.2f}x"],
    ]
    return table("Start-up (ms, fresh process)", ["command", "time", "baseline", "baseline time", "command / baseline"], rows)


def text_data(n=2048):
    """The matrices the text tables read and write, by name."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (2 * n, 2 * n), dtype=np.uint8)
    return {
        "float64, uniform [0, 1)": lambda: rng.random((n, n)),
        "float32, uniform [0, 1)": lambda: rng.random((n, n)).astype(np.float32),
        "float64, normal, sign and size vary": lambda: rng.standard_normal((n, n)) * 10.0 ** rng.integers(-3, 4, (n, n)),
        "float64, below 1e-4 (exponents)": lambda: rng.random((n, n)) * 1e-6,
        "integers 0..255 (as float64)": lambda: rng.integers(0, 256, (n, n)).astype(np.float64),
        # what `poolcli pool` of an 8-bit image writes with max 2x2: uint8 integers
        "pooled 8-bit image": lambda: image.reshape(n, 2, n, 2).max(axis=(1, 3)),
    }


def text_io(n=2048, rounds=5, names=None):
    """Reading and writing the same CSV with poolcli, pyarrow, numpy and pandas, one thread each.

    Every contender runs once per round, the rounds interleaved, and each gets the median: the machine's
    drift touches them alike. Reading is timed to a 2-D float64 array (pyarrow's table converted, as poolcli
    would need it; read_csv alone is shown too); MB/s counts the bytes of the one CSV every reader reads.
    Writing is timed to the text in memory; MB/s counts the bytes each writer writes.
    """
    pa = optional("pyarrow")
    pcsv = optional("pyarrow.csv") and __import__("pyarrow.csv", fromlist=["csv"])
    pd = optional("pandas")
    if pa is not None:
        pa.set_cpu_count(1)
        pa.set_io_thread_count(1)
    makers = text_data(n)
    read_rows, write_rows, summary = [], [], []
    for label in names or makers:
        x = makers[label]()
        text = format_matrix(x).encode()
        mb = len(text) / 1e6
        readers = {"poolcli": lambda: parse_matrix(text, "bench")[0],
                   "np.loadtxt": lambda: np.loadtxt(io.BytesIO(text), delimiter=",")}
        writers = {"poolcli": lambda: format_matrix(x).encode(),
                   "np.savetxt %.17g": lambda: _savetxt(x, "%.17g")}
        if pa is not None:
            types = {f"f{i}": pa.float64() for i in range(n)}
            options = (pcsv.ReadOptions(use_threads=False, autogenerate_column_names=True), pcsv.ConvertOptions(column_types=types))
            readers["pyarrow read_csv"] = lambda: pcsv.read_csv(io.BytesIO(text), read_options=options[0], convert_options=options[1])
            readers["pyarrow + to_numpy"] = lambda: np.column_stack([c.to_numpy() for c in readers["pyarrow read_csv"]().columns])
            table_x = pa.table({f"f{i}": x[:, i] for i in range(n)})
            writers["pyarrow write_csv"] = lambda: _pyarrow_csv(pcsv, table_x)
        if pd is not None:
            readers["pandas read_csv"] = lambda: pd.read_csv(io.BytesIO(text), header=None, dtype=np.float64, engine="c").to_numpy()
            frame = pd.DataFrame(x)
            writers["pandas to_csv"] = lambda: frame.to_csv(header=False, index=False).encode()
        read_ms = _interleaved(readers, rounds)
        write_ms = _interleaved(writers, rounds)
        truth = _cells(text)  # float() of every cell: what an exact reader gives
        exact = {k: _bits_equal(np.asarray(f() if k != "pyarrow read_csv" else readers["pyarrow + to_numpy"]()).ravel(), truth)
                 for k, f in readers.items()}
        outputs = {k: f() for k, f in writers.items()}
        back = {k: _bits_equal(_cells(out).astype(x.dtype), x.ravel()) for k, out in outputs.items()}
        base_read = read_ms.get("pyarrow read_csv")
        for k, ms in read_ms.items():
            read_rows.append([label, k, f"{mb:.0f}", fmt(ms), f"{mb / ms * 1000:.0f}", "yes" if exact[k] else "NO",
                              f"{ms / read_ms['poolcli']:.2f}x" if k != "poolcli" else "",
                              f"{ms / base_read:.2f}" if base_read else "-"])
        for k, ms in write_ms.items():
            size = len(outputs[k]) / 1e6
            write_rows.append([label, k, f"{size:.0f}", fmt(ms), f"{size / ms * 1000:.0f}", "yes" if back[k] else "NO",
                               f"{ms / write_ms['poolcli']:.2f}x" if k != "poolcli" else "",
                               f"{ms / write_ms['np.savetxt %.17g']:.2f}"])
        summary += _summary_rows(label, read_ms, write_ms, exact["poolcli"] and back["poolcli"])
    return (_summary_table(n, rounds, summary) + "\n" + table(f"Reading text, {n}x{n}, one thread (ms, median of {rounds} interleaved runs)",
                  ["data", "reader", "MB", "time", "MB/s", "as float() reads", "this / poolcli", "this / pyarrow read_csv"], read_rows)
            + "\n" + table(f"Writing text, {n}x{n}, one thread (ms, median of {rounds} interleaved runs)",
                            ["data", "writer", "MB out", "time", "MB/s", "reads back", "this / poolcli", "this / np.savetxt %.17g"],
                            write_rows))


def _summary_rows(label, read_ms, write_ms, exact):
    """Issue 14's target 4 for one data set: reading within 1.2x of pyarrow's read_csv, writing no slower than
    np.savetxt("%.17g")."""
    rows = []
    for what, ms, base, limit in (("read", read_ms, "pyarrow read_csv", 1.2), ("write", write_ms, "np.savetxt %.17g", 1.0)):
        ours = ms["poolcli"]
        target = ms.get(base)
        numpy_ms = ms["np.loadtxt" if what == "read" else "np.savetxt %.17g"]
        arrow_ms = ms.get("pyarrow read_csv" if what == "read" else "pyarrow write_csv")
        met = "-" if target is None else ("met" if ours / target <= limit and exact else "MISSED")
        rows.append([label, what, fmt(ours), fmt(arrow_ms) if arrow_ms else "-", fmt(numpy_ms),
                     f"{ours / arrow_ms:.2f}x" if arrow_ms else "-", f"{ours / numpy_ms:.2f}x",
                     f"<= {limit}x of {base}", met])
    return rows


def _summary_table(n, rounds, rows):
    return table(f"Text at columnar speed, {n}x{n}, one thread (ms, median of {rounds} interleaved runs)",
                 ["data", "what", "poolcli", "pyarrow", "numpy", "poolcli / pyarrow", "poolcli / numpy", "target", "target met"], rows)


_PYARROW_POOL = """
import sys, numpy as np, pyarrow as pa, pyarrow.csv as pcsv
pa.set_cpu_count(1); pa.set_io_thread_count(1)
t = pcsv.read_csv(sys.argv[1], read_options=pcsv.ReadOptions(use_threads=False, autogenerate_column_names=True))
x = np.column_stack([c.to_numpy() for c in t.columns]).astype(np.float64)
h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
y = x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
pcsv.write_csv(pa.table({f"f{i}": y[:, i] for i in range(y.shape[1])}), sys.argv[2], pcsv.WriteOptions(include_header=False))
"""
_NUMPY_POOL = """
import sys, numpy as np
x = np.loadtxt(sys.argv[1], delimiter=",")
h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
y = x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
np.savetxt(sys.argv[2], y, delimiter=",", fmt="%.17g")
"""


def text_end_to_end(n=2048):
    """The issue's row: a CSV in, max 2x2, a CSV out, each as a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.csv"), os.path.join(tmp, "out.csv")
        with open(src, "w") as f:
            f.write(format_matrix(np.random.default_rng(0).random((n, n))))
        rows = [["poolcli pool in.csv -o out.csv", fmt(run_ms(POOLCLI + ["pool", src, "-o", dst], 5))]]
        if optional("pyarrow") is not None:
            rows.append(["pyarrow read_csv + numpy + write_csv", fmt(run_ms([PY, "-c", _PYARROW_POOL, src, dst], 5))])
        rows.append(['np.loadtxt + numpy + np.savetxt "%.17g"', fmt(run_ms([PY, "-c", _NUMPY_POOL, src, dst], 5))])
    return table(f"A {n}x{n} float64 CSV in, max 2x2, a CSV out (ms, fresh process, median of 5)", ["command", "time"], rows)


def _interleaved(contenders, rounds):
    times = {k: [] for k in contenders}
    for f in contenders.values():
        f()  # warm up
    for _ in range(rounds):
        for k, f in contenders.items():
            t0 = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t0) * 1000)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def _savetxt(x, fmt_):
    buf = io.BytesIO()
    np.savetxt(buf, x, delimiter=",", fmt=fmt_)
    return buf.getvalue()


def _pyarrow_csv(pcsv, table_x):
    buf = io.BytesIO()
    pcsv.write_csv(table_x, buf, pcsv.WriteOptions(include_header=False))
    return buf.getvalue()


def _cells(text: bytes) -> np.ndarray:
    """float() of every cell of a comma-separated text."""
    cells = text.replace(b"\n", b",").split(b",")
    return np.array([float(c) for c in cells if c])


def _bits_equal(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def make_png(path, n):
    from PIL import Image

    y, x = np.mgrid[0:n, 0:n]
    img = (127 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0) + np.random.default_rng(0).normal(0, 8, (n, n)))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, compress_level=1)


def end_to_end(tmp, n=4096):
    src = os.path.join(tmp, f"big{n}.png")
    make_png(src, n)
    dst = os.path.join(tmp, "out.png")
    bare = (
        "import sys, numpy as np; from PIL import Image; "
        "a = np.asarray(Image.open(sys.argv[1])); "
        "Image.fromarray(np.ascontiguousarray(a[::2, ::2])).save(sys.argv[2], compress_level=1)"
    )
    t_pool = run_ms(POOLCLI + ["pool", src, "-o", dst], 5)
    t_bare = run_ms([PY, "-c", bare, src, dst], 5)
    rows = [["poolcli pool X.png -o Y.png (max 2x2)", fmt(t_pool), "", ""], ["bare decode + subsample + encode", fmt(t_bare), f"{t_pool / t_bare:.2f}x", ""]]
    magick = shutil.which("magick") or shutil.which("convert")
    if magick and b"ImageMagick" in subprocess.run([magick, "-version"], capture_output=True).stdout:
        t_im = run_ms([magick, src, "-statistic", "Maximum", "2x2", "-sample", "50%", dst], 3)
        rows.append(["ImageMagick -statistic Maximum 2x2 -sample 50%", fmt(t_im), "", f"{t_im / t_pool:.2f}x"])
    else:
        rows.append(["ImageMagick", "not installed", "", ""])
    return table(f"End to end, {n}x{n} 8-bit PNG (ms)", ["command", "time", "poolcli / bare", "ImageMagick / poolcli"], rows)


def batch(tmp, files=300, n=256):
    from PIL import Image

    src = os.path.join(tmp, "batch_in")
    os.makedirs(src)
    rng = np.random.default_rng(1)
    for i in range(files):
        Image.fromarray(rng.integers(0, 256, (n, n), dtype=np.uint8)).save(os.path.join(src, f"f{i:04d}.png"))
    rates, whole = {}, {}
    for jobs in (1, 2):
        out = os.path.join(tmp, f"batch_out{jobs}")
        runs = []

        def once():
            shutil.rmtree(out, ignore_errors=True)
            proc = subprocess.run(POOLCLI + ["batch", src, out, "-j", str(jobs)], check=True, capture_output=True, text=True)
            # the summary's rate: from the first file to the last, without interpreter start-up
            runs.append(float(proc.stderr.rsplit(",", 1)[1].split()[0]))

        whole[jobs] = files / (median_ms(once, 3) / 1000)
        rates[jobs] = sorted(runs)[len(runs) // 2]
    rows = [[str(j), f"{rates[j]:.0f}", f"{whole[j]:.0f}"] for j in (1, 2)]
    rows.append(["2 jobs / 1 job", f"{rates[2] / rates[1]:.2f}x", f"{whole[2] / whole[1]:.2f}x"])
    rows.append(["ceiling: 2 processes / 1 of pure Python work, no I/O", f"{_process_scaling():.2f}x", ""])
    return table(
        f"poolcli batch, {files} PNGs of {n}x{n} (files/s)",
        ["jobs", "files/s (poolcli's summary)", "files/s (whole command, with start-up)"],
        rows,
    )


def _spin(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def _process_scaling(n=3_000_000) -> float:
    """How much faster two processes finish two equal CPU-bound jobs than one process does: the machine's ceiling."""
    import multiprocessing

    t0 = time.perf_counter()
    _spin(n)
    _spin(n)
    one = time.perf_counter() - t0
    with multiprocessing.Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # start the workers first
        t0 = time.perf_counter()
        pool.map(_spin, [n, n])
        two = time.perf_counter() - t0
    return one / two


def huge(tmp, n=16384):
    src = os.path.join(tmp, "huge.png")
    # drawn in a child process: a forked child inherits its parent's peak RSS, which would count here
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([PY, "-c", f"import sys; sys.path.insert(0, {here!r}); import bench_io; bench_io.make_png({src!r}, {n})"], check=True)
    dst = os.path.join(tmp, "huge_out.png")
    cmd = POOLCLI + ["pool", src, "-o", dst, "--max-pixels", str(n * n)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    peak = usage.ru_maxrss / 1024  # KiB -> MiB
    arrays = (n * n + (n // 2) ** 2) / 2**20
    rows = [[f"{secs:.1f} s", f"{peak:.0f}", f"{arrays:.0f}", f"{peak - arrays:.0f}", f"{peak / (2 * arrays + 150):.2f}"]]
    return table(
        f"poolcli pool of a {n}x{n} 8-bit PNG",
        ["time", "peak RSS MiB", "input + output arrays MiB", "RSS beyond them", "RSS / (2 x arrays + 150)"],
        rows,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--huge", action="store_true", help="also a 16384x16384 PNG (about a minute, 1 GB of RAM)")
    ap.add_argument("--text", action="store_true", help="only the text tables (a few minutes)")
    ap.add_argument("--data", action="append", choices=list(text_data(1)), help="a text data set (repeat it; default all)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved runs of each text reader and writer (default 5)")
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    if args.text:
        print(text_io(rounds=args.rounds, names=args.data))
        print(text_end_to_end())
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(startup(tmp))
        print(text_io(rounds=args.rounds, names=args.data))
        print(text_end_to_end())
        print(end_to_end(tmp))
        print(batch(tmp))
        if args.huge:
            print(huge(tmp))


if __name__ == "__main__":
    main()
