"""Write tests/data/torch_nd_golden.json: PyTorch's answers for 1-D and 3-D pooling, LP pooling, max unpooling and
fractional max pooling.

    pip install torch==2.13.0 && python tests/make_nd_golden.py

Only this script imports torch; tests/test_engine_nd.py reads the JSON. Inputs are drawn from a seeded generator and
stored channels last, as poolcli takes them (PyTorch's (C, ...) layout is made here by moving the axis): small
integers, so that ties are common and every value is exact in every float type, with a NaN now and then.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "data", "torch_nd_golden.json")
rng = np.random.default_rng(12)
DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16}


def plain(a):
    """An array as nested lists, NaN as None (JSON has no NaN), infinities as strings."""
    def one(v):
        if isinstance(v, list):
            return [one(w) for w in v]
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, float) and math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return one(np.asarray(a).tolist())


def draw(shape, low=0, high=5, nan=0.2):
    """Small integers as float64, with a NaN in some inputs."""
    x = rng.integers(low, high, shape).astype(np.float64)
    if rng.random() < nan:
        x[tuple(int(rng.integers(0, n)) for n in shape)] = np.nan
    return x


def torch_layout(x, ndim, dtype=torch.float64):
    """Channels last (spatial[, C]) to PyTorch's (1, C, spatial)."""
    if x.ndim == ndim:
        x = x[..., None]
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0))).to(dtype)[None]


def ours(t, ndim, channels):
    """PyTorch's (1, C, spatial) back to channels last."""
    a = np.moveaxis(t[0].detach().numpy(), 0, -1)
    return a if channels else a[..., 0]


def spatial_shape(ndim):
    return tuple(int(v) for v in rng.integers(1, 13 if ndim == 1 else 6, ndim))


def window_kwargs(ndim, shape):
    """size/stride/padding/dilation/ceil_mode, PyTorch's form, each an int or a tuple."""
    def per_axis(lo, hi):
        vals = tuple(int(rng.integers(lo, hi + 1)) for _ in range(ndim))
        return vals[0] if rng.random() < 0.4 else vals
    k = per_axis(1, 4)
    kw = dict(kernel_size=k)
    ks = (k,) * ndim if isinstance(k, int) else k
    if rng.random() < 0.6:
        kw["stride"] = per_axis(1, 3)
    if rng.random() < 0.5:
        kw["padding"] = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in ks)
    if rng.random() < 0.3:
        kw["dilation"] = per_axis(1, 2)
    if rng.random() < 0.4:
        kw["ceil_mode"] = True
    return kw


def pool_cases(ndim, count):
    max_pool = {1: F.max_pool1d, 3: F.max_pool3d}[ndim]
    avg_pool = {1: F.avg_pool1d, 3: F.avg_pool3d}[ndim]
    cases = []
    while len(cases) < count:
        shape = spatial_shape(ndim)
        channels = rng.random() < 0.5
        x = draw(shape + ((int(rng.integers(1, 4)),) if channels else ()))
        kw = window_kwargs(ndim, shape)
        t = torch_layout(x, ndim)
        try:
            values, indices = max_pool(t, return_indices=True, **kw)
        except RuntimeError:
            continue  # a window that does not fit: PyTorch refuses it, and so does poolcli
        if torch.isinf(values).any():
            continue  # a window of padding only (PyTorch gives -inf): poolcli refuses it, as its own tests check
        case = dict(input=plain(x), kwargs=kw, max=plain(ours(values, ndim, channels)),
                    indices=ours(indices, ndim, channels).tolist())
        if "dilation" not in kw:
            try:
                for count_pad in (True, False):
                    avg = avg_pool(t, count_include_pad=count_pad, **kw)
                    case["avg_count_pad" if count_pad else "avg_no_count_pad"] = plain(ours(avg, ndim, channels))
            except RuntimeError as exc:
                # AvgPool3d alone wants the input at least the window, padding not counted
                case["avg_torch_error"] = str(exc).splitlines()[0]
        cases.append(case)
    return cases


def lp_cases(ndim, count):
    lp_pool = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}[ndim]
    cases = []
    while len(cases) < count:
        shape = spatial_shape(ndim)
        channels = rng.random() < 0.5
        x = draw(shape + ((int(rng.integers(1, 3)),) if channels else ()), -3, 4, nan=0.1)
        kw = {k: v for k, v in window_kwargs(ndim, shape).items() if k in ("kernel_size", "stride", "ceil_mode")}
        if ndim == 1:  # lp_pool1d multiplies by kernel_size, so it takes an int only
            kw = {k: v[0] if isinstance(v, tuple) else v for k, v in kw.items()}
        p = float(rng.choice([1, 2, 3, 1.5, 0.5, math.inf]))
        try:
            out = lp_pool(torch_layout(x, ndim), p, **kw)
        except RuntimeError:
            continue
        cases.append(dict(input=plain(x), norm_type=plain(p), kwargs=kw, lp=plain(ours(out, ndim, channels))))
    return cases


def adaptive_cases(ndim, count):
    amax = {1: F.adaptive_max_pool1d, 3: F.adaptive_max_pool3d}[ndim]
    aavg = {1: F.adaptive_avg_pool1d, 3: F.adaptive_avg_pool3d}[ndim]
    cases = []
    for _ in range(count):
        shape = spatial_shape(ndim)
        channels = rng.random() < 0.5
        x = draw(shape + ((2,) if channels else ()))
        size = tuple(int(rng.integers(1, n + 3)) for n in shape)
        t = torch_layout(x, ndim)
        values, indices = amax(t, size, return_indices=True)
        cases.append(dict(input=plain(x), output_size=size, max=plain(ours(values, ndim, channels)),
                          indices=ours(indices, ndim, channels).tolist(),
                          avg=plain(ours(aavg(t, size), ndim, channels))))
    return cases


def unpool_cases():
    """Round trips of max pooling, and hand-made indices that name a cell twice (the last value stays)."""
    pools = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
    unpools = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}
    cases = []
    for ndim in (1, 2, 3):
        for _ in range(8):
            shape = tuple(int(v) for v in rng.integers(2, 14 if ndim == 1 else 7, ndim))
            channels = rng.random() < 0.5
            x = draw(shape + ((2,) if channels else ()), nan=0)
            k, s = int(rng.integers(1, 4)), int(rng.integers(1, 3))
            if k > min(shape):
                continue
            values, indices = pools[ndim](torch_layout(x, ndim), k, s, return_indices=True)
            back = unpools[ndim](values, indices, k, s, output_size=shape)
            cases.append(dict(ndim=ndim, values=plain(ours(values, ndim, channels)),
                              indices=ours(indices, ndim, channels).tolist(), output_shape=shape,
                              unpooled=plain(ours(back, ndim, channels))))
        # every value aimed at a random cell: repeats, in an order that is not the cells' order
        shape = (5,) * ndim
        vshape = (3,) * ndim
        values = rng.integers(1, 10, vshape).astype(np.float64)
        indices = rng.integers(0, 5 ** ndim, vshape)
        t_vals = torch.from_numpy(values)[None, None]
        t_idx = torch.from_numpy(indices)[None, None]
        back = unpools[ndim](t_vals, t_idx, 2, output_size=shape)
        cases.append(dict(ndim=ndim, values=plain(values), indices=indices.tolist(), output_shape=shape,
                          unpooled=plain(back[0, 0].numpy())))
    refused = []
    for ndim, index in ((1, 5), (1, -1), (2, 25), (3, 125)):
        shape = (5,) * ndim
        vals = torch.ones((1, 1) + (1,) * ndim)
        idx = torch.full((1, 1) + (1,) * ndim, index, dtype=torch.int64)
        try:
            unpools[ndim](vals, idx, 5, output_size=shape)  # a one-cell input unpools to 5 cells with kernel 5
        except RuntimeError as exc:
            refused.append(dict(ndim=ndim, index=index, output_shape=shape, torch_error=str(exc).splitlines()[0]))
        else:
            raise SystemExit(f"PyTorch accepted index {index} for {shape}")
    return cases, refused


def fractional_cases(ndim, count):
    """Small inputs with ties and NaN; and long axes, where the interval arithmetic in float32/float16 rounds.

    A long case's input is ``arange(cells) % 2000`` in its shape (so the JSON stays small) and only its indices are
    kept: the values are the input's cells at them.
    """
    frac = {2: F.fractional_max_pool2d, 3: F.fractional_max_pool3d}[ndim]
    cases = []
    while len(cases) < count:
        dtype = str(rng.choice(list(DTYPES)))
        long = len(cases) % 4 == 0
        if long:
            # one long axis; the others of one cell (2-D) or two (3-D: PyTorch wants output + size - 1 < input)
            shape = (int(rng.integers(300, 3000)),) + (1 if ndim == 2 else 2,) * (ndim - 1)
            shape = shape[-1:] + shape[:-1] if rng.random() < 0.5 else shape  # the long axis first or last
            channels, c = False, 1
            x = (np.arange(math.prod(shape)) % 2000).reshape(shape).astype(np.float64)
            k = tuple(int(rng.integers(2, 5)) if m > 2 else 1 for m in shape)
        else:
            shape = tuple(int(v) for v in rng.integers(2, 12 if ndim == 2 else 7, ndim))
            channels = rng.random() < 0.6
            c = int(rng.integers(1, 4)) if channels else 1
            x = draw(shape + ((c,) if channels else ()), 0, 4)
            k = tuple(int(rng.integers(1, min(4, m) + 1)) for m in shape)
        # PyTorch's 3-D check is one stricter than its 2-D one (output + size - 1 < input): keep to both
        room = [m - kk + (1 if ndim == 2 else 0) for m, kk in zip(shape, k)]
        if min(room) < 1:
            continue
        out = tuple(int(rng.integers(1, r + 1)) for r in room)
        t = torch_layout(x, ndim, DTYPES[dtype])
        samples = torch.rand(1, c, ndim, dtype=DTYPES[dtype])
        try:
            values, indices = frac(t, k, output_size=out, return_indices=True, _random_samples=samples)
        except RuntimeError:
            continue  # float16 intervals that reach past the input: PyTorch's assertion fails
        case = dict(dtype=dtype, kernel_size=k, output_size=out, samples=plain(samples[0].double().numpy()),
                    indices=ours(indices, ndim, channels).tolist())
        if long:
            case.update(arange_shape=shape)
        else:
            case.update(input=plain(x), max=plain(ours(values.double(), ndim, channels)))
        cases.append(case)
    return cases


def fractional_ratio_cases():
    """nn.FractionalMaxPool2d/3d with output_ratio: the output size is int(n * ratio)."""
    modules = {2: torch.nn.FractionalMaxPool2d, 3: torch.nn.FractionalMaxPool3d}
    cases = []
    for ndim, shape, ratio in ((2, (9, 7), 0.7071), (2, (10, 10), (0.5, 0.75)), (3, (6, 7, 5), 0.6),
                               (2, (13, 5), 0.3)):
        x = draw(shape, 0, 9, nan=0)
        samples = torch.rand(1, 1, ndim, dtype=torch.float64)
        module = modules[ndim](2, output_ratio=ratio, return_indices=True, _random_samples=samples)
        values, indices = module(torch_layout(x, ndim))
        cases.append(dict(input=plain(x), kernel_size=2, output_ratio=ratio, samples=plain(samples[0].numpy()),
                          max=plain(ours(values, ndim, False)), indices=ours(indices, ndim, False).tolist()))
    return cases


def main():
    torch.manual_seed(12)
    unpooled, refused = unpool_cases()
    cases = {
        "pool1d": pool_cases(1, 60),
        "pool3d": pool_cases(3, 40),
        "lp1d": lp_cases(1, 25),
        "lp3d": lp_cases(3, 20),
        "adaptive1d": adaptive_cases(1, 12),
        "adaptive3d": adaptive_cases(3, 12),
        "unpool": unpooled,
        "unpool_refused": refused,
        "fractional2d": fractional_cases(2, 80),
        "fractional3d": fractional_cases(3, 40),
        "fractional_ratio": fractional_ratio_cases(),
    }
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
