"""Issue 14, target 5: `poolcli pool rgb.png -k 2 -o out.png` on a 4096x4096 RGB PNG against scripts doing the same.

    python benchmarks/bench_png.py              # 5 interleaved rounds
    python benchmarks/bench_png.py --rounds 9
    python benchmarks/bench_png.py --avg        # avg 2x2 of grey and RGB: the integer route against float64

The input is made here: smooth gradients plus Gaussian noise (sigma 6), saved by Pillow at its default level 6.
Every contender is a fresh process (start-up counted, as a user pays it) and writes a PNG at zlib level 1:

- poolcli: `poolcli pool rgb.png -k 2 -o out.png` (its default --compress-level is 1);
- pyvips: decode, max 2x2/2 in libvips itself (the four pixels of each window taken by crop + subsample of
  the four shifted images, their maximum by `bandrank`), `pngsave(compression=1)` with libvips' default row filter;
- Pillow + numpy: `Image.open` + `np.asarray`, max 2x2/2 by reshape, `save(compress_level=1)`.

With ``--avg``: `poolcli pool -m avg -k 2` on grey and RGB (an average of 8-bit pixels written as 8-bit pixels
is pooled as integers, rounded half up), against the same with `--dtype float64` (the float64 average rounded
by the image writer: the route every average took before, the same pixels) and Pillow's `reduce(2)` (which
rounds half up too: the same pixels).

Each round runs every contender once, in turn, so that the machine's drift touches them alike; each gets the
median of its rounds. Every output is checked to hold the same pixels. The table is Markdown, for RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt, machine, table  # noqa: E402

PY = sys.executable

VIPS = """
import sys, pyvips
im = pyvips.Image.new_from_file(sys.argv[1], access="sequential")
w, h = im.width // 2 * 2, im.height // 2 * 2
wide = im.embed(0, 0, w + 1, h + 1)  # one more column and row, so that every shifted crop is w x h
corners = [wide.crop(dx, dy, w, h).subsample(2, 2) for dy in (0, 1) for dx in (0, 1)]
corners[0].bandrank(corners[1:], index=3).pngsave(sys.argv[2], compression=1)
"""

PILLOW = """
import sys
import numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]))
h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
m = a[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).max(axis=(1, 3))
Image.fromarray(m).save(sys.argv[2], compress_level=1)
"""

PILLOW_REDUCE = """
import sys
from PIL import Image
Image.open(sys.argv[1]).reduce(2).save(sys.argv[2], compress_level=1)
"""


def make_input(path: str, n: int = 4096) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    r = x * 200 + rng.normal(0, 6, (n, n))
    g = y * 180 + 30 * np.sin(x * 20) + rng.normal(0, 6, (n, n))
    b = (x + y) * 100 + rng.normal(0, 6, (n, n))
    Image.fromarray(np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--avg", action="store_true", help="avg 2x2 of grey and RGB, integer route and float64")
    args = parser.parse_args()
    if args.avg:
        for grey in (True, False):
            compare(args.rounds, grey)
        return
    compare(args.rounds)


def compare(rounds: int, grey: bool | None = None) -> None:
    """The contenders of max 2x2 on RGB (``grey`` None), or of avg 2x2 on grey or RGB, in interleaved rounds."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "rgb.png")
        make_input(src)
        if grey is None:
            ours = "poolcli pool -k 2"
            runs = {
                ours: lambda out: [PY, "-m", "poolcli", "pool", src, "-k", "2", "-o", out],
                "pyvips script": lambda out: [PY, "-c", VIPS, src, out],
                "Pillow + numpy script": lambda out: [PY, "-c", PILLOW, src, out],
            }
            title = "RGB 4096x4096 PNG, max 2x2/2, PNG out at zlib level 1 (ms, fresh process)"
        else:
            if grey:
                Image.open(src).convert("L").save(src)
            avg = [PY, "-m", "poolcli", "pool", src, "-k", "2", "-m", "avg"]
            ours = "poolcli pool -m avg -k 2"
            runs = {
                ours: lambda out: avg + ["-o", out],
                "poolcli ... --dtype float64 (as before)": lambda out: avg + ["--dtype", "float64", "-o", out],
                "Pillow reduce(2) script": lambda out: [PY, "-c", PILLOW_REDUCE, src, out],
            }
            title = f"{'grey' if grey else 'RGB'} 4096x4096 PNG, avg 2x2/2, PNG out at zlib level 1 (ms, fresh process)"
        times: dict[str, list[float]] = {name: [] for name in runs}
        outs = {name: os.path.join(tmp, f"out{i}.png") for i, name in enumerate(runs)}
        for name, cmd in runs.items():  # a warm-up round: the file cache, the bytecode
            subprocess.run(cmd(outs[name]), check=True)
        for _ in range(rounds):
            for name, cmd in runs.items():
                t0 = time.perf_counter()
                subprocess.run(cmd(outs[name]), check=True)
                times[name].append(time.perf_counter() - t0)
        pixels = {name: np.asarray(Image.open(path)) for name, path in outs.items()}
        first = next(iter(pixels.values()))
        assert all(np.array_equal(first, p) for p in pixels.values()), "the outputs differ"
        written = {name: Path(path).read_bytes() for name, path in outs.items() if name.startswith("poolcli")}
        assert len(set(written.values())) == 1, "poolcli's two routes wrote different files"
        base = statistics.median(times[ours])
        rows = []
        for name in runs:
            med = statistics.median(times[name])
            spread = f"{fmt(min(times[name]) * 1000)}-{fmt(max(times[name]) * 1000)}"
            size = os.path.getsize(outs[name]) / 2**20
            rows.append([name, fmt(med * 1000), spread, f"{med / base:.2f}", f"{size:.1f}"])
        print(machine())
        print(f"input {os.path.getsize(src) / 2**20:.1f} MiB, {rounds} interleaved rounds\n")
        columns = ["contender", "median", "range", "time / poolcli", "output MiB"]
        print(table(title, columns, rows))


if __name__ == "__main__":
    main()
