"""The optional OpenCV path (poolcli[accel]) against the numpy path and OpenCV called directly, in one run.

    python benchmarks/bench_accel.py            # headline cases at 4096^2, the grid at 2048^2
    python benchmarks/bench_accel.py --quick    # 1024^2 / 512^2, fewer repeats

One thread throughout (set_threads(1), cv2.setNumThreads(1)). Times are medians in milliseconds, the three
calls of a row taken in turn (interleaved), so that the load of a shared machine falls on each alike. "numpy" is
pool2d with set_accel(False), "accel" with set_accel(True) (the same values, bit for bit: tests/test_accel.py);
"OpenCV" is the OpenCV call alone on the same input giving an output of the same shape (dilate/erode with
its default border, resize INTER_AREA, blur with a constant border). "used" says whether the dispatch took
OpenCV: a case it declines (strided windows, NaN, ...) runs the numpy path in both columns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt, machine, table

import poolcli
from poolcli.engine import accel

cv2 = __import__("cv2")
cv2.setNumThreads(1)


def times(x: float | None, y: float | None) -> str:
    return "-" if x is None or y is None else f"{x / y:.2f}"


def used(x: np.ndarray, **kw: object) -> bool:
    """Whether the dispatch takes OpenCV for this case (the accelerated module returns a result)."""
    calls = []
    for name in ("extremes", "rounded_avg"):
        real = getattr(accel, name)

        def spy(*args: object, real=real) -> object:
            out = real(*args)
            calls.append(out is not None)
            return out

        setattr(poolcli.engine.pooling, name, spy)
    try:
        poolcli.set_accel(True)
        poolcli.pool2d(x, **kw)
    finally:
        for name in ("extremes", "rounded_avg"):
            setattr(poolcli.engine.pooling, name, getattr(accel, name))
    return any(calls)


def interleaved(fns: list, repeat: int) -> list[float]:
    """Median ms of each function, called in turn ``repeat`` times after one warm-up round, so that a shared
    machine's load falls on all of them alike."""
    samples: list[list[float]] = [[] for _ in fns]
    for r in range(repeat + 1):
        for fn, got in zip(fns, samples):
            t0 = time.perf_counter()
            fn()
            if r:
                got.append(time.perf_counter() - t0)
    return [statistics.median(got) * 1000 for got in samples]


def with_accel(on: bool, x: np.ndarray, kw: dict):
    def run() -> object:
        poolcli.set_accel(on)
        return poolcli.pool2d(x, **kw)

    return run


def measure(x: np.ndarray, kw: dict, direct, repeat: int) -> list[str]:
    slow, fast, theirs = interleaved([with_accel(False, x, kw), with_accel(True, x, kw), direct], repeat)
    return [fmt(slow), fmt(fast), fmt(theirs), times(fast, theirs), times(fast, slow), "yes" if used(x, **kw) else "no"]


def measure_conv(x: np.ndarray, kernel: np.ndarray, direct, repeat: int) -> list[str]:
    def run(on: bool):
        def go() -> object:
            poolcli.set_accel(on)
            return poolcli.conv2d(x, kernel, "same")

        return go

    slow, fast, theirs = interleaved([run(False), run(True), direct], repeat)
    return [fmt(slow), fmt(fast), fmt(theirs), times(fast, theirs), times(fast, slow), "yes"]


COLUMNS = ["case", "numpy", "accel", "OpenCV", "accel / OpenCV", "accel / numpy", "used"]


def headline(n: int, repeat: int) -> str:
    """The issue's misses: uint8 averages to uint8, float32 stride-1 max, a strided view."""
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (n, n), dtype=np.uint8)
    rgb = rng.integers(0, 256, (n, n, 3), dtype=np.uint8)
    f32 = rng.random((n, n), dtype=np.float32)
    view = rgb[:, :, 1]
    k3, k7 = np.ones((3, 3), np.uint8), np.ones((7, 7), np.uint8)
    rows = []
    for label, x in (("gray", gray), ("RGB HxWx3", rgb)):
        h, w = x.shape[:2]
        area = lambda x=x, h=h, w=w: cv2.resize(x, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        rows.append(
            [f"avg 2x2/2 uint8->uint8 {label}"] + measure(x, dict(size=2, mode="avg", dtype="same"), area, repeat)
        )
        blur = lambda x=x: cv2.blur(x, (3, 3), borderType=cv2.BORDER_CONSTANT)
        kw = dict(size=3, stride=1, padding=1, mode="avg", dtype="same")
        rows.append([f"avg 3x3/1 pad 1 uint8->uint8 {label}"] + measure(x, kw, blur, repeat))
    for label, x, k in (("float32 3x3/1", f32, k3), ("float32 7x7/1", f32, k7), ("uint8 view 3x3/1", view, k3)):
        size = k.shape[0]
        kw = dict(size=size, stride=1, padding="same")
        rows.append([f"max {label} same"] + measure(x, kw, lambda x=x, k=k: cv2.dilate(x, k), repeat))
    sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    for label, x in (("uint8", gray), ("uint8 RGB HxWx3", rgb)):
        direct = lambda x=x: cv2.filter2D(x, cv2.CV_64F, sharpen.astype(np.float64), borderType=cv2.BORDER_CONSTANT)
        rows.append([f"conv2d 3x3 sharpen same {label} -> float64"] + measure_conv(x, sharpen, direct, repeat))
    check, dilate = interleaved([lambda: accel._clean(f32), lambda: cv2.dilate(f32, k3)], repeat)
    rows.append(
        [
            "float32: the check alone (no NaN, no -0.0) / dilate 3x3",
            "-",
            fmt(check),
            fmt(dilate),
            times(check, dilate),
            "-",
            "-",
        ]
    )
    return table(f"Issue 14's misses with the accel extra, {n}x{n}, one thread (ms)", COLUMNS, rows)


def grid(n: int, repeat: int) -> str:
    """Target 1's grid for the modes the extra serves: max/min x windows x types x layouts."""
    rows = []
    rng = np.random.default_rng(1)
    windows = (
        ("2x2/2", dict(size=2)),
        ("3x3/1", dict(size=3, stride=1, padding="same")),
        ("3x3/2 same", dict(size=3, stride=2, padding="same")),
        ("7x7/1", dict(size=7, stride=1, padding="same")),
        ("15x15/1", dict(size=15, stride=1, padding="same")),
    )
    for dtype in (np.uint8, np.int16, np.float32, np.float64):
        base = (rng.random((n, n, 3)) * 200 - (50 if dtype != np.uint8 else 0)).astype(dtype)
        for layout in ("2-D", "HxWx3", "view"):
            x = base[:, :, 0].copy() if layout == "2-D" else base if layout == "HxWx3" else base[::-1, :, 1]
            for mode in ("max", "min"):
                for name, kw in windows:
                    kw = dict(kw, mode=mode)
                    k, s = kw["size"], kw.get("stride", kw["size"])
                    op = cv2.dilate if mode == "max" else cv2.erode
                    kern = np.ones((k, k), np.uint8)
                    direct = lambda x=x, op=op, kern=kern, s=s: op(x, kern)[::s, ::s].copy() if s > 1 else op(x, kern)
                    label = f"{mode} {name} {np.dtype(dtype).name} {layout}"
                    rows.append([label] + measure(x, kw, direct, repeat))
    return table(f"max and min with the accel extra, {n}x{n}, one thread (ms)", COLUMNS, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1024^2 and 512^2, fewer repeats")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["headline", "grid"], action="append")
    args = ap.parse_args()
    n = 1024 if args.quick else 4096
    print(f"Machine: {machine()}, OpenCV {cv2.__version__}\n")
    poolcli.set_threads(1)
    parts = {"headline": lambda: headline(n, args.repeat), "grid": lambda: grid(n // 2, args.repeat)}
    for name in args.only or parts:
        print(parts[name](), flush=True)


if __name__ == "__main__":
    main()
