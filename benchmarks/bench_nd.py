"""pool1d, pool3d, unpool and fractional max pooling against PyTorch, and the 3-D target of issue 12.

    python benchmarks/bench_nd.py            # every table (about a minute)
    python benchmarks/bench_nd.py --quick    # the 3-D target only

The target: on a 256x256x256 float32 volume, max 2x2x2/2 faster than torch's max_pool3d on one thread and within
2x of copying the volume. Times are medians in milliseconds; "torch / poolcli" above 1 means poolcli is faster,
"poolcli / copy" is poolcli's time over a copy of the input (numpy's ``x.copy()``). torch is measured when installed,
on one thread; poolcli on one thread and on every core.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt, machine, median_ms, optional, ratio, table  # noqa: E402

from poolcli import fractional_max_pool2d, pool1d, pool3d, set_threads, unpool3d  # noqa: E402

torch = optional("torch")
if torch is not None:
    torch.set_num_threads(1)
    F = torch.nn.functional


def volume_table(n: int, repeat: int) -> str:
    x = np.random.default_rng(0).random((n, n, n), dtype=np.float32)
    t = torch.from_numpy(x)[None, None] if torch is not None else None
    copy = median_ms(lambda: x.copy(), repeat)
    cases = [
        ("max 2x2x2/2", dict(size=2), (lambda: F.max_pool3d(t, 2, 2)) if t is not None else None),
        ("avg 2x2x2/2", dict(size=2, mode="avg"), (lambda: F.avg_pool3d(t, 2, 2)) if t is not None else None),
        ("min 2x2x2/2", dict(size=2, mode="min"), None),
        ("sum 2x2x2/2", dict(size=2, mode="sum"), None),
        ("max 3x3x3/2", dict(size=3, stride=2), (lambda: F.max_pool3d(t, 3, 2)) if t is not None else None),
        ("max 2x2x2/2 with indices", dict(size=2, return_indices=True),
         (lambda: F.max_pool3d(t, 2, 2, return_indices=True)) if t is not None else None),
        ("lp p=2 2x2x2/2", dict(size=2, mode="lp", norm_type=2),
         (lambda: F.lp_pool3d(t, 2, 2)) if t is not None else None),
    ]
    rows = []
    for name, kw, alt in cases:
        set_threads(1)
        one = median_ms(lambda: pool3d(x, **kw), repeat)
        set_threads(None)
        many = median_ms(lambda: pool3d(x, **kw), repeat)
        other = median_ms(alt, max(1, repeat // 2)) if alt is not None else None
        rows.append([name, fmt(one), fmt(many), fmt(other), ratio(one, other), f"{one / copy:.2f}"])
    rows.append(["copy the volume", fmt(copy), "", "", "", "1.00"])
    return table(
        f"pool3d, {n}^3 float32 (ms)",
        ["case", "poolcli 1 thread", f"poolcli {os.cpu_count()} threads", "torch", "torch / poolcli", "poolcli / copy"],
        rows,
    )


def signal_table(n: int, repeat: int) -> str:
    x = np.random.default_rng(0).random(n, dtype=np.float32)
    t = torch.from_numpy(x)[None, None] if torch is not None else None
    copy = median_ms(lambda: x.copy(), repeat)
    cases = [
        ("max 2/2", dict(size=2), (lambda: F.max_pool1d(t, 2, 2)) if t is not None else None),
        ("max 9/1", dict(size=9, stride=1), (lambda: F.max_pool1d(t, 9, 1)) if t is not None else None),
        ("avg 4/4", dict(size=4, mode="avg"), (lambda: F.avg_pool1d(t, 4, 4)) if t is not None else None),
        ("avg 9/1", dict(size=9, stride=1, mode="avg"), (lambda: F.avg_pool1d(t, 9, 1)) if t is not None else None),
    ]
    rows = []
    set_threads(1)
    for name, kw, alt in cases:
        one = median_ms(lambda: pool1d(x, **kw), repeat)
        other = median_ms(alt, max(1, repeat // 2)) if alt is not None else None
        rows.append([name, fmt(one), fmt(other), ratio(one, other), f"{one / copy:.2f}"])
    set_threads(None)
    rows.append(["copy the signal", fmt(copy), "", "", "1.00"])
    return table(
        f"pool1d, a signal of {n} float32 (ms, one thread)",
        ["case", "poolcli", "torch", "torch / poolcli", "poolcli / copy"],
        rows,
    )


def other_table(repeat: int) -> str:
    rng = np.random.default_rng(0)
    image = rng.random((1024, 1024, 3), dtype=np.float32)
    volume = rng.random((128, 128, 128), dtype=np.float32)
    samples = rng.random((3, 2)).astype(np.float32)
    values, indices = pool3d(volume, 2, return_indices=True)
    rows = []
    set_threads(1)
    frac = median_ms(lambda: fractional_max_pool2d(image, 2, output_ratio=0.7071, samples=samples), repeat)
    unp = median_ms(lambda: unpool3d(values, indices, volume.shape), repeat)
    alt_frac = alt_unp = None
    if torch is not None:
        ti = torch.from_numpy(np.ascontiguousarray(np.moveaxis(image, -1, 0)))[None]
        ts = torch.from_numpy(samples)[None]
        ratios = (0.7071, 0.7071)
        alt_frac = median_ms(lambda: F.fractional_max_pool2d(ti, 2, output_ratio=ratios, _random_samples=ts), repeat)
        tv, tidx = torch.from_numpy(values)[None, None], torch.from_numpy(indices)[None, None]
        alt_unp = median_ms(lambda: F.max_unpool3d(tv, tidx, 2, output_size=volume.shape), repeat)
    set_threads(None)
    rows.append(["fractional_max_pool2d 1024x1024x3, ratio 0.7071, 2x2", fmt(frac), fmt(alt_frac),
                 ratio(frac, alt_frac)])
    rows.append(["unpool3d of max 2x2x2/2 of 128^3", fmt(unp), fmt(alt_unp), ratio(unp, alt_unp)])
    return table("Fractional max pooling and unpooling, float32 (ms, one thread)",
                 ["case", "poolcli", "torch", "torch / poolcli"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the 3-D target only")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"Machine: {machine()}")
    print(f"torch: {torch.__version__ if torch is not None else 'not installed'}\n")
    print(volume_table(256, args.repeat))
    if not args.quick:
        print(signal_table(1 << 24, args.repeat))
        print(other_table(args.repeat))


if __name__ == "__main__":
    main()
