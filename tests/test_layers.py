"""layers.summarise: shapes and parameter counts worked out by hand from Keras' formulas.

Dense: (inputs + 1) * units on the last axis. Conv2D: (kh * kw * C + 1) * filters, output
floor((n + 2p - d(k-1) - 1) / s) + 1 (valid) or ceil(n / s) (same). BatchNormalization: 4 * C
(gamma, beta, moving mean, moving variance). Pools and the rest: no parameters.
"""

import pytest

from poolcli.layers import Layer, LayerError, parse_layers, summarise


def shapes(*specs):
    _, rows = summarise(list(specs))
    return [(r.kind, r.shape, r.params) for r in rows]


def test_the_tutorials_model_row_by_row():
    spec = "input 20x20x3; dense 16; conv 32 3x3 same; maxpool 2 stride=2 valid; conv 64 5x5 same; flatten; dense 2"
    input_shape, rows = summarise([spec])
    assert input_shape == (20, 20, 3)
    assert rows == [
        Layer("dense", "Dense", (20, 20, 16), (3 + 1) * 16),
        Layer("conv2d", "Conv2D", (20, 20, 32), (3 * 3 * 16 + 1) * 32),
        Layer("max_pooling2d", "MaxPooling2D", (10, 10, 32), 0),
        Layer("conv2d_1", "Conv2D", (10, 10, 64), (5 * 5 * 32 + 1) * 64),
        Layer("flatten", "Flatten", (6400,), 0),
        Layer("dense_1", "Dense", (2,), (6400 + 1) * 2),
    ]
    assert sum(r.params for r in rows) == 68_770


def test_conv_shapes_follow_stride_dilation_and_padding():
    # valid: 28 - 3 + 1 = 26; stride 2: floor((28 - 3) / 2) + 1 = 13; dilation 2: window 5, 28 - 5 + 1 = 24
    assert shapes("input 28x28x1", "conv 8 3x3")[0] == ("Conv2D", (26, 26, 8), (9 + 1) * 8)
    assert shapes("input 28x28x1", "conv 8 3x3 stride=2")[0][1] == (13, 13, 8)
    assert shapes("input 28x28x1", "conv 8 3x3 dilation=2")[0][1] == (24, 24, 8)
    # same: ceil(n / s), whatever the kernel
    assert shapes("input 27x28x1", "conv 8 5x5 same stride=2")[0][1] == (14, 14, 8)
    # explicit padding 1 keeps 28 (PyTorch Conv2d); padding larger than half the kernel is allowed for conv
    assert shapes("input 28x28x1", "conv 8 3x3 padding=1")[0][1] == (28, 28, 8)
    assert shapes("input 28x28x1", "conv 8 3x3 padding=3")[0][1] == (32, 32, 8)
    # a rectangular kernel, no bias: 5 * 3 * 2 weights per filter
    assert shapes("input 10x10x2", "conv 4 5x3 nobias")[0] == ("Conv2D", (6, 8, 4), 5 * 3 * 2 * 4)


def test_pool_shapes_use_the_engines_rules():
    # same: ceil(5 / 2) = 3; ceil_mode with padding 1: ceil((5 + 2 - 3) / 2) + 1 = 3; avg keeps channels
    assert shapes("input 5x5x3", "maxpool 2 same")[0] == ("MaxPooling2D", (3, 3, 3), 0)
    assert shapes("input 5x5x3", "avgpool 3 stride=2 padding=1 ceil")[0] == ("AveragePooling2D", (3, 3, 3), 0)
    assert shapes("input 6x9x4", "maxpool 2x3")[0][1] == (3, 3, 4)
    assert shapes("input 6x6x4", "globalavgpool")[0] == ("GlobalAveragePooling2D", (4,), 0)
    assert shapes("input 6x6x4", "globalmaxpool")[0] == ("GlobalMaxPooling2D", (4,), 0)


def test_batchnorm_dropout_relu_and_dense_on_the_last_axis():
    assert shapes("input 4x4x6", "batchnorm", "dropout", "relu", "dense 5") == [
        ("BatchNormalization", (4, 4, 6), 4 * 6),
        ("Dropout", (4, 4, 6), 0),
        ("Activation", (4, 4, 6), 0),
        ("Dense", (4, 4, 5), (6 + 1) * 5),
    ]


def test_keras_names_are_accepted_and_numbered():
    _, rows = summarise(["input 8x8x1", "Conv2D 2 3x3", "MaxPooling2D 2", "conv2d 2 1x1"])
    assert [r.name for r in rows] == ["conv2d", "max_pooling2d", "conv2d_1"]
    kinds = [kind for kind, *_ in parse_layers(["input 8x8x1; BatchNormalization; GlobalAveragePooling2D"])]
    assert kinds == ["input", "batchnorm", "globalavgpool"]


@pytest.mark.parametrize(
    "specs, message",
    [
        ([], "no layers given"),
        (["dense 4"], "the first layer must be 'input HxWxC'"),
        (["input 8x8x1", "input 8x8x1"], "'input' may only be the first layer"),
        (["input 8x8x1", "maxpol 2"], "did you mean 'maxpool'?"),
        (["input 8x8x1", "maxpool 9"], "layer 2 'maxpool 9': pool size 9x9 does not fit the 8x8 input"),
        (["input 8x8x1", "conv 2 9x9"], "kernel 9x9 does not fit the 8x8 input"),
        (["input 8x8x1", "maxpool 2 stride=0"], "stride '0' must be >= 1"),
        (["input 8x8x1", "maxpool 2 speed=3"], "unknown setting 'speed=3'"),
        (["input 8x8x1", "flatten", "maxpool 2"], "needs an H x W x C input"),
        (["input 8x8x1", "dense"], "give the number of units"),
        (["input 8x8x1", "flatten 2"], "takes no settings"),
    ],
)
def test_errors_name_the_layer(specs, message):
    with pytest.raises(LayerError, match=None) as info:
        summarise(specs)
    assert message in str(info.value)
