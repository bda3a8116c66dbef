"""Issue 14's engine targets, measured side by side with the alternatives in the same run.

    python benchmarks/bench_engine.py            # 4096^2 (the grid at 2048^2), a few minutes
    python benchmarks/bench_engine.py --quick    # 1024^2, fewer repeats
    python benchmarks/bench_engine.py --only small --only padding   # the 8x8 calls; same/explicit padding

Every alternative runs on one thread (torch.set_num_threads(1), cv2.setNumThreads(1)); poolcli runs on one
thread unless a column says otherwise. Times are medians in milliseconds (microseconds for the 8x8 table).
"ratio" is poolcli's time over the named alternative's: below 1 means poolcli is faster; the targets are
ratios (for example global max within 1.5x of numpy's own x.max(axis=(0, 1))).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt, machine, median_ms, optional, table  # noqa: E402

from poolcli import pool2d, set_threads, using_threads  # noqa: E402

torch = optional("torch")
cv2 = optional("cv2")
PIL = optional("PIL")
skm = optional("skimage.measure") and __import__("skimage.measure", fromlist=["measure"])
if torch is not None:
    torch.set_num_threads(1)
if cv2 is not None:
    cv2.setNumThreads(1)


def times(x: float | None, y: float | None) -> str:
    return "-" if x is None or y is None else f"{x / y:.2f}"


def best_of(alts: dict[str, float]) -> tuple[str, float | None]:
    if not alts:
        return "-", None
    name = min(alts, key=lambda k: alts[k])
    return name, alts[name]


def global_and_adaptive(n: int, repeat: int) -> str:
    rows = []
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.uint8):
        x = (rng.random((n, n)) * 255).astype(dtype)
        t = torch.from_numpy(x.astype(np.float32))[None, None] if torch is not None else None
        F = torch.nn.functional if torch is not None else None
        cases = [
            ("global max", dict(output_size="global"), lambda: x.max(axis=(0, 1)), "x.max(axis=(0, 1))"),
            ("global avg", dict(output_size="global", mode="avg"), lambda: x.mean(axis=(0, 1)), "x.mean(axis=(0, 1))"),
            ("global sum", dict(output_size="global", mode="sum"), lambda: x.sum(axis=(0, 1), dtype=np.float64), "x.sum"),
        ]
        for out in (7, 64, 100, n // 3):
            torch_fn = (lambda o=out: F.adaptive_max_pool2d(t, o)) if torch is not None and dtype == np.float32 else None
            cases.append((f"adaptive max {out}x{out}", dict(output_size=out), torch_fn, "torch adaptive_max_pool2d"))
        for out in (7, 100, n // 2):  # 7 and 100: irregular windows; n // 2: 2x2 ones side by side
            torch_avg = (lambda o=out: F.adaptive_avg_pool2d(t, o)) if torch is not None and dtype == np.float32 else None
            cases.append((f"adaptive avg {out}x{out}", dict(output_size=out, mode="avg"), torch_avg, "torch adaptive_avg_pool2d"))
        torch_idx = (lambda: F.adaptive_max_pool2d(t, 100, return_indices=True)) if torch is not None and dtype == np.float32 else None
        cases.append(
            ("adaptive max 100x100 + indices", dict(output_size=100, return_indices=True), torch_idx, "torch return_indices")
        )
        cases.append(
            ("global max + indices", dict(output_size="global", return_indices=True), lambda: np.argmax(x), "np.argmax(x)")
        )
        for name, kw, alt, alt_name in cases:
            ours = median_ms(lambda: pool2d(x, **kw), repeat)
            theirs = median_ms(alt, repeat) if alt is not None else None
            rows.append([f"{name} {np.dtype(dtype).name}", fmt(ours), alt_name if alt else "-", fmt(theirs), times(ours, theirs)])
    return table(f"Global and adaptive pooling, {n}x{n} (ms)", ["case", "poolcli", "alternative", "alt", "ratio"], rows)


def indices(n: int, repeat: int) -> str:
    rows = []
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.uint8):
        x = (rng.random((n, n)) * 255).astype(dtype)
        for k, s in ((2, 2), (3, 2), (3, 1)):
            ours = median_ms(lambda: pool2d(x, k, s, return_indices=True), repeat)
            theirs = None
            if torch is not None:
                t = torch.from_numpy(x.astype(np.float32) if dtype == np.uint8 else x)[None, None]
                theirs = median_ms(lambda: torch.nn.functional.max_pool2d(t, k, s, return_indices=True), repeat)
            rows.append([f"max {k}x{k}/{s} {np.dtype(dtype).name}", fmt(ours), fmt(theirs), times(ours, theirs)])
    return table(
        f"Max pooling with indices, {n}x{n} (ms; torch on float32)", ["case", "poolcli", "torch return_indices", "ratio"], rows
    )


def small_inputs(repeat: int, cpu: bool = False) -> str:
    """Per-call times on 8x8 inputs: wall time, or with ``cpu`` the process's CPU time (time.process_time),
    which time spent waiting for a core shared with other processes does not inflate."""
    rows = []
    rng = np.random.default_rng(0)

    def us(fn) -> float:
        number = 2000
        timer = time.process_time if cpu else time.perf_counter
        return statistics.median(timeit.repeat(fn, number=number, repeat=max(5, repeat), timer=timer)) / number * 1e6

    for dtype in (np.float32, np.uint8):
        x = (rng.random((8, 8)) * 255).astype(dtype)
        kern = np.ones((3, 3), np.uint8)
        t = torch.from_numpy(x.astype(np.float32))[None, None] if torch is not None else None
        cases = [
            ("max 2x2/2", dict(size=2), {"numpy reshape-max": lambda: x.reshape(4, 2, 4, 2).max(axis=(1, 3))}),
            ("avg 2x2/2", dict(size=2, mode="avg"), {"numpy reshape-mean": lambda: x.reshape(4, 2, 4, 2).mean(axis=(1, 3))}),
            ("max 3x3/1 same", dict(size=3, stride=1, padding="same"), {}),
            ("avg 3x3/1 valid", dict(size=3, stride=1, mode="avg"), {}),
            ("avg 3x3/1 same", dict(size=3, stride=1, padding="same", mode="avg"), {}),
            ("min 2x2/2", dict(size=2, mode="min"), {"numpy reshape-min": lambda: x.reshape(4, 2, 4, 2).min(axis=(1, 3))}),
            ("sum 2x2/2", dict(size=2, mode="sum"), {"numpy reshape-sum": lambda: x.reshape(4, 2, 4, 2).sum(axis=(1, 3))}),
            ("avg 2x2/2 dtype=same", dict(size=2, mode="avg", dtype="same"), {}),
            ("max 3x3/2 same", dict(size=3, stride=2, padding="same"), {}),
        ]
        if torch is not None:
            cases[0][2]["torch"] = lambda: torch.nn.functional.max_pool2d(t, 2)
            cases[1][2]["torch"] = lambda: torch.nn.functional.avg_pool2d(t, 2)
            cases[2][2]["torch"] = lambda: torch.nn.functional.max_pool2d(t, 3, 1, 1)
            cases[3][2]["torch"] = lambda: torch.nn.functional.avg_pool2d(t, 3, 1)
            cases[4][2]["torch"] = lambda: torch.nn.functional.avg_pool2d(t, 3, 1, 1, count_include_pad=False)
        if cv2 is not None:
            cases[2][2]["OpenCV dilate"] = lambda: cv2.dilate(x, kern)
            cases[3][2]["OpenCV blur"] = lambda: cv2.blur(x, (3, 3))
            cases[7][2]["OpenCV INTER_AREA"] = lambda: cv2.resize(x, (4, 4), interpolation=cv2.INTER_AREA)
        for name, kw, alts in cases:
            ours = us(lambda: pool2d(x, **kw))
            measured = {a: us(fn) for a, fn in alts.items()}
            best, theirs = best_of(measured)
            rows.append([f"{name} {np.dtype(dtype).name}", f"{ours:.1f}", best, "-" if theirs is None else f"{theirs:.1f}", times(ours, theirs)])
    title = f"8x8 input, per call (us{', CPU time' if cpu else ''})"
    return table(title, ["case", "poolcli", "fastest alternative", "alt", "ratio"], rows)


def integer_results(n: int, repeat: int) -> str:
    rows = []
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (n, n), dtype=np.uint8)
    rgb = rng.integers(0, 256, (n, n, 3), dtype=np.uint8)
    for label, x in (("gray", gray), ("RGB HxWx3", rgb)):
        h, w = x.shape[:2]
        alts = {}
        if cv2 is not None:
            alts["OpenCV INTER_AREA"] = median_ms(lambda: cv2.resize(x, (w // 2, h // 2), interpolation=cv2.INTER_AREA), repeat)
        if PIL is not None:
            from PIL import Image

            im = Image.fromarray(x)
            alts["Pillow reduce(2)"] = median_ms(lambda: im.reduce(2), repeat)
        ours = median_ms(lambda: pool2d(x, 2, mode="avg", dtype="same"), repeat)
        floaty = median_ms(lambda: pool2d(x, 2, mode="avg"), repeat)
        best, theirs = best_of(alts)
        rows.append([f"avg 2x2/2 uint8->uint8 {label}", fmt(ours), fmt(floaty), best, fmt(theirs), times(ours, theirs)]
                    + [fmt(alts.get("Pillow reduce(2)"))])
        alts3 = {"OpenCV blur": median_ms(lambda: cv2.blur(x, (3, 3))[1:-1, 1:-1], repeat)} if cv2 is not None else {}
        ours3 = median_ms(lambda: pool2d(x, 3, 1, mode="avg", dtype="same"), repeat)
        floaty3 = median_ms(lambda: pool2d(x, 3, 1, mode="avg"), repeat)
        best3, theirs3 = best_of(alts3)
        rows.append([f"avg 3x3/1 uint8->uint8 {label}", fmt(ours3), fmt(floaty3), best3, fmt(theirs3), times(ours3, theirs3), "-"])
    return table(
        f"Integer results (dtype='same'), {n}x{n} (ms)",
        ["case", "poolcli uint8 out", "poolcli float64 out", "fastest alternative", "alt", "ratio", "Pillow"],
        rows,
    )


def layouts(n: int, repeat: int) -> str:
    """The grid of target 1 at n^2: dtypes x layouts x a few windows, against the fastest alternative."""
    rows = []
    rng = np.random.default_rng(0)
    for dtype in (np.uint8, np.int16, np.float32, np.float64):
        base = (rng.random((n, n, 3)) * 200).astype(dtype)
        for layout in ("2-D", "HxWx3", "view"):
            x = base[:, :, 0].copy() if layout == "2-D" else base if layout == "HxWx3" else base[::-1, :, 1]
            for mode, k, s, pad in (("max", 2, 2, "valid"), ("avg", 2, 2, "valid"), ("max", 3, 1, "valid"), ("max", 3, 2, "same")):
                ours = median_ms(lambda: pool2d(x, k, s, pad, mode=mode), repeat)
                with using_threads(None):
                    default = median_ms(lambda: pool2d(x, k, s, pad, mode=mode), repeat)
                alts: dict[str, float] = {}
                if cv2 is not None and mode == "max" and pad == "valid" and dtype != np.int16:
                    kern = np.ones((k, k), np.uint8)
                    alts["OpenCV"] = median_ms(lambda: cv2.dilate(x, kern)[::s, ::s].copy(), repeat)
                if torch is not None and dtype in (np.float32, np.float64) and layout != "HxWx3":
                    t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
                    fn = torch.nn.functional.max_pool2d if mode == "max" else torch.nn.functional.avg_pool2d
                    if pad == "valid":
                        alts["torch"] = median_ms(lambda: fn(t, k, s), repeat)
                if skm is not None and k == s and pad == "valid" and layout == "2-D":
                    func = np.max if mode == "max" else np.mean
                    alts["skimage"] = median_ms(lambda: skm.block_reduce(x, (k, k), func), max(1, repeat // 2))
                best, theirs = best_of(alts)
                rows.append(
                    [f"{mode} {k}x{k}/{s} {pad} {np.dtype(dtype).name} {layout}", fmt(ours), fmt(default), times(default, ours),
                     best, fmt(theirs), times(ours, theirs)]
                )
    return table(
        f"Dtypes and layouts, {n}x{n} (ms)",
        ["case", "poolcli 1 thread", f"poolcli default ({os.cpu_count()} cores)", "default / 1 thread", "fastest alternative",
         "alt", "ratio"],
        rows,
    )


def padding(n: int, repeat: int) -> str:
    """Padded windows (Keras 'same', PyTorch's explicit padding) against unpadded ones, and against padded windows
    computed as before (each band padded along the columns by a copy), in the same run."""
    from poolcli.engine import banded

    def padded_copies(x, axis, plan, ufunc, acc, fill, out):  # the way before: the whole band padded, then reduced
        wide = banded.pad_axis(x, axis, plan.before, plan.after, fill)
        return banded._window_reduce(wide, axis, plan.out, plan.k, plan.s, plan.d, ufunc, acc, out)

    def as_before(fn):
        edged = banded._edged_reduce
        banded._edged_reduce = padded_copies
        try:
            return fn()
        finally:
            banded._edged_reduce = edged

    rows = []
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.uint8):
        x = (rng.random((n, n)) * 255).astype(dtype)
        for mode in ("max", "avg"):
            for k, s in ((3, 1), (3, 2)):
                runs = {
                    "valid": lambda: pool2d(x, k, s, "valid", mode),
                    "same": lambda: pool2d(x, k, s, "same", mode),
                    "padding 1": lambda: pool2d(x, k, s, 1, mode),
                    "before": lambda: as_before(lambda: pool2d(x, k, s, "same", mode)),
                }
                # interleaved rounds, so that the machine's drift touches every variant alike
                spent: dict[str, list[float]] = {name: [] for name in runs}
                for _ in range(repeat + 1):
                    for name, fn in runs.items():
                        spent[name].append(median_ms(fn, 1, warmup=0))
                valid, same, explicit, before = (statistics.median(spent[name][1:]) for name in runs)
                rows.append(
                    [f"{mode} {k}x{k}/{s} {np.dtype(dtype).name}", fmt(valid), fmt(same), times(same, valid),
                     fmt(explicit), times(explicit, valid), fmt(before), times(before, valid)]
                )
    columns = ["case", "valid", "same", "same / valid", "padding 1", "padding 1 / valid", "same as before", "before / valid"]
    return table(f"Padded windows, {n}x{n}, one thread (ms)", columns, rows)


def image_route(n: int, repeat: int) -> str:
    """An average of 8-bit pixels made into 8-bit pixels, as the image path does: pooled to float64 and rounded by
    the image writer (before), or pooled as integers by the engine (dtype='same', the route taken now); the same
    pixels, checked."""
    from poolcli.formats.imagewrite import to_image_array
    from poolcli.pipeline import apply_pool
    from poolcli.specs import WindowSpec

    window = WindowSpec(mode="avg")
    rows = []
    rng = np.random.default_rng(0)
    for name, shape in ((f"grey {n}^2", (n, n)), (f"grey {n - 1}^2", (n - 1, n - 1)), (f"RGB {n}^2", (n, n, 3))):
        x = rng.integers(0, 256, shape, dtype=np.uint8)

        def through_floats():
            return to_image_array(apply_pool(x, window), bits=8, source_dtype=x.dtype)

        def as_integers():
            return to_image_array(apply_pool(x, window, rounded=[]), bits=8, source_dtype=x.dtype)

        assert np.array_equal(through_floats()[0], as_integers()[0])
        before, now = median_ms(through_floats, repeat), median_ms(as_integers, repeat)
        rows.append([f"avg 2x2/2 {name}", fmt(before), fmt(now), times(before, now)])
    columns = ["case", "float64, rounded by the writer", "integers (dtype='same')", "speed-up"]
    return table("Averages of 8-bit images to 8-bit pixels, pooling and conversion (ms)", columns, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1024x1024, fewer repeats")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu", action="store_true", help="the 8x8 table in CPU time, for a machine shared with others")
    ap.add_argument("--only", choices=["global", "indices", "small", "integer", "layouts", "padding", "image"], action="append")
    args = ap.parse_args()
    n = 1024 if args.quick else 4096
    repeat = 3 if args.quick else args.repeat
    print(f"Machine: {machine()}\n")
    set_threads(1)
    parts = {
        "global": lambda: global_and_adaptive(n, repeat),
        "indices": lambda: indices(n, repeat),
        "small": lambda: small_inputs(repeat, args.cpu),
        "integer": lambda: integer_results(n, repeat),
        "layouts": lambda: layouts(n // 2, repeat),
        "padding": lambda: padding(n, repeat),
        "image": lambda: image_route(n, repeat),
    }
    for name in args.only or parts:
        print(parts[name](), flush=True)


if __name__ == "__main__":
    main()
