"""Shapes and parameter counts through a stack of layers, as Keras ``model.summary()`` prints them.

Layer syntax, one layer per argument (or several separated by ``;``)::

    input 20x20x3          the input shape, H x W x C (first)
    dense 16               units; acts on the last axis
    conv 32 3x3 same       filters, kernel, then padding / stride=S / dilation=D / nobias
    maxpool 2 stride=2     size, then stride=S / valid / same / padding=P (or PxQ) / dilation=D / ceil
    avgpool 3 same         likewise
    globalmaxpool, globalavgpool, flatten, relu, dropout, batchnorm

Pool and conv shapes come from :func:`poolcli.output_shape`, so they follow
the same rules as ``poolcli pool``.
"""

from __future__ import annotations

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
    "globalmaxpool",
    "globalavgpool",
    "flatten",
    "relu",
    "dropout",
    "batchnorm",
)
_ALIASES = {
    "conv2d": "conv",
    "maxpooling2d": "maxpool",
    "max_pooling2d": "maxpool",
    "averagepooling2d": "avgpool",
    "avgpooling2d": "avgpool",
    "globalmaxpooling2d": "globalmaxpool",
    "globalaveragepooling2d": "globalavgpool",
    "batchnormalization": "batchnorm",
    "activation": "relu",
}
_KERAS = {
    "dense": ("dense", "Dense"),
    "conv": ("conv2d", "Conv2D"),
    "maxpool": ("max_pooling2d", "MaxPooling2D"),
    "avgpool": ("average_pooling2d", "AveragePooling2D"),
    "globalmaxpool": ("global_max_pooling2d", "GlobalMaxPooling2D"),
    "globalavgpool": ("global_average_pooling2d", "GlobalAveragePooling2D"),
    "flatten": ("flatten", "Flatten"),
    "relu": ("activation", "Activation"),
    "dropout": ("dropout", "Dropout"),
    "batchnorm": ("batch_normalization", "BatchNormalization"),
}


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


def _pair(token: str, what: str, where: str) -> Tuple[int, int]:
    dims = _dims(token, what, where)
    if len(dims) == 1:
        return (dims[0], dims[0])
    if len(dims) == 2:
        return dims  # type: ignore[return-value]
    raise LayerError(f"{where}: {what} {token!r} is not N or HxW")


def _padding(token: str, where: str):
    low = token.lower()
    if low in ("valid", "same"):
        return low
    try:
        dims = tuple(int(v) for v in low.split("x"))
    except ValueError:
        raise LayerError(f"{where}: padding {token!r} is not valid, same, P or PxQ") from None
    if len(dims) not in (1, 2) or min(dims) < 0:
        raise LayerError(f"{where}: padding {token!r} is not valid, same, P or PxQ")
    return dims[0] if len(dims) == 1 else dims


def parse_layers(specs: Sequence[str]) -> List[Tuple[str, List[str], str]]:
    """Return (kind, tokens, text) for each layer, checking the kinds."""
    out = []
    for n, text in enumerate(_split(specs), 1):
        tokens = text.replace(",", " ").split()
        kind = tokens[0].lower().replace("-", "")
        kind = _ALIASES.get(kind, kind)
        if kind not in LAYER_KINDS:
            import difflib

            close = difflib.get_close_matches(kind, LAYER_KINDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise LayerError(f"layer {n} '{text}': unknown layer '{tokens[0]}'{hint}; known: {', '.join(LAYER_KINDS)}")
        out.append((kind, tokens[1:], text))
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
            key = {"s": "stride", "strides": "stride", "p": "padding", "d": "dilation", "k": "size"}.get(key, key)
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


def summarise(specs: Sequence[str]) -> Tuple[Tuple[int, ...], List[Layer]]:
    """Return the input shape and a summary row for each layer after it."""
    parsed = parse_layers(specs)
    layers: List[Layer] = []
    counts: dict = {}
    shape: Tuple[int, ...] = ()
    for n, (kind, tokens, text) in enumerate(parsed, 1):
        where = f"layer {n} '{text}'"
        if kind == "input":
            if n != 1:
                raise LayerError(f"{where}: 'input' may only be the first layer")
            if len(tokens) != 1:
                raise LayerError(f"{where}: give the input shape as HxWxC, e.g. input 20x20x3")
            shape = input_shape = _dims(tokens[0], "shape", where)
            continue
        shape, params = _apply(kind, tokens, shape, where)
        base, cls = _KERAS[kind]
        k = counts.get(base, 0)
        counts[base] = k + 1
        layers.append(Layer(base if k == 0 else f"{base}_{k}", cls, shape, params))
    return input_shape, layers


def _apply(kind: str, tokens: List[str], shape: Tuple[int, ...], where: str) -> Tuple[Tuple[int, ...], int]:
    if kind == "dense":
        pos, opts = _options(tokens, where, ["bias"])
        if len(pos) != 1:
            raise LayerError(f"{where}: give the number of units, e.g. dense 16")
        units = _dims(pos[0], "units", where)[0]
        bias = opts.get("bias", "1") != "0"
        return shape[:-1] + (units,), (shape[-1] + bias) * units
    if kind in ("flatten",):
        _no_args(tokens, where)
        total = 1
        for v in shape:
            total *= v
        return (total,), 0
    if kind in ("relu", "dropout"):
        return shape, 0
    if kind == "batchnorm":
        _no_args(tokens, where)
        return shape, 4 * shape[-1]
    if len(shape) != 3:
        raise LayerError(f"{where}: needs an H x W x C input, got shape ({', '.join(map(str, shape))})")
    if kind in ("globalmaxpool", "globalavgpool"):
        _no_args(tokens, where)
        return (shape[2],), 0
    if kind == "conv":
        pos, opts = _options(tokens, where, ["stride", "padding", "dilation", "bias"])
        if len(pos) != 2:
            raise LayerError(f"{where}: give filters and kernel size, e.g. conv 32 3x3 same")
        filters = _dims(pos[0], "filters", where)[0]
        kernel = _pair(pos[1], "kernel size", where)
        # a convolution steps 1 by default (a pool steps by its size)
        size, stride, padding, dilation, ceil = (
            kernel,
            opts.get("stride", "1"),
            opts.get("padding", "valid"),
            opts.get("dilation"),
            False,
        )
        bias = opts.get("bias", "1") != "0"
        params = (kernel[0] * kernel[1] * shape[2] + bias) * filters
        channels = filters
    else:
        pos, opts = _options(tokens, where, ["stride", "padding", "dilation", "ceil", "size"])
        if "size" in opts:
            pos = [opts["size"]] + pos
        if len(pos) > 1:
            raise LayerError(
                f"{where}: unexpected '{pos[1]}'; expected the pool size then stride=S, padding, dilation=D"
            )
        size = _pair(pos[0], "pool size", where) if pos else (2, 2)
        stride, padding, dilation, ceil = (
            opts.get("stride"),
            opts.get("padding", "valid"),
            opts.get("dilation"),
            "ceil" in opts,
        )
        params, channels = 0, shape[2]
    stride_hw = _pair(stride, "stride", where) if stride else None
    dilation_hw = _pair(dilation, "dilation", where) if dilation else (1, 1)
    pad = _padding(padding, where) if isinstance(padding, str) else padding
    if kind == "conv":
        # a convolution takes any padding (PyTorch Conv2d), where a pool takes at most half its window
        return (_conv_shape(shape[:2], size, stride_hw or (1, 1), pad, dilation_hw, where) + (channels,)), params
    try:
        out = output_shape(shape[:2], size, stride_hw, pad, dilation=dilation_hw, ceil_mode=ceil)
    except ValueError as exc:
        raise LayerError(f"{where}: {exc} (input {shape[0]}x{shape[1]})") from None
    return (out[0], out[1], channels), params


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
