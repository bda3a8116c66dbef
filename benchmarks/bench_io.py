"""Start-up, text I/O, the whole `poolcli pool` on a large PNG, and `poolcli batch` with 1 and 2 jobs.

    python benchmarks/bench_io.py              # everything but the 16384^2 run
    python benchmarks/bench_io.py --huge       # also pool a 16384x16384 PNG and report its peak RSS

Every command is timed as a fresh process (median of several runs), against the baseline named beside it.
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
from timing import fmt, machine, median_ms, table  # noqa: E402

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


def text_io(n=2048):
    x = np.random.default_rng(0).random((n, n))
    exact = format_matrix(x).encode()
    fixed = io.BytesIO()
    np.savetxt(fixed, x, delimiter=",", fmt="%.4f")
    fixed = fixed.getvalue()
    t_parse = median_ms(lambda: parse_matrix(exact, "bench"), 3)
    t_loadtxt = median_ms(lambda: np.loadtxt(io.StringIO(exact.decode()), delimiter=","), 3)
    t_write = median_ms(lambda: format_matrix(x), 3)
    t_savetxt = median_ms(lambda: np.savetxt(io.BytesIO(), x, delimiter=",", fmt="%.4f"), 3)
    mb = len(exact) / 1e6
    rows = [
        ["read the exact CSV", f"{mb:.0f} MB", fmt(t_parse), "np.loadtxt, same text", fmt(t_loadtxt), f"{t_parse / t_loadtxt:.2f}x"],
        ["write exact (shortest round-trip)", f"{mb:.0f} MB", fmt(t_write), 'np.savetxt fmt="%.4f"', fmt(t_savetxt), f"{t_write / t_savetxt:.2f}x"],
    ]
    return table(f"Text I/O, {n}x{n} float64 (ms)", ["poolcli", "size", "time", "baseline", "baseline time", "poolcli / baseline"], rows)


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
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        print(startup(tmp))
        print(text_io())
        print(end_to_end(tmp))
        print(batch(tmp))
        if args.huge:
            print(huge(tmp))


if __name__ == "__main__":
    main()
