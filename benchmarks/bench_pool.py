"""pool2d and conv2d against the libraries a user would otherwise pick, measured side by side.

    python benchmarks/bench_pool.py            # 1024^2 and 4096^2, every case (a few minutes)
    python benchmarks/bench_pool.py --quick    # 1024^2 only

Columns: poolcli on one thread and on every core, then each alternative that is installed
(torch, scikit-image, scipy.ndimage, OpenCV, Pillow; `pip install '.[bench]'` brings all but torch),
all on one thread, in milliseconds (median). "best alt / poolcli" is the fastest alternative's time
divided by poolcli's single-thread time: above 1 means poolcli is faster. Alternatives compute the same
windows (a filter, then every s-th cell) except where noted; results are not compared here (the tests
pin poolcli's numbers).
"""

from __future__ import annotations

import argparse
import os
import sys
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt, machine, median_ms, optional, ratio, table  # noqa: E402

from poolcli import FILTERS, conv2d, pool2d, set_threads  # noqa: E402

torch = optional("torch")
cv2 = optional("cv2")
ndi = optional("scipy.ndimage") and __import__("scipy.ndimage", fromlist=["ndimage"])
skm = optional("skimage.measure") and __import__("skimage.measure", fromlist=["measure"])
PIL = optional("PIL")
if torch is not None:
    torch.set_num_threads(1)
if cv2 is not None:
    cv2.setNumThreads(1)

MODES = ["max", "avg", "min", "sum"]
WINDOWS = [(2, 2), (3, 1), (3, 2), (7, 1)]


def sub(a, s):
    return np.ascontiguousarray(a[::s, ::s]) if s > 1 else a


def alternatives(x: np.ndarray, mode: str, k: int, s: int):
    """name -> zero-argument callable, for the alternatives that apply to this case."""
    alts = {}
    if torch is not None:
        t = torch.from_numpy(x)[None, None]
        F = torch.nn.functional
        if mode == "max":
            alts["torch"] = lambda: F.max_pool2d(t, k, s)
        elif mode == "min" and x.dtype.kind == "f":
            alts["torch"] = lambda: -F.max_pool2d(-t, k, s)
        elif mode == "avg" and x.dtype.kind == "f":
            alts["torch"] = lambda: F.avg_pool2d(t, k, s)
        elif mode == "sum" and x.dtype.kind == "f":
            alts["torch"] = lambda: F.avg_pool2d(t, k, s, divisor_override=1)
    if skm is not None and k == s:
        func = {"max": np.max, "min": np.min, "avg": np.mean, "sum": np.sum}[mode]
        alts["skimage"] = lambda: skm.block_reduce(x, (k, k), func)
    if ndi is not None:
        if mode == "max":
            alts["scipy"] = lambda: sub(ndi.maximum_filter(x, size=k), s)
        elif mode == "min":
            alts["scipy"] = lambda: sub(ndi.minimum_filter(x, size=k), s)
        elif mode == "avg":
            alts["scipy"] = lambda: sub(ndi.uniform_filter(x, size=k), s)
    if cv2 is not None:
        kern = np.ones((k, k), np.uint8)
        if mode == "max":
            alts["OpenCV"] = lambda: sub(cv2.dilate(x, kern), s)
        elif mode == "min":
            alts["OpenCV"] = lambda: sub(cv2.erode(x, kern), s)
        elif mode == "avg" and (k, s) == (2, 2):
            alts["OpenCV"] = lambda: cv2.resize(x, (x.shape[1] // 2, x.shape[0] // 2), interpolation=cv2.INTER_AREA)
        elif mode == "avg":
            alts["OpenCV"] = lambda: sub(cv2.blur(x, (k, k)), s)
        elif mode == "sum":
            alts["OpenCV"] = lambda: sub(cv2.boxFilter(x, cv2.CV_32F, (k, k), normalize=False), s)
    if PIL is not None:
        from PIL import Image, ImageFilter

        im = Image.fromarray(x)
        if mode == "avg" and (k, s) == (2, 2):
            alts["Pillow"] = lambda: im.reduce(2)
        elif mode in ("max", "min") and s == 1 and k % 2 == 1 and x.dtype == np.uint8:
            filt = ImageFilter.MaxFilter(k) if mode == "max" else ImageFilter.MinFilter(k)
            alts["Pillow"] = lambda: im.filter(filt)
    return alts


ALT_NAMES = ["torch", "skimage", "scipy", "OpenCV", "Pillow"]


def pooling_tables(sizes, repeat):
    out = []
    per_pixel = {}
    for n in sizes:
        rows = []
        for dtype in (np.uint8, np.float32):
            x = (np.random.default_rng(0).random((n, n)) * 255).astype(dtype)
            for mode in MODES:
                for k, s in WINDOWS:
                    set_threads(1)
                    one = median_ms(lambda: pool2d(x, k, s, mode=mode), repeat)
                    set_threads(None)
                    many = median_ms(lambda: pool2d(x, k, s, mode=mode), repeat)
                    alts = {name: median_ms(fn, max(1, repeat // 2)) for name, fn in alternatives(x, mode, k, s).items()}
                    best = min(alts.values()) if alts else None
                    per_pixel[(n, dtype.__name__, mode, k, s)] = one / (n * n)
                    rows.append(
                        [f"{mode} {k}x{k}/{s} {dtype.__name__}", fmt(one), fmt(many)]
                        + [fmt(alts.get(a)) for a in ALT_NAMES]
                        + [ratio(one, best)]
                    )
            rows.append([f"floor: copy input {dtype.__name__}", fmt(median_ms(lambda: x.copy(), repeat)), "", "", "", "", "", "", ""])
        out.append(
            table(
                f"Pooling {n}x{n} (ms)",
                ["case", "poolcli 1 thread", f"poolcli {os.cpu_count()} threads"] + ALT_NAMES + ["best alt / poolcli"],
                rows,
            )
        )
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        rows = []
        for (n, dt, mode, k, s), v in per_pixel.items():
            if n == big:
                rows.append([f"{mode} {k}x{k}/{s} {dt}", f"{v / per_pixel[(small, dt, mode, k, s)]:.2f}"])
        out.append(table(f"Scale: time per pixel at {big}^2 / at {small}^2 (1 thread)", ["case", "ratio"], rows))
    return out


def conv_table(n, repeat):
    x = np.random.default_rng(0).random((n, n)).astype(np.float32)
    x8 = (x * 255).astype(np.uint8)
    rows = []
    for name in ("top-edge", "laplacian", "sharpen", "blur", "gaussian", "emboss"):
        k = FILTERS[name].astype(np.float32)
        set_threads(1)
        one = median_ms(lambda: conv2d(x, k), repeat)
        set_threads(None)
        many = median_ms(lambda: conv2d(x, k), repeat)
        alts = {}
        if torch is not None:
            t, kt = torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None]
            alts["torch"] = median_ms(lambda: torch.nn.functional.conv2d(t, kt), max(1, repeat // 2))
        if ndi is not None:
            alts["scipy"] = median_ms(lambda: ndi.correlate(x, k), max(1, repeat // 2))
        if cv2 is not None:
            alts["OpenCV"] = median_ms(lambda: cv2.filter2D(x, -1, k), repeat)
        if PIL is not None:
            from PIL import Image, ImageFilter

            im = Image.fromarray(x8)
            kern = ImageFilter.Kernel((3, 3), k[::-1].ravel().tolist(), scale=1)  # Pillow flips rows
            alts["Pillow (uint8)"] = median_ms(lambda: im.filter(kern), repeat)
        names = ["torch", "scipy", "OpenCV", "Pillow (uint8)"]
        rows.append(
            [name, fmt(one), fmt(many)]
            + [fmt(alts.get(a)) for a in names]
            + [ratio(one, alts.get("scipy")), ratio(one, alts.get("OpenCV"))]
        )
    return table(
        f"conv2d 3x3 float32 {n}x{n} (ms)",
        ["filter", "poolcli 1 thread", f"poolcli {os.cpu_count()} threads", "torch", "scipy", "OpenCV", "Pillow (uint8)",
         "scipy / poolcli", "OpenCV / poolcli"],
        rows,
    )


def memory_table(n):
    rows = []
    for dtype in (np.uint8, np.float32):
        x = (np.random.default_rng(0).random((n, n)) * 255).astype(dtype)
        for mode, k, s in (("max", 2, 2), ("max", 3, 1), ("avg", 2, 2), ("avg", 3, 1), ("max", 7, 1)):
            set_threads(1)
            tracemalloc.start()
            out = pool2d(x, k, s, mode=mode)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            set_threads(None)
            mb = 1 / 2**20
            rows.append(
                [f"{mode} {k}x{k}/{s} {dtype.__name__}", f"{x.nbytes * mb:.1f}", f"{out.nbytes * mb:.1f}",
                 f"{peak * mb:.1f}", f"{(peak - out.nbytes) * mb:.2f}"]
            )
    return table(
        f"Peak memory of pool2d beyond its input, {n}x{n} (MiB, tracemalloc)",
        ["case", "input", "output", "peak allocated", "peak minus output"],
        rows,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1024x1024 only")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sizes = [1024] if args.quick else [1024, 4096]
    print(f"Machine: {machine()}")
    print(f"Installed: {', '.join(n for n, m in [('torch', torch), ('scikit-image', skm), ('scipy', ndi), ('OpenCV', cv2), ('Pillow', PIL)] if m is not None)}\n")
    for t in pooling_tables(sizes, args.repeat):
        print(t)
    print(conv_table(sizes[-1], args.repeat))
    print(memory_table(sizes[-1]))


if __name__ == "__main__":
    main()
