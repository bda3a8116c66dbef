"""summary's 1-D and 3-D pools, LP pooling, max unpooling and fractional max pooling: shapes worked out by hand from
Keras' and PyTorch's formulas, and the shapes of the Keras and PyTorch golden outputs in tests/data.

Pools: floor((n + 2p - d(k - 1) - 1) / s) + 1 (valid, PyTorch), ceil(n / s) (Keras same); PyTorch's ceil_mode rounds
up but drops a last window that would start past the input. MaxUnpool: (n - 1) * s - 2p + k, or an output_size
strictly within s of it. FractionalMaxPool: int(n * ratio), or output_size, with output + k - 1 <= n.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from poolcli.layers import Layer, LayerError, parse_layers, summarise

DATA = Path(__file__).parent / "data"
with open(DATA / "torch_nd_golden.json") as f:
    TORCH = json.load(f)["cases"]
with open(DATA / "keras_nd_golden.json") as f:
    KERAS = json.load(f)["cases"]


def rows(*specs):
    return summarise(list(specs))[1]


def shape(*specs):
    return rows(*specs)[-1].shape


def dims(v):
    return "x".join(str(n) for n in (v if isinstance(v, list) else [v]))


def test_a_signal_model_row_by_row():
    assert rows("input 100x3; maxpool1d 4 stride=2; avgpool1d 3 same; lppool 2 norm=2; unpool 2; globalmaxpool") == [
        Layer("max_pooling1d", "MaxPooling1D", ((100 - 4) // 2 + 1, 3), 0),  # 49
        Layer("average_pooling1d", "AveragePooling1D", (-(-49 // 3), 3), 0),  # 17
        Layer("lp_pool1d", "LPPool1d", (17 // 2, 3), 0),  # 8
        Layer("max_unpool1d", "MaxUnpool1d", ((8 - 1) * 2 + 2, 3), 0),  # 16
        Layer("global_max_pooling1d", "GlobalMaxPooling1D", (3,), 0),
    ]


def test_a_volume_model_row_by_row():
    layers = rows(
        "input 16x32x32x2",
        "MaxPooling3D 2",
        "avgpool3d 3 stride=2 padding=1",
        "lppool 2x2x1 norm=inf",
        "maxunpool3d 2 stride=2",
        "globalaveragepooling3d",
        "dense 4",
    )
    assert [(r.kind, r.shape, r.params) for r in layers] == [
        ("MaxPooling3D", (8, 16, 16, 2), 0),
        # floor((8 + 2 - 3) / 2) + 1 = 4, floor((16 + 2 - 3) / 2) + 1 = 8
        ("AveragePooling3D", (4, 8, 8, 2), 0),
        ("LPPool3d", (2, 4, 8, 2), 0),
        # (2 - 1) * 2 + 2 = 4, (4 - 1) * 2 + 2 = 8, (8 - 1) * 2 + 2 = 16
        ("MaxUnpool3d", (4, 8, 16, 2), 0),
        ("GlobalAveragePooling3D", (2,), 0),
        ("Dense", (4,), (2 + 1) * 4),
    ]


def test_an_image_model_with_fractional_pooling_and_unpooling():
    layers = rows(
        "input 28x28x3",
        "fractionalmaxpool 2 ratio=0.7071",  # int(28 * 0.7071) = int(19.79) = 19
        "FractionalMaxPool2d 3 output=10x12",  # 10 + 3 - 1 <= 19, 12 + 3 - 1 <= 19
        "lppool2d 3 norm=1.5 stride=2 ceil",  # ceil((10 - 3) / 2) + 1 = 5 (starts at 8 < 10), ceil((12 - 3) / 2) + 1 = 6
        "MaxUnpool2d 2 output=11x12",  # default (5 - 1) * 2 + 2 = 10 and 12: 11 lies within 8 < o < 12
        "fractionalmaxpool 2 ratio=0.5x0.25",  # int(11 * 0.5) = 5, int(12 * 0.25) = 3
    )
    assert [r.name for r in layers] == [
        "fractional_max_pool2d",
        "fractional_max_pool2d_1",
        "lp_pool2d",
        "max_unpool2d",
        "fractional_max_pool2d_2",
    ]
    assert [r.shape for r in layers] == [(19, 19, 3), (10, 12, 3), (5, 6, 3), (11, 12, 3), (5, 3, 3)]


def test_the_dimension_comes_from_the_input_unless_the_name_gives_it():
    assert rows("input 12x4; maxpool 3")[0].kind == "MaxPooling1D"
    assert rows("input 12x12x4; maxpool 3")[0].kind == "MaxPooling2D"
    assert rows("input 6x12x12x4; avgpool 3")[0].kind == "AveragePooling3D"
    kinds = [(kind, ndim) for kind, _, _, ndim in parse_layers(["input 4x4; AvgPool1d; max_pooling3d 2; lp_pool2d; MaxPooling2D"])]
    assert kinds == [("input", None), ("avgpool", 1), ("maxpool", 3), ("lppool", 2), ("maxpool", 2)]


@pytest.mark.parametrize(
    "specs, message",
    [
        ("input 8x8x1; maxpool1d 2", "layer 2 'maxpool1d 2': needs an N x C input, got shape (8, 8, 1)"),
        ("input 8x1; maxpool3d 2", "needs a D x H x W x C input, got shape (8, 1)"),
        ("input 8x3; fractionalmaxpool 2 ratio=0.5", "needs an H x W x C input (or D x H x W x C), got shape (8, 3)"),
        ("input 8x8x3; flatten; lppool 2 norm=2", "needs an H x W x C input (or N x C, D x H x W x C), got shape (192)"),
        ("input 8x8x3; conv1d 4 3", "unknown layer 'conv1d'"),
        ("input 8x8x8x1; maxpool3d 9", "pool size 9x9x9 does not fit the 8x8x8 input"),
        ("input 8x1; avgpool1d 3 padding=2", "padding 2 is more than half the pool window 3"),
        ("input 8x8x8x1; maxpool3d 2x2", "pool size '2x2' is not N or DxHxW"),
        ("input 8x8x1; lppool 2", "give norm=P, the p of (sum of x**p) ** (1/p): a number > 0, or inf"),
        ("input 8x8x1; lppool 2 norm=-1", "give norm=P"),
        ("input 8x8x1; lppool 2 norm=2 padding=1", "unknown setting 'padding=1'; expected stride=, ceil=, size=, norm="),
        ("input 4x4x1; unpool 2 output=11x8", "output 11x8 must lie within the stride of 8x8: along axis 0, between 6 and 10"),
        ("input 4x4x1; unpool 1 padding=2", "leaves no cell"),
        ("input 8x8x1; fractionalmaxpool 2", "give output=HxW or ratio=R (one of them)"),
        ("input 8x8x1; fractionalmaxpool 2 ratio=0.5 output=4", "give output=HxW or ratio=R (one of them)"),
        ("input 8x8x1; fractionalmaxpool 2 ratio=1.5", "ratio '1.5' is not R or one R per axis, each between 0 and 1"),
        ("input 8x8x1; fractionalmaxpool 2 ratio=0.1", "ratio 0.1 leaves no output cell of 8x8"),
        ("input 8x8x1; fractionalmaxpool 3 output=7", "output 7x7 with pool size 3x3 does not fit the 8x8 input"),
    ],
)
def test_shapes_that_do_not_fit_name_the_layer(specs, message):
    with pytest.raises(LayerError) as info:
        summarise([specs])
    assert message in str(info.value)


# --------------------------------------------------------------------------- golden shapes


def _window_settings(kw, stride_key, size_key):
    spec = dims(kw[size_key])
    if kw.get(stride_key) is not None:
        spec += f" stride={dims(kw[stride_key])}"
    for key, name in (("padding", "padding"), ("dilation", "dilation")):
        if key in kw and not isinstance(kw[key], str):
            spec += f" {name}={dims(kw[key])}"
    if kw.get("padding") in ("same", "valid"):
        spec += f" {kw['padding']}"
    return spec + (" ceil" if kw.get("ceil_mode") else "")


@pytest.mark.parametrize("ndim", [1, 3])
def test_pool_shapes_are_the_keras_golden_outputs(ndim):
    for case in KERAS[f"pool{ndim}d"]:
        x = np.array(case["input"])
        settings = _window_settings(case["kwargs"], "strides", "pool_size")
        for kind, key in (("maxpool", "max"), ("avgpool", "avg")):
            got = shape(f"input {dims(list(x.shape))}", f"{kind}{ndim}d {settings}")
            assert got == np.array(case[key]).shape, (case["kwargs"], kind)
    for case in KERAS[f"global{ndim}d"]:
        x = np.array(case["input"])
        assert shape(f"input {dims(list(x.shape))}", "globalmaxpool") == x.shape[-1:]


def _with_channels(a, ndim):
    """The shape of a golden array, with one channel when it has none."""
    s = np.array(a).shape
    return s if len(s) > ndim else s + (1,)


@pytest.mark.parametrize("ndim", [1, 3])
def test_pool_and_lp_shapes_are_the_pytorch_golden_outputs(ndim):
    for case in TORCH[f"pool{ndim}d"]:
        x = _with_channels(case["input"], ndim)
        settings = _window_settings(case["kwargs"], "stride", "kernel_size")
        got = shape(f"input {dims(list(x))}", f"maxpool{ndim}d {settings}")
        assert got == _with_channels(case["max"], ndim), case["kwargs"]
    for case in TORCH[f"lp{ndim}d"]:
        x = _with_channels(case["input"], ndim)
        settings = _window_settings(case["kwargs"], "stride", "kernel_size")
        got = shape(f"input {dims(list(x))}", f"lppool{ndim}d {settings} norm={case['norm_type']}")
        assert got == _with_channels(case["lp"], ndim), case["kwargs"]


def test_fractional_shapes_are_the_pytorch_golden_outputs():
    for case in TORCH["fractional2d"]:
        spatial = tuple(case.get("arange_shape") or np.array(case["input"]).shape)
        channels = spatial[2:] or (1,)
        got = shape(f"input {dims(list(spatial[:2] + channels))}", f"fractionalmaxpool {dims(case['kernel_size'])} output={dims(case['output_size'])}")
        assert got == tuple(case["output_size"]) + channels
    for case in TORCH["fractional_ratio"]:
        x = np.array(case["input"])
        got = shape(f"input {dims(list(x.shape))}x1", f"fractionalmaxpool {case['kernel_size']} ratio={dims(case['output_ratio'])}")
        assert got == np.array(case["max"]).shape + (1,)


def test_a_narrow_terminal_folds_long_layer_names_but_never_cuts_a_shape():
    from click.testing import CliRunner

    from poolcli.cli import main

    spec = "input 16x32x32x1; maxpool3d 2; globalavgpool; dense 1000"
    result = CliRunner().invoke(main, ["summary", spec, "--no-color"], env={"COLUMNS": "60"})
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert max(len(line) for line in lines) <= 60
    assert [line for line in lines if "(None" in line] == [
        " input (InputLayer)         (None, 16, 32, 32, 1)         0",
        " max_pooling3d              (None, 8, 16, 16, 1)          0",
        " global_average_pooling3d   (None, 1)                     0",
        " dense (Dense)              (None, 1000)              2,000",
    ]
    assert " (GlobalAveragePooling3D)" in lines
