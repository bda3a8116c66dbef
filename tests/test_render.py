"""The views: matrix tables, explain steps, the layer summary, demo. Exact text at a fixed width, colour off."""

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from poolcli.cli import main
from poolcli import pool2d, window_cells
from poolcli.render import render_matrix
from poolcli.render_explain import explain_steps

DATA = Path(__file__).parent / "data"


def text_of(renderable, width=60, color=False):
    console = Console(width=width, color_system="truecolor" if color else None, force_terminal=color, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text(styles=color)


def run(args, **kw):
    return CliRunner().invoke(main, args, env={"COLUMNS": "80", "NO_COLOR": None}, **kw)


def test_matrix_view_snapshot():
    x = np.array([[1, 2.5], [-3, 4]])
    assert text_of(render_matrix(x, title="m", width=60, color=False)) == (
        "m  2x2 float64  min -3  max 4  mean 1.125\n"
        "     0    1\n"
        "0  1.0  2.5\n"
        "1 -3.0  4.0\n"
    )


def test_large_matrix_shows_corners_and_says_so():
    x = np.arange(400, dtype=float).reshape(20, 20) / 4 - 50
    out = text_of(render_matrix(x, max_rows=6, width=60, color=False))
    lines = out.splitlines()
    assert lines[0] == "20x20 float64  min -50  max 49.75  mean -0.125"
    assert lines[1].split() == ["0", "1", "2", "3", "…", "17", "18", "19"]
    assert lines[2].split() == ["0", "-50.00", "-49.75", "-49.50", "-49.25", "…", "-45.75", "-45.50", "-45.25"]
    assert set(lines[5].split()) == {"…"}
    assert lines[6].split()[0] == "17"
    assert lines[-1] == "showing 6 of 20 rows and 7 of 20 columns"
    assert max(len(line) for line in lines) <= 60


def test_channels_each_shown():
    x = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    out = text_of(render_matrix(x, color=False))
    assert [l for l in out.splitlines() if "channel" in l] == [
        "channel 0  2x2 uint8  min 0  max 9  mean 4.5",
        "channel 1  2x2 uint8  min 1  max 10  mean 5.5",
        "channel 2  2x2 uint8  min 2  max 11  mean 6.5",
    ]


def test_colour_styles_applied_when_forced():
    x = np.array([[0.0, 1.0], [-1.0, 0.5]])
    styled = text_of(render_matrix(x, color=True), color=True)
    assert "\x1b[" in styled  # ANSI styles present
    assert "48;2;" in styled  # truecolor backgrounds: the heat map
    plain = run(["show", "-", "--no-color"], input="0,1\n-1,0.5\n")
    assert "\x1b[" not in plain.stdout
    forced = run(["show", "-", "--color"], input="0,1\n-1,0.5\n")
    assert "\x1b[" in forced.stdout


def test_no_color_env_turns_colour_off():
    result = CliRunner().invoke(main, ["show", "-"], input="1,2\n", env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert "\x1b[" not in result.stdout
    assert result.stdout.splitlines()[0] == "<stdin>  1x2 float64  min 1  max 2  mean 1.5"


SEED_4X4 = "1,9,2,8\n3,4,0,5\n6,1,1,1\n2,5,7,0\n"


def test_explain_steps_on_4x4():
    x = np.array([[1, 9, 2, 8], [3, 4, 0, 5], [6, 1, 1, 1], [2, 5, 7, 0]], dtype=float)
    rows, cols = window_cells(x.shape, 2, 2)
    steps = [text_of(s) for s in explain_steps(x, pool2d(x, 2), rows, cols, "max", color=False)]
    assert len(steps) == 4
    assert [s.splitlines()[0] for s in steps] == [
        "window 1 of 4: rows 0..1, columns 0..1 -> output [0, 0]",
        "window 2 of 4: rows 0..1, columns 2..3 -> output [0, 1]",
        "window 3 of 4: rows 2..3, columns 0..1 -> output [1, 0]",
        "window 4 of 4: rows 2..3, columns 2..3 -> output [1, 1]",
    ]
    assert [s.splitlines()[7] for s in steps] == [
        "max(1, 9, 3, 4) = 9",
        "max(2, 8, 0, 5) = 8",
        "max(6, 1, 2, 5) = 6",
        "max(1, 1, 7, 0) = 7",
    ]
    # the first step in full: the window bracketed, the output growing
    assert [line.rstrip() for line in steps[0].splitlines()[1:7]] == [
        "input 4x4         output 2x2",
        "   0  1  2  3        0  1",
        "0 [1][9] 2  8     0 [9] ·",
        "1 [3][4] 0  5     1  ·  ·",
        "2  6  1  1  1",
        "3  2  5  7  0",
    ]
    # output after step 3: three cells filled, the fourth still empty
    assert [line.rstrip() for line in steps[2].splitlines()[3:5]] == [
        "0  1  9  2  8     0  9  8",
        "1  3  4  0  5     1 [6] ·",
    ]


def test_explain_avg_with_padding_writes_the_divisor():
    result = run(["explain", "-", "-k", "3", "-s", "2", "-p", "1", "-m", "avg", "--no-color"], input="1,2,3\n4,5,6\n7,8,9\n")
    assert result.exit_code == 0, result.output
    exprs = [l for l in result.stdout.splitlines() if l.startswith("avg(")]
    assert exprs == [
        "avg(1, 2, 4, 5, pad 0, pad 0, pad 0, pad 0, pad 0) = 12 / 9 = 1.3333",
        "avg(2, 3, 5, 6, pad 0, pad 0, pad 0, pad 0, pad 0) = 16 / 9 = 1.7778",
        "avg(4, 5, 7, 8, pad 0, pad 0, pad 0, pad 0, pad 0) = 24 / 9 = 2.6667",
        "avg(5, 6, 8, 9, pad 0, pad 0, pad 0, pad 0, pad 0) = 28 / 9 = 3.1111",
    ]
    nocount = run(["explain", "-", "-k", "3", "-s", "2", "-p", "1", "-m", "avg", "--no-count-pad", "--no-color"], input="1,2,3\n4,5,6\n7,8,9\n")
    assert [l for l in nocount.stdout.splitlines() if l.startswith("avg(")][0] == "avg(1, 2, 4, 5) = 12 / 4 = 3  (5 padding cells not counted)"


def test_explain_marks_winners_at_the_end():
    result = run(["explain", "-", "--no-color"], input=SEED_4X4)
    tail = [line.rstrip() for line in result.stdout.splitlines()[-6:]]
    assert tail == [
        "every window's max, marked",
        "   0  1  2  3",
        "0  1 [9] 2 [8]",
        "1  3  4  0  5",
        "2 [6] 1  1  1",
        "3  2  5 [7] 0",
    ]


def test_explain_refuses_large_input_with_a_hint():
    result = run(["explain", str(DATA / "seven_conv_26x26.txt")])
    assert result.exit_code == 2
    assert "is 26x26; explain walks every window, so it takes up to 16x16: pick a part with --region" in result.stderr


def test_explain_region_keeps_input_numbers():
    result = run(["explain", str(DATA / "seven_conv_26x26.txt"), "--region", "6:10,0:4", "--no-color"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "window 1 of 4: rows 6..7, columns 0..1 -> output [0, 0]"
    assert lines[3].split()[0] == "6"
    assert "max(0.0, 0.3, 0.5, 1.2) = 1.2" in lines


SEED_MODEL = "input 20x20x3; dense 16; conv 32 3x3 same; maxpool 2x2 stride=2 valid; conv 64 5x5 same; flatten; dense 2"


def test_summary_reproduces_the_seed_table():
    result = run(["summary", SEED_MODEL, "--no-color"])
    assert result.exit_code == 0, result.output
    rows = [re.split(r"\s{2,}", l.strip()) for l in result.stdout.splitlines() if "(" in l and not l.strip().startswith("Layer")]
    assert rows == [
        ["input (InputLayer)", "(None, 20, 20, 3)", "0"],
        ["dense (Dense)", "(None, 20, 20, 16)", "64"],
        ["conv2d (Conv2D)", "(None, 20, 20, 32)", "4,640"],
        ["max_pooling2d (MaxPooling2D)", "(None, 10, 10, 32)", "0"],
        ["conv2d_1 (Conv2D)", "(None, 10, 10, 64)", "51,264"],
        ["flatten (Flatten)", "(None, 6400)", "0"],
        ["dense_1 (Dense)", "(None, 2)", "12,802"],
    ]
    assert "Total params: 68,770" in result.stdout.splitlines()
    assert "Non-trainable params: 0" in result.stdout.splitlines()


def test_summary_layers_as_separate_arguments_and_pool_forms():
    result = run(["summary", "input 28x28x1", "conv 8 3x3", "maxpool 3 stride=2 same", "avgpool 2 ceil", "globalmaxpool", "--no-color"])
    shapes = [re.split(r"\s{2,}", l.strip())[1] for l in result.stdout.splitlines() if "(None" in l]
    assert shapes == ["(None, 28, 28, 1)", "(None, 26, 26, 8)", "(None, 13, 13, 8)", "(None, 7, 7, 8)", "(None, 8)"]


@pytest.mark.parametrize(
    "layers, message",
    [
        ("input 20x20x3; dense 16; maxpol 2", "layer 3 'maxpol 2': unknown layer 'maxpol' (did you mean 'maxpool'?)"),
        ("dense 16", "layer 1 'dense 16': the first layer must be 'input HxWxC'"),
        ("input 4x4x1; maxpool 5", "layer 2 'maxpool 5': pool size 5x5 does not fit the 4x4 input"),
        ("input 4x4x1; maxpool 2 strid=2", "layer 2 'maxpool 2 strid=2': unknown setting 'strid=2'"),
        ("input 4x4x1; conv 8", "layer 2 'conv 8': give filters and kernel size"),
    ],
)
def test_summary_errors_point_at_the_layer(layers, message):
    result = run(["summary", layers])
    assert result.exit_code == 2
    assert message in result.stderr


def test_demo_from_a_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(["demo", "--no-color"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "convolution output  26x26 float64" in out
    assert "max pooled  13x13 float64" in out
    assert "Every one of the 169 cells equals the tutorial's 13x13 table: yes." in out
    assert out.count("window ") >= 4 and "max(0.0, 0.3, 0.5, 1.2) = 1.2" in out


def test_summary_conv_takes_any_padding_pool_at_most_half():
    ok = run(["summary", "input 8x8x1; conv 4 3x3 padding=2; conv 2 1x1 p=1", "--no-color"])
    shapes = [re.split(r"\s{2,}", l.strip())[1] for l in ok.stdout.splitlines() if "(None" in l]
    assert shapes == ["(None, 8, 8, 1)", "(None, 10, 10, 4)", "(None, 12, 12, 2)"]
    bad = run(["summary", "input 8x8x1; maxpool 2 padding=2"])
    assert bad.exit_code == 2 and "padding 2x2 is more than half the pool window 2x2" in bad.stderr
