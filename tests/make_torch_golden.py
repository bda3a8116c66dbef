"""Write tests/data/torch_golden.json: PyTorch's answers for the edge rules, filter-then-pool ties and LP pooling.

    pip install torch==2.13.0 && python tests/make_torch_golden.py

Only this script imports torch; tests/test_fidelity_engine.py reads the JSON. Every case is run in float64 on the
CPU. A filter's expected values come from F.conv2d with its integer weights (divided afterwards for blur and
gaussian: the exact sum, divided once), so the max-pool indices after it are PyTorch's on exact ties.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "data", "torch_golden.json")

# (name, input rows, F.max_pool2d / F.avg_pool2d keyword arguments)
POOLS = [
    ("ceil window longer than the input", [[1, 2, 3, 4]], dict(kernel_size=(1, 5), stride=(1, 3), ceil_mode=True)),
    ("ceil window longer, padding counted", [[1, 2, 3, 4]], dict(kernel_size=(1, 5), stride=(1, 3), padding=(0, 1), ceil_mode=True)),
    ("ceil window longer, padding 2", [[1, 2, 3, 4]], dict(kernel_size=(1, 5), stride=(1, 4), padding=(0, 2), ceil_mode=True)),
    ("ceil window longer on both axes", [[1, 2], [3, 4]], dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("ceil dilated window past the input", [[5, 1, 7, 2]], dict(kernel_size=(1, 3), stride=(1, 3), dilation=(1, 2), ceil_mode=True)),
    ("nan ties: the last nan", [[math.nan, 1, math.nan, 2]], dict(kernel_size=(1, 4))),
    ("nan ties in a 2x2 window", [[math.nan, 1], [math.nan, 2]], dict(kernel_size=2)),
    ("nan ties, overlapping windows", [[math.nan, 0, math.nan], [1, math.nan, 2], [math.nan, 3, 4]], dict(kernel_size=2, stride=1)),
    ("ties keep the first", [[1, 1, 0], [1, 1, 0]], dict(kernel_size=2, stride=1)),
]
ADAPTIVE = [
    ("adaptive nan ties", [[math.nan, 1, math.nan, 2]], (1, 1)),
    ("adaptive nan ties, overlapping", [[math.nan, 0, math.nan], [1, math.nan, 2], [math.nan, 3, 4]], (2, 2)),
    ("adaptive output larger than input", [[1, 5, 2], [7, 3, 7]], (3, 4)),
]
REFUSED = [
    ("padding above size//2 with dilation", (4, 5), dict(kernel_size=(5, 4), padding=(2, 3), dilation=3)),
    ("window longer than the input without ceil", (1, 4), dict(kernel_size=(1, 5), stride=(1, 3))),
]
# (name, input rows, F.lp_pool2d keyword arguments): LPPool2d takes no padding or dilation
LP = [
    ("p 2, 2x2", [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]], dict(norm_type=2, kernel_size=2)),
    ("p 1 is the sum, negatives kept", [[1, -2, 3], [-4, 5, -6]], dict(norm_type=1, kernel_size=(1, 2), stride=1)),
    ("p 3, a negative sum is nan", [[1, -2, 3], [-4, 5, -6]], dict(norm_type=3, kernel_size=(2, 2), stride=1)),
    ("p 1.5, a negative cell is nan", [[1, -2, 3], [4, 5, 6]], dict(norm_type=1.5, kernel_size=(1, 2), stride=1)),
    ("p 0.5", [[1, 4, 9], [16, 25, 36]], dict(norm_type=0.5, kernel_size=2, stride=1)),
    ("p inf is the largest |x|", [[1, -9, 3], [-4, 5, -6]], dict(norm_type=math.inf, kernel_size=2, stride=1)),
    ("p 2, rectangular window and stride", [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 9]], dict(norm_type=2, kernel_size=(2, 3), stride=(1, 2))),
    ("ceil: a window past the input is scaled", [[1, 2, 3, 4]], dict(norm_type=2, kernel_size=(1, 5), stride=(1, 3), ceil_mode=True)),
    ("ceil on both axes", [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20], [21, 22, 23, 24, 25]], dict(norm_type=2, kernel_size=3, stride=2, ceil_mode=True)),
    ("ceil, p 1", [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], dict(norm_type=1, kernel_size=2, ceil_mode=True)),
    ("ceil, p inf ignores the overhang", [[1, -7, 3, 4]], dict(norm_type=math.inf, kernel_size=(1, 3), stride=(1, 2), ceil_mode=True)),
    ("nan and infinities", [[math.nan, 1, math.inf, 1], [2, 3, -math.inf, 4]], dict(norm_type=2, kernel_size=(1, 2))),
    ("minus infinity, odd p", [[-math.inf, 1, math.inf, -math.inf]], dict(norm_type=3, kernel_size=(1, 2))),
    ("zeros", [[0, 0, 0, 0]], dict(norm_type=2.5, kernel_size=(1, 2))),
]
# name -> (integer weights, divisor)
FILTERS = {
    "scharr-x": ([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]], 1),
    "scharr-y": ([[-3, -10, -3], [0, 0, 0], [3, 10, 3]], 1),
    "top-edge": ([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], 1),
    "bottom-edge": ([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], 1),
    "laplacian": ([[0, 1, 0], [1, -4, 1], [0, 1, 0]], 1),
    "sharpen": ([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], 1),
    "emboss": ([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], 1),
    "blur": ([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 9),
    "gaussian": ([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
}


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)[None, None]


def plain(a):
    """A tensor as nested lists, NaN as None (JSON has no NaN)."""
    return [[None if v != v else v for v in row] for row in a[0, 0].tolist()]


def main():
    cases = {"pool": [], "adaptive": [], "refused": [], "filter": [], "lp": []}
    for name, rows, kw in POOLS:
        values, indices = F.max_pool2d(t(rows), return_indices=True, **kw)
        case = dict(name=name, input=plain(t(rows)), kwargs=kw, max=plain(values), indices=indices[0, 0].tolist())
        if "dilation" not in kw:
            for count in (True, False):
                avg = F.avg_pool2d(t(rows), count_include_pad=count, **kw)
                case["avg_count_pad" if count else "avg_no_count_pad"] = plain(avg)
        cases["pool"].append(case)
    for name, rows, size in ADAPTIVE:
        values, indices = F.adaptive_max_pool2d(t(rows), size, return_indices=True)
        cases["adaptive"].append(dict(name=name, input=plain(t(rows)), output_size=size, max=plain(values),
                                      indices=indices[0, 0].tolist(), avg=plain(F.adaptive_avg_pool2d(t(rows), size))))
    for name, shape, kw in REFUSED:
        try:
            F.max_pool2d(torch.zeros((1, 1) + shape, dtype=torch.float64), **kw)
        except RuntimeError as exc:
            cases["refused"].append(dict(name=name, shape=shape, kwargs=kw, torch_error=str(exc).splitlines()[0]))
        else:
            raise SystemExit(f"PyTorch accepted {name}")
    rng = np.random.default_rng(10)
    images = [rng.integers(0, 4, (9, 11)), rng.integers(0, 256, (12, 10)), np.tile([[0, 0, 255, 255]], (8, 2))]
    for name, (weights, divisor) in FILTERS.items():
        for image in images:
            image = image.astype(np.uint8)
            conv = F.conv2d(t(image.tolist()), torch.tensor(weights, dtype=torch.float64)[None, None]) / divisor
            values, indices = F.max_pool2d(conv, 2, return_indices=True)
            cases["filter"].append(dict(filter=name, input=image.tolist(), conv=plain(conv), max=plain(values),
                                        indices=indices[0, 0].tolist()))
    for name, rows, kw in LP:
        cases["lp"].append(dict(name=name, input=plain(t(rows)), kwargs=kw, lp=plain(F.lp_pool2d(t(rows), **kw))))
    with open(OUT, "w") as f:  # one case a line, so a regenerated file diffs by case
        f.write(f'{{"torch": "{torch.__version__}", "cases": {{\n')
        groups = []
        for group, items in cases.items():
            lines = ",\n".join("  " + json.dumps(c, separators=(",", ":")) for c in items)
            groups.append(f' "{group}": [\n{lines}\n ]')
        f.write(",\n".join(groups) + "\n}}\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
