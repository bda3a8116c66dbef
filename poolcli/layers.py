"""Shapes and parameter counts through a stack of layers, as Keras ``model.summary()`` prints them.

Layer syntax, one layer per argument (or several separated by ``;``)::

    input 20x20x3          the input shape, H x W x C (first); N x C for signals, D x H x W x C for volumes
    dense 16               units; acts on the last axis
    conv 32 3x3 same       filters, kernel, then padding / stride=S / dilation=D / nobias
    maxpool 2 stride=2     size, then stride=S / valid / same / padding=P (or PxQ) / dilation=D / ceil
    avgpool 3 same         likewise
    lppool 2 norm=2        PyTorch LPPool: size, norm=P (a number > 0, or inf), stride=S, ceil
    unpool 2               PyTorch MaxUnpool: size, stride=S, padding=P, output=HxW
    fractionalmaxpool 2 ratio=0.7   PyTorch FractionalMaxPool: size, then ratio=R (or RxR) or output=HxW
    globalmaxpool, globalavgpool, flatten, relu, dropout, batchnorm

A pooling layer works on as many axes as its input has before the channels
(1, 2 or 3), or as its name says (``maxpool1d``, ``MaxPooling3D``,
``lppool2d``: the input must then have them). Pool and conv shapes come from
:func:`poolcli.output_shape`, so they follow the same rules as ``poolcli pool``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from .formats import split_dims
from .engine import output_shape

__all__ = ["LAYER_KINDS", "Layer", "LayerError", "parse_layers", "summarise"]

LAYER_KINDS = (
    "input",
    "dense",
    "conv",
    "maxpool",
    "avgpool",
    "lppool",
    "unpool",
    "fractionalmaxpool",
    "globalmaxpool",
    "globalavgpool",
    "flatten",
    "relu",
    "dropout",
    "batchnorm",
)
#: The layers that pool over 1, 2 or 3 axes before the channels.
SPATIAL = ("maxpool", "avgpool", "lppool", "unpool", "fractionalmaxpool", "globalmaxpool", "globalavgpool")
#: Keras' (and PyTorch's, for the layers Keras lacks) names, without a trailing 1d/2d/3d, and with "_" and "-" removed.
_ALIASES = {
    "maxpooling": "maxpool",
    "averagepooling": "avgpool",
    "avgpooling": "avgpool",
    "globalmaxpooling": "globalmaxpool",
    "globalaveragepooling": "globalavgpool",
    "maxunpool": "unpool",
    "fractionalmaxpooling": "fractionalmaxpool",
    "batchnormalization": "batchnorm",
    "activation": "relu",
}
#: The name and class of each kind in the summary; {n} is its dimension (from its input).
_KERAS = {
    "dense": ("dense", "Dense"),
    "conv": ("conv2d", "Conv2D"),
    "maxpool": ("max_pooling{n}d", "MaxPooling{n}D"),
    "avgpool": ("average_pooling{n}d", "AveragePooling{n}D"),
    "lppool": ("lp_pool{n}d", "LPPool{n}d"),
    "unpool": ("max_unpool{n}d", "MaxUnpool{n}d"),
    "fractionalmaxpool": ("fractional_max_pool{n}d", "FractionalMaxPool{n}d"),
    "globalmaxpool": ("global_max_pooling{n}d", "GlobalMaxPooling{n}D"),
    "globalavgpool": ("global_average_pooling{n}d", "GlobalAveragePooling{n}D"),
    "flatten": ("flatten", "Flatten"),
    "relu": ("activation", "Activation"),
    "dropout": ("dropout", "Dropout"),
    "batchnorm": ("batch_normalization", "BatchNormalization"),
}
#: The dimensions each kind takes, when not 1, 2 and 3.
_DIMS = {"conv": (2,), "fractionalmaxpool": (2, 3)}
#: The input each dimension needs, as messages say it.
_INPUT = {1: "N x C", 2: "H x W x C", 3: "D x H x W x C"}


class LayerError(ValueError):
    """A layer that cannot be parsed or does not fit its input; names the layer."""


@dataclass
class Layer:
    """One row of the summary."""

    name: str  # e.g. conv2d_1
    kind: str  # Keras class name, e.g. Conv2D
    shape: Tuple[int, ...]  # output shape without the batch axis
    params: int


def _split(specs: Sequence[str]) -> List[str]:
    out: List[str] = []
    for s in specs:
        out.extend(part.strip() for part in s.split(";") if part.strip())
    return out


def _dims(token: str, what: str, where: str) -> Tuple[int, ...]:
    try:
        dims = split_dims(token)
    except ValueError:
        raise LayerError(f"{where}: {what} {token!r} is not N or HxW") from None
    if min(dims) < 1:
        raise LayerError(f"{where}: {what} {token!r} must be >= 1")
    return dims


def _each(token: str, what: str, where: str, ndim: int = 2, minimum: int = 1) -> Tuple[int, ...]:
    """N (for every axis) or one number per axis: HxW, DxHxW."""
    try:
        dims = split_dims(token)
    except ValueError:
        dims = ()
    if len(dims) not in (1, ndim):
        forms = {1: "N", 2: "N or HxW", 3: "N or DxHxW"}[ndim]
        raise LayerError(f"{where}: {what} {token!r} is not {forms}")
    if min(dims) < minimum:
        raise LayerError(f"{where}: {what} {token!r} must be >= {minimum}")
    return dims * ndim if len(dims) == 1 else dims


def _pair(token: str, what: str, where: str) -> Tuple[int, int]:
    return _each(token, what, where)  # type: ignore[return-value]


def _padding(token: str, where: str, ndim: int = 2):
    low = token.lower()
    if low in ("valid", "same"):
        return low
    try:
        dims = tuple(int(v) for v in low.split("x"))
    except ValueError:
        dims = ()
    if len(dims) not in (1, ndim) or min(dims) < 0:
        forms = {1: "P", 2: "P or PxQ", 3: "P or PxQxR"}[ndim]
        raise LayerError(f"{where}: padding {token!r} is not valid, same, {forms}")
    return dims[0] if len(dims) == 1 else dims


def _kind(name: str) -> Tuple[str, int | None]:
    """The kind a layer's name means, and the dimension it names (maxpool1d, MaxPooling3D), if any."""
    low = name.lower().replace("-", "").replace("_", "")
    ndim = None
    if low[-2:] in ("1d", "2d", "3d") and low[:-2]:
        low, ndim = low[:-2], int(low[-2])
    return _ALIASES.get(low, low), ndim


def parse_layers(specs: Sequence[str]) -> List[Tuple[str, List[str], str, int | None]]:
    """Return (kind, tokens, text, dimension named or None) for each layer, checking the kinds."""
    out = []
    for n, text in enumerate(_split(specs), 1):
        tokens = text.replace(",", " ").split()
        kind, ndim = _kind(tokens[0])
        if kind not in LAYER_KINDS or (
            ndim is not None and ndim not in _DIMS.get(kind, (1, 2, 3) if kind in SPATIAL else ())
        ):
            import difflib

            close = difflib.get_close_matches(tokens[0].lower(), LAYER_KINDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise LayerError(f"layer {n} '{text}': unknown layer '{tokens[0]}'{hint}; known: {', '.join(LAYER_KINDS)}")
        out.append((kind, tokens[1:], text, ndim))
    if not out:
        raise LayerError("no layers given; start with 'input HxWxC'")
    if out[0][0] != "input":
        raise LayerError(f"layer 1 '{out[0][2]}': the first layer must be 'input HxWxC' (e.g. input 28x28x1)")
    return out


def _options(tokens: List[str], where: str, allowed: Sequence[str]):
    """Split tokens into positional values and key=value settings, refusing unknown keys."""
    positional, settings = [], {}
    for tok in tokens:
        low = tok.lower()
        if "=" in low:
            key, _, value = low.partition("=")
            key = _KEYS.get(key, key)
            if key not in allowed:
                raise LayerError(f"{where}: unknown setting '{tok}'; expected {', '.join(k + '=' for k in allowed)}")
            settings[key] = value
        elif low in ("valid", "same") and "padding" in allowed:
            settings["padding"] = low
        elif low in ("ceil", "ceil_mode") and "ceil" in allowed:
            settings["ceil"] = "1"
        elif low == "nobias" and "bias" in allowed:
            settings["bias"] = "0"
        else:
            positional.append(tok)
    return positional, settings


#: Other spellings of the settings' keys (Keras', PyTorch's, short).
_KEYS = {
    "s": "stride",
    "strides": "stride",
    "p": "padding",
    "d": "dilation",
    "k": "size",
    "kernel_size": "size",
    "pool_size": "size",
    "norm_type": "norm",
    "p_norm": "norm",
    "output_size": "output",
    "output_ratio": "ratio",
}


def summarise(specs: Sequence[str]) -> Tuple[Tuple[int, ...], List[Layer]]:
    """Return the input shape and a summary row for each layer after it."""
    parsed = parse_layers(specs)
    layers: List[Layer] = []
    counts: dict = {}
    shape: Tuple[int, ...] = ()
    for n, (kind, tokens, text, named) in enumerate(parsed, 1):
        where = f"layer {n} '{text}'"
        if kind == "input":
            if n != 1:
                raise LayerError(f"{where}: 'input' may only be the first layer")
            if len(tokens) != 1:
                raise LayerError(f"{where}: give the input shape as HxWxC, e.g. input 20x20x3")
            shape = input_shape = _dims(tokens[0], "shape", where)
            continue
        ndim = len(shape) - 1
        if kind in SPATIAL or kind == "conv":
            takes = _DIMS.get(kind, (1, 2, 3))
            if (named is not None and named != ndim) or ndim not in takes:
                need = named or (2 if 2 in takes else takes[0])
                others = [_INPUT[d] for d in takes if d != need] if named is None else []
                also = f" (or {', '.join(others)})" if others else ""
                got = ", ".join(map(str, shape))
                article = "a" if need == 3 else "an"  # "an H x W x C", "an N x C", "a D x H x W x C"
                raise LayerError(f"{where}: needs {article} {_INPUT[need]} input{also}, got shape ({got})")
        shape, params = _apply(kind, tokens, shape, where)
        base, cls = (text.format(n=ndim) for text in _KERAS[kind])
        k = counts.get(base, 0)
        counts[base] = k + 1
        layers.append(Layer(base if k == 0 else f"{base}_{k}", cls, shape, params))
    return input_shape, layers


def _apply(kind: str, tokens: List[str], shape: Tuple[int, ...], where: str) -> Tuple[Tuple[int, ...], int]:
    ndim, channels = len(shape) - 1, shape[-1:]
    if kind == "dense":
        pos, opts = _options(tokens, where, ["bias"])
        if len(pos) != 1:
            raise LayerError(f"{where}: give the number of units, e.g. dense 16")
        units = _dims(pos[0], "units", where)[0]
        bias = opts.get("bias", "1") != "0"
        return shape[:-1] + (units,), (shape[-1] + bias) * units
    if kind == "flatten":
        _no_args(tokens, where)
        return (math.prod(shape),), 0
    if kind in ("relu", "dropout"):
        return shape, 0
    if kind == "batchnorm":
        _no_args(tokens, where)
        return shape, 4 * shape[-1]
    if kind in ("globalmaxpool", "globalavgpool"):
        _no_args(tokens, where)
        return channels, 0
    if kind == "conv":
        return _conv(tokens, shape, where)
    if kind == "unpool":
        return _unpool(tokens, shape, where) + channels, 0
    if kind == "fractionalmaxpool":
        return _fractional(tokens, shape, where) + channels, 0
    allowed = (
        ["stride", "ceil", "size", "norm"] if kind == "lppool" else ["stride", "padding", "dilation", "ceil", "size"]
    )
    pos, opts = _options(tokens, where, allowed)
    size = _size(pos, opts, where, ndim)
    if kind == "lppool":
        _norm(opts.get("norm"), where)
    stride = _each(opts["stride"], "stride", where, ndim) if "stride" in opts else None
    dilation = _each(opts["dilation"], "dilation", where, ndim) if "dilation" in opts else 1
    pad = _padding(opts.get("padding", "valid"), where, ndim)
    try:
        out = output_shape(shape, size, stride, pad, dilation=dilation, ceil_mode="ceil" in opts, ndim=ndim)
    except ValueError as exc:
        raise LayerError(f"{where}: {exc} (input {'x'.join(map(str, shape[:-1]))})") from None
    return out, 0


def _size(pos: List[str], opts: dict, where: str, ndim: int) -> Tuple[int, ...]:
    """The pool size: the one positional value (or size=), 2 by default."""
    if "size" in opts:
        pos = [opts["size"]] + pos
    if len(pos) > 1:
        raise LayerError(f"{where}: unexpected '{pos[1]}'; expected the pool size then its settings (key=value)")
    return _each(pos[0], "pool size", where, ndim) if pos else (2,) * ndim


def _norm(text: str | None, where: str) -> float:
    """LP pooling's p: a number > 0, or inf (PyTorch norm_type)."""
    try:
        p = float(text) if text is not None else math.nan
    except ValueError:
        p = math.nan
    if not p > 0:
        raise LayerError(f"{where}: give norm=P, the p of (sum of x**p) ** (1/p): a number > 0, or inf")
    return p


def _conv(tokens: List[str], shape: Tuple[int, ...], where: str) -> Tuple[Tuple[int, ...], int]:
    pos, opts = _options(tokens, where, ["stride", "padding", "dilation", "bias"])
    if len(pos) != 2:
        raise LayerError(f"{where}: give filters and kernel size, e.g. conv 32 3x3 same")
    filters = _dims(pos[0], "filters", where)[0]
    kernel = _pair(pos[1], "kernel size", where)
    # a convolution steps 1 by default (a pool steps by its size)
    stride = _pair(opts.get("stride", "1"), "stride", where)
    dilation = _pair(opts["dilation"], "dilation", where) if "dilation" in opts else (1, 1)
    pad = _padding(opts.get("padding", "valid"), where)
    bias = opts.get("bias", "1") != "0"
    params = (kernel[0] * kernel[1] * shape[2] + bias) * filters
    # a convolution takes any padding (PyTorch Conv2d), where a pool takes at most half its window
    return _conv_shape(shape[:2], kernel, stride, pad, dilation, where) + (filters,), params


def _unpool(tokens: List[str], shape: Tuple[int, ...], where: str) -> Tuple[int, ...]:
    """PyTorch MaxUnpool: (n - 1) * s - 2p + k per axis, or output=, which PyTorch takes within s of that."""
    ndim = len(shape) - 1
    pos, opts = _options(tokens, where, ["stride", "padding", "size", "output"])
    size = _size(pos, opts, where, ndim)
    stride = _each(opts["stride"], "stride", where, ndim) if "stride" in opts else size
    padding = _each(opts.get("padding", "0"), "padding", where, ndim, minimum=0)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(shape, stride, padding, size))
    if "output" not in opts:
        if min(default) < 1:
            raise LayerError(f"{where}: (n - 1) * stride - 2 * padding + size leaves no cell: {_shown(default)}")
        return default
    out = _each(opts["output"], "output", where, ndim)
    for axis, (o, d, s) in enumerate(zip(out, default, stride)):
        if not d - s < o < d + s:
            raise LayerError(
                f"{where}: output {_shown(out)} must lie within the stride of {_shown(default)}: "
                f"along axis {axis}, between {d - s} and {d + s} (exclusive), as PyTorch's MaxUnpool"
            )
    return out


def _fractional(tokens: List[str], shape: Tuple[int, ...], where: str) -> Tuple[int, ...]:
    """PyTorch FractionalMaxPool: output= or int(n * ratio) per axis, with output + size - 1 <= n."""
    ndim = len(shape) - 1
    pos, opts = _options(tokens, where, ["size", "output", "ratio"])
    size = _size(pos, opts, where, ndim)
    if ("output" in opts) == ("ratio" in opts):
        raise LayerError(f"{where}: give output=HxW or ratio=R (one of them), e.g. fractionalmaxpool 2 ratio=0.7")
    if "output" in opts:
        out = _each(opts["output"], "output", where, ndim)
    else:
        try:
            ratios = tuple(float(v) for v in opts["ratio"].split("x"))
        except ValueError:
            ratios = ()
        if len(ratios) not in (1, ndim) or not all(0 < r < 1 for r in ratios):
            raise LayerError(f"{where}: ratio {opts['ratio']!r} is not R or one R per axis, each between 0 and 1")
        out = tuple(int(n * r) for n, r in zip(shape, ratios * ndim if len(ratios) == 1 else ratios))
        if min(out) < 1:
            raise LayerError(f"{where}: ratio {opts['ratio']} leaves no output cell of {_shown(shape[:-1])}")
    for o, k, n in zip(out, size, shape):
        if o + k - 1 > n:
            raise LayerError(
                f"{where}: output {_shown(out)} with pool size {_shown(size)} does not fit the {_shown(shape[:-1])} "
                f"input: output + size - 1 must be <= input along each axis"
            )
    return out


def _shown(dims: Sequence[int]) -> str:
    return "x".join(map(str, dims))


def _conv_shape(hw, size, stride, pad, dilation, where: str) -> Tuple[int, int]:
    """Keras/PyTorch Conv2D output: ceil(n / s) for same, floor((n + 2p - e) / s) + 1 otherwise."""
    if pad == "same":
        return (-(-hw[0] // stride[0]), -(-hw[1] // stride[1]))
    ph, pw = (0, 0) if pad == "valid" else ((pad, pad) if isinstance(pad, int) else pad)
    out = tuple((n + 2 * p - (d * (k - 1) + 1)) // s + 1 for n, p, k, d, s in zip(hw, (ph, pw), size, dilation, stride))
    if min(out) < 1:
        raise LayerError(f"{where}: kernel {size[0]}x{size[1]} does not fit the {hw[0]}x{hw[1]} input")
    return (out[0], out[1])


def _no_args(tokens: List[str], where: str) -> None:
    if tokens:
        raise LayerError(f"{where}: takes no settings, got '{' '.join(tokens)}'")
