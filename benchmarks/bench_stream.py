"""Streamed pooling: peak memory on long streams, throughput against the whole-file path and np.loadtxt,
and a three-stage pipe's first-line latency and wall time.

    python benchmarks/bench_stream.py                    # CSV streams of 0.5 and 2 GB, a 2 GB NPY
    python benchmarks/bench_stream.py --sizes 0.5 2 8 --npy-gb 8
    python benchmarks/bench_stream.py --sizes --npy-gb 0 --text-mb 0 --pipe-mb 0 --png-side 16384   # the PNG only
    python benchmarks/bench_stream.py --sizes --npy-gb 0 --text-mb 0 --pipe-mb 0 --png-side 0 --show-gb 0.5   # views
    python benchmarks/bench_stream.py --sizes --npy-gb 0 --text-mb 0 --pipe-mb 0 --png-side 0 --image-side 16384
    python benchmarks/bench_stream.py --sizes --adaptive-sizes 0.1 0.4 --npy-gb 0 --text-mb 0 --pipe-mb 0 --png-side 0

Every poolcli run is a fresh process; its peak RSS is the kernel's (os.wait4's ru_maxrss) for that process
alone. The inputs are generated on the fly (a block of rows repeated), so that no file of that size is needed
for the CSV streams. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import machine, table  # noqa: E402

PY = sys.executable
POOLCLI = [PY, "-m", "poolcli"]
WIDTH = 1000  # values a row: about 8 KB of CSV
LIMIT = str(10**10)  # --max-pixels: an 8 GB input's result is more than the default allows

GEN = r"""
import sys, time
import numpy as np
total, width, half_mark = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None
rng = np.random.default_rng(0)
block = "".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in rng.uniform(0, 1000, (256, width))).encode()
out, written, rows_per_block, marked = sys.stdout.buffer, 0, 256, False
while written < total:
    out.write(block)
    written += len(block)
    if half_mark and not marked and written >= total // 2:
        out.flush()
        open(half_mark, "w").write(repr(time.time()))
        marked = True
out.flush()
"""


#: Runs a command's Python code and then writes its peak RSS (the kernel's VmHWM, in kB) to a file: the
#: rusage of a child counts the pages it shared with this process before exec, so it is read in the child
PEAK = r"""
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as f:
        open(out, "w").write(next(l for l in f if l.startswith("VmHWM")).split()[1])
atexit.register(peak)
if sys.argv[1] == "-c":
    code = sys.argv.pop(2)
    sys.argv.pop(1)
    exec(compile(code, "<code>", "exec"))
else:
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def measure(cmd, *, stdin=None, stdout=subprocess.DEVNULL, stderr=None):
    """Wall seconds and peak RSS (MB) of one Python process: ``cmd`` is [PY, "-m", module, ...] or [PY, "-c", code, ...]."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        t0 = time.perf_counter()
        proc = subprocess.Popen([PY, "-c", PEAK, peak.name] + cmd[1:], stdin=stdin, stdout=stdout, stderr=stderr)
        if stdin is not None and hasattr(stdin, "close"):
            stdin.close()
        if proc.wait() != 0:
            raise SystemExit(f"{cmd} failed")
        wall = time.perf_counter() - t0
        return wall, int(peak.read()) / 1024


def gen_cmd(nbytes, mark=None):
    return [PY, "-c", GEN, str(int(nbytes)), str(WIDTH)] + ([mark] if mark else [])


def csv_streams(sizes):
    rows = []
    for gb in sizes:
        nbytes = gb * 1e9
        gen = subprocess.Popen(gen_cmd(nbytes), stdout=subprocess.PIPE)
        wall, rss = measure(POOLCLI + ["pool", "-", "-k", "2", "--max-pixels", LIMIT], stdin=gen.stdout)
        gen.wait()
        rows.append([f"CSV {gb:g} GB on stdin, `pool - -k 2`", f"{rss:.0f}", f"{wall:.1f}", f"{nbytes / 1e6 / wall:.0f}"])
        print(rows[-1], flush=True)
    return rows


def adaptive_streams(sizes):
    """Global and adaptive averages of CSV streams: global gathers as the rows come, adaptive spools stdin to count."""
    rows = []
    for gb in sizes:
        nbytes = gb * 1e9
        for args in (["--output-size", "global", "-m", "avg"], ["--output-size", "100x100", "-m", "avg"]):
            gen = subprocess.Popen(gen_cmd(nbytes), stdout=subprocess.PIPE)
            wall, rss = measure(POOLCLI + ["pool", "-", *args, "--max-pixels", LIMIT], stdin=gen.stdout)
            gen.wait()
            name = f"CSV {gb:g} GB on stdin, `pool - {' '.join(args)}`"
            rows.append([name, f"{rss:.0f}", f"{wall:.1f}", f"{nbytes / 1e6 / wall:.0f}"])
            print(rows[-1], flush=True)
    return rows


def npy_file(gb, tmp):
    path, out = os.path.join(tmp, "big.npy"), os.path.join(tmp, "out.npy")
    h = int(gb * 1e9 // (8 * 4096))
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(h, 4096))
    block = np.random.default_rng(0).uniform(0, 1000, (1024, 4096))
    for i in range(0, h, 1024):
        arr[i : i + 1024] = block[: h - i]
    arr.flush()
    del arr
    wall, rss = measure(POOLCLI + ["pool", path, "-k", "2", "-o", out, "--max-pixels", LIMIT])
    check = np.load(out, mmap_mode="r")
    assert check.shape == (h // 2, 2048) and check[0, 0] == block[:2, :2].max()
    size = os.path.getsize(path)
    os.remove(path)
    os.remove(out)
    return [f"NPY {size / 1e9:.1f} GB float64 ({h}x4096), `pool big.npy -k 2 -o out.npy`", f"{rss:.0f}", f"{wall:.1f}",
            f"{size / 1e6 / wall:.0f}"]


def png_file(side, tmp):
    """A side x side 8-bit grey PNG pooled 2x2 to a PNG: streamed through libvips, and read whole (the library's
    default run, which keeps the values)."""
    from poolcli.formats import codecs

    path, out = os.path.join(tmp, "big.png"), os.path.join(tmp, "out.png")
    # a gradient with 4 bits of noise: it compresses to about half, as photographs roughly do
    pixels = np.random.default_rng(0).integers(0, 16, (side, side), dtype=np.uint8)
    pixels += (np.arange(side) * 240 // side).astype(np.uint8)[:, None]
    with open(path, "wb") as f:
        codecs.png_writer(pixels, 1)(f)
    del pixels
    size = os.path.getsize(path)
    rows = []
    limit = str(side * side)
    for label, cmd in [
        ("streamed (libvips)", POOLCLI + ["pool", path, "-k", "2", "-o", out, "--max-pixels", limit]),
        ("whole (library run)", [PY, "-c", WHOLE, path, out]),
    ]:
        wall, rss = measure(cmd)
        rows.append([f"PNG {side}x{side} grey ({size / 1e6:.0f} MB), `pool big.png -k 2 -o out.png`, {label}",
                     f"{rss:.0f}", f"{wall:.1f}", f"{size / 1e6 / wall:.0f}"])
        print(rows[-1], flush=True)
    os.remove(path)
    os.remove(out)
    return rows


def show_streams(gb, tmp):
    """`show -` and `pool - --show -o out.csv` on a CSV stream: the views keep the corners, not the input (the
    pooling alone, without --show, for the time --show adds). Each view is printed as it came out."""
    nbytes = gb * 1e9
    out = os.path.join(tmp, "show_out.csv")
    runs = [
        ("`show -`", ["show", "-", "--max-rows", "6", "--max-pixels", LIMIT]),
        ("`pool - -k 2 -o out.csv --show`", ["pool", "-", "-k", "2", "-o", out, "--show", "--max-pixels", LIMIT]),
        ("`pool - -k 2 -o out.csv` (no view)", ["pool", "-", "-k", "2", "-o", out, "--max-pixels", LIMIT]),
    ]
    rows = []
    for label, args in runs:
        gen = subprocess.Popen(gen_cmd(nbytes), stdout=subprocess.PIPE)
        with tempfile.TemporaryFile("w+") as view:
            wall, rss = measure(POOLCLI + args, stdin=gen.stdout, stdout=view, stderr=view)
            gen.wait()
            view.seek(0)
            print(f"$ gen {gb:g} GB | poolcli {' '.join(args)}\n{view.read()}", flush=True)
        rows.append([f"CSV {gb:g} GB on stdin, {label}", f"{rss:.0f}", f"{wall:.1f}", f"{nbytes / 1e6 / wall:.0f}"])
        print(rows[-1], flush=True)
    os.remove(out)
    return rows


def _gradient(side, r0, r1, channels=1):
    """Rows r0..r1 of a side x side test image: a gradient with 4 bits of noise (compresses about as photographs do)."""
    rng = np.random.default_rng(r0)
    shape = (r1 - r0, side) + ((channels,) if channels > 1 else ())
    block = rng.integers(0, 16, shape, dtype=np.uint8)
    block += (np.arange(r0, r1) * 240 // side).astype(np.uint8).reshape((-1, 1) + (1,) * (block.ndim - 2))
    return block


def _write_png(path, side, channels):
    from poolcli.formats import codecs

    with open(path, "wb") as f:  # block by block: the benchmark's own memory stays small
        rows = codecs.PngRows(f, (side, channels) if channels > 1 else (side,), side, np.dtype(np.uint8), 1)
        for r0 in range(0, side, codecs.PNG_BLOCK_ROWS):
            rows.add(_gradient(side, r0, min(side, r0 + codecs.PNG_BLOCK_ROWS), channels))
        rows.end()


def _write_tiff(path, side, tiles):
    import tifffile

    def parts():
        step = 256 if tiles else 64
        for r0 in range(0, side, step):
            block = _gradient(side, r0, r0 + step)
            if tiles:
                yield from (block[:, c : c + 256] for c in range(0, side, 256))
            else:
                yield block

    layout = dict(tile=(256, 256)) if tiles else dict(rowsperstrip=64)
    tifffile.imwrite(path, parts(), shape=(side, side), dtype=np.uint8, **layout)


def _write_ppm(path, side):
    with open(path, "wb") as f:
        f.write(f"P6\n{side} {side}\n255\n".encode())
        for r0 in range(0, side, 256):
            f.write(_gradient(side, r0, min(side, r0 + 256), 3).tobytes())


def big_images(side, tmp):
    """Large images pooled 2x2 to a PNG, streamed: a grey TIFF in strips and in tiles, an RGB PNG (max, whose
    pixels are written as they come, and avg, whose values are held in a temporary file until their extremes
    are known), an RGB PPM; and the RGB PNG read whole (the library's run, values kept) for comparison."""
    made = {
        "grey TIFF, strips of 64 rows": ("big.tif", lambda p: _write_tiff(p, side, False)),
        "grey TIFF, tiles of 256x256": ("big_tiles.tif", lambda p: _write_tiff(p, side, True)),
        "RGB PNG": ("rgb.png", lambda p: _write_png(p, side, 3)),
        "RGB PPM (P6)": ("rgb.ppm", lambda p: _write_ppm(p, side)),
    }
    rows = []
    out = os.path.join(tmp, "out.png")
    limit = str(side * side)
    for label, (name, write) in made.items():
        path = os.path.join(tmp, name)
        write(path)
        size = os.path.getsize(path)
        runs = [("streamed", POOLCLI + ["pool", path, "-k", "2", "-o", out, "--max-pixels", limit])]
        if label == "RGB PNG":
            avg = POOLCLI + ["pool", path, "-k", "2", "-m", "avg", "-o", out, "--max-pixels", limit]
            runs += [("streamed, `-m avg` (values held in a temporary file)", avg),
                     ("whole (library run)", [PY, "-c", WHOLE, path, out])]
        for how, cmd in runs:
            wall, rss = measure(cmd)
            rows.append([f"{label} {side}x{side} ({size / 1e6:.0f} MB) to PNG, `-k 2`, {how}", f"{rss:.0f}",
                         f"{wall:.1f}", f"{size / 1e6 / wall:.0f}"])
            print(rows[-1], flush=True)
        os.remove(path)
        os.remove(out)
    return rows


WHOLE = r"""
import sys
from poolcli.pipeline import PoolSpec, WindowSpec, run
run(sys.argv[1], sys.argv[2], PoolSpec(window=WindowSpec(size=2), max_pixels=10**10))
"""
LOADTXT = "import sys, numpy as np; np.loadtxt(sys.argv[1], delimiter=',')"


def throughput(tmp, mb):
    path, out = os.path.join(tmp, "t.csv"), os.path.join(tmp, "t_out.csv")
    with open(path, "wb") as f:
        subprocess.run(gen_cmd(mb * 1e6), stdout=f, check=True)
    size = os.path.getsize(path) / 1e6
    runs = {
        "poolcli streamed (`pool t.csv -k 2 -o out.csv`)": POOLCLI + ["pool", path, "-k", "2", "-o", out],
        "poolcli whole-file path (library `run`, values kept)": [PY, "-c", WHOLE, path, out],
        "np.loadtxt of the same file (reading only)": [PY, "-c", LOADTXT, path],
    }
    rows = []
    for name, cmd in runs.items():
        best = min(measure(cmd) for _ in range(2))
        rows.append([name, f"{best[1]:.0f}", f"{best[0]:.2f}", f"{size / best[0]:.0f}"])
    os.remove(path)
    return rows


def pipeline(tmp, mb):
    """gen | pool - | pool - | pool -: when the first line comes out against when gen passed half, and the wall
    time against the stages run one after another through files."""
    mark = os.path.join(tmp, "half")
    nbytes = mb * 1e6
    stage = POOLCLI + ["pool", "-", "-k", "2"]
    t0 = time.time()
    gen = subprocess.Popen(gen_cmd(nbytes, mark), stdout=subprocess.PIPE)
    p1 = subprocess.Popen(stage, stdin=gen.stdout, stdout=subprocess.PIPE)
    p2 = subprocess.Popen(stage, stdin=p1.stdout, stdout=subprocess.PIPE)
    p3 = subprocess.Popen(stage, stdin=p2.stdout, stdout=subprocess.PIPE)
    gen.stdout.close(), p1.stdout.close(), p2.stdout.close()
    p3.stdout.readline()
    first = time.time()
    for _ in p3.stdout:
        pass
    for p in (gen, p1, p2, p3):
        p.wait()
    wall = time.time() - t0
    half = float(open(mark).read())
    files = [os.path.join(tmp, f"s{i}.csv") for i in range(4)]
    seq = 0.0
    with open(files[0], "wb") as f:
        t = time.perf_counter()
        subprocess.run(gen_cmd(nbytes), stdout=f, check=True)
        seq += time.perf_counter() - t
    for a, b in zip(files, files[1:]):
        with open(a, "rb") as fin, open(b, "wb") as fout:
            t = time.perf_counter()
            subprocess.run(stage, stdin=fin, stdout=fout, check=True)
            seq += time.perf_counter() - t
    for f in files:
        os.remove(f)
    return [
        [f"{mb:g} MB through 3 stages", f"{first - t0:.2f}", f"{half - t0:.2f}", f"{wall:.2f}", f"{seq:.2f}"]
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="*", default=[0.5, 2])
    ap.add_argument("--npy-gb", type=float, default=2)
    ap.add_argument("--adaptive-sizes", type=float, nargs="*", default=[], help="GB of CSV for global/adaptive avg")
    ap.add_argument("--text-mb", type=float, default=200)
    ap.add_argument("--pipe-mb", type=float, default=300)
    ap.add_argument("--png-side", type=int, default=16384, help="side of the grey PNG (0: none)")
    ap.add_argument("--show-gb", type=float, default=0.5, help="CSV stream shown by show and pool --show (0: none)")
    ap.add_argument("--image-side", type=int, default=0,
                    help="side of the grey TIFFs (strips, tiles), RGB PNG and RGB PPM pooled to PNG (0: none)")
    args = ap.parse_args()
    print(machine(), "\n")
    with tempfile.TemporaryDirectory() as tmp:
        rows = csv_streams(args.sizes) + adaptive_streams(args.adaptive_sizes)
        if args.npy_gb:
            rows.append(npy_file(args.npy_gb, tmp))
        if args.png_side:
            rows += png_file(args.png_side, tmp)
        if args.show_gb:
            rows += show_streams(args.show_gb, tmp)
        if args.image_side:
            rows += big_images(args.image_side, tmp)
        print(table("Peak memory of streamed runs", ["run", "peak RSS MB", "wall s", "MB/s"], rows))
        if args.text_mb:
            print(table(f"Text throughput, {args.text_mb:g} MB CSV of {WIDTH} columns",
                        ["run", "peak RSS MB", "wall s", "MB/s"], throughput(tmp, args.text_mb)))
        if args.pipe_mb:
            print(table("Three-stage pipe: gen | pool - -k 2 | pool - -k 2 | pool - -k 2",
                        ["input", "first line at s", "gen half-way at s", "pipe wall s", "stages one after another s"],
                        pipeline(tmp, args.pipe_mb)))


if __name__ == "__main__":
    main()
