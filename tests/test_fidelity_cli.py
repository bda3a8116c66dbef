"""Issue 10 on the command line: any number, options that would do nothing, --layout, --quality, --max-pixels of results.

Every refusal is one line on stderr naming the option, exit 2 (usage) or 1 (a size known only from the input),
no traceback, and nothing written.
"""

import os
import sys

import click
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from click.testing import CliRunner
from PIL import Image

from poolcli import pool2d
from poolcli.cli import main
from poolcli.cli.types import MAX_DIM, OutputSizeType, PaddingType, PairType

sys.path.insert(0, os.path.dirname(__file__))
from reference import _axis  # noqa: E402

HUGE = str(10**20)
SQUARE = "1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n"


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.csv").write_text(SQUARE)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "m.csv").write_text(SQUARE)
    return tmp_path


def assert_refused(result, code, message, folder, before):
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in folder.rglob("*")) == before  # no output, no temporary file


# ---------------------------------------------------------------- every number option of every command


def number_options():
    """(command, option flag) for every option of every command whose value is a number or a pair of numbers.

    --region (R0:R1,C0:C1) and --shard (I/N) are not among them: a huge bound there means "to the end" or "none".
    """
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, (click.IntRange, PairType, PaddingType, OutputSizeType)):
                yield name, max(param.opts, key=len)


# what each command needs to run: an input, and for batch the folders and a single process
NEEDS = {"pool": ["m.csv"], "explain": ["m.csv"], "show": ["m.csv"], "batch": ["in", "out", "--glob", "*.csv", "-j", "1"], "demo": [],
         "unpool": ["m.csv", "--indices", "m.csv", "--shape", "5x5"]}
# the option without which the flag is refused for doing nothing
WITH = {"--seed": ["--output-ratio", "0.5"]}
# an output the option acts on (else it is refused for doing nothing)
OUTPUT_FOR = {"--quality": "jpg", "--compress-level": "png"}
# values a number option accepts although they are not positive: zero decimals, channel 0, zero padding, no steps
ZERO_IS_FINE = {"--precision", "--channel", "--compress-level", "--padding", "--steps", "--seed"}


def test_the_sweep_covers_every_number_option():
    flags = {f"{c} {o}" for c, o in number_options()}
    for expected in ("pool --size", "pool --stride", "pool --dilation", "pool --padding", "pool --output-size",
                     "pool --max-pixels", "pool --channel", "pool --precision", "pool --compress-level", "pool --quality",
                     "batch --jobs", "show --max-rows", "show --max-cols", "demo --steps", "explain --size"):
        assert expected in flags
    assert {c for c, _ in number_options()} <= set(NEEDS)


def above_the_bound(command, flag):
    param = next(p for p in main.commands[command].params if flag in p.opts)
    return str(param.type.max + 1 if isinstance(param.type, click.IntRange) else MAX_DIM + 1)


@pytest.mark.parametrize("command, flag", sorted(set(number_options())))
@pytest.mark.parametrize("value", [HUGE, "-1", "0", "above the bound"])
def test_any_number_is_one_line_and_exit_2_naming_the_option(here, command, flag, value):
    before = sorted(p.name for p in here.rglob("*"))
    if value == "above the bound":
        value = above_the_bound(command, flag)
    args = [command, *NEEDS[command], flag, value, *WITH.get(flag, [])]
    if flag in OUTPUT_FOR:
        args += ["-t", OUTPUT_FOR[flag]] + (["-o", "o." + OUTPUT_FOR[flag]] if command == "pool" else [])
    result = run(args)
    if value == "0" and flag in ZERO_IS_FINE:
        assert result.exit_code == 0, result.stderr
        return
    assert_refused(result, 2, "Invalid value for '", here, before)
    assert flag in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["-k", HUGE], f"'-k' / '--size': must be <= {MAX_DIM}, got {HUGE}"),
        (["-s", HUGE], f"'-s' / '--stride': must be <= {MAX_DIM}, got {HUGE}"),
        (["-s", f"1x{HUGE}"], f"'-s' / '--stride': must be <= {MAX_DIM}, got 1x{HUGE}"),
        (["-d", HUGE], f"'-d' / '--dilation': must be <= {MAX_DIM}"),
        (["-p", f"{HUGE}x1"], f"'-p' / '--padding': must be <= {MAX_DIM}"),
        (["-p", "-1"], "'-p' / '--padding': must be >= 0, got -1"),
        (["-p", "1x2x3x4"], "'-p' / '--padding': '1x2x3x4' is not valid, same, P, PxQ or PxQxR"),
        (["--output-size", "0x3"], "'--output-size': must be >= 1, got 0x3"),
        (["--max-pixels", HUGE], "'--max-pixels': 100000000000000000000 is not in the range 1<=x<=1099511627776"),
        (["--channel", HUGE], "'--channel'"),
    ],
)
def test_number_messages(here, args, message):
    before = sorted(p.name for p in here.rglob("*"))
    assert_refused(run(["pool", "m.csv", *args]), 2, message, here, before)


# ---------------------------------------------------------------- results larger than --max-pixels


@pytest.mark.parametrize(
    "args, message",
    [
        (["--output-size", "100000x100000"], "--output-size 100000x100000 is 10,000,000,000 pixels, more than --max-pixels 178,956,970"),
        (["--output-size", "25", "--max-pixels", "24"], "--output-size 25 is 25 cells or more, more than --max-pixels 24"),
        (["--output-size", f"{MAX_DIM}x{MAX_DIM}", "--max-pixels", str(2**40)], "more than --max-pixels 1,099,511,627,776"),
    ],
)
def test_adaptive_results_beyond_max_pixels_are_usage_errors(here, args, message):
    before = sorted(p.name for p in here.rglob("*"))
    assert_refused(run(["pool", "m.csv", *args]), 2, message, here, before)


@pytest.mark.parametrize(
    "args, message",
    [
        # 'same' with a vast dilation would pad the 4x4 input to 200000004 cells a side (gigabytes) before pooling
        (["-k", "3", "-d", "100000000", "-p", "same"], "m.csv: with its padding the input spans 200000004x200000004 = "
                                                        "40,000,001,600,000,016 cells, more than --max-pixels 178,956,970"),
        # the 4x4 input is within 16 cells; 'same' 2x2 windows at stride 1 reach one cell past it: 5x5
        (["-k", "2", "-s", "1", "-p", "same", "--max-pixels", "16"], "m.csv: with its padding the input spans 5x5 = 25 cells, more than --max-pixels 16"),
        # PyTorch's padding 1 on each side: 6x6
        (["-k", "2", "-s", "1", "-p", "1", "--max-pixels", "16"], "m.csv: with its padding the input spans 6x6 = 36 cells, more than --max-pixels 16"),
        # explicit padding within half of a vast window
        (["-k", str(MAX_DIM), "-p", str(MAX_DIM // 2)], f"m.csv: with its padding the input spans {MAX_DIM + 3}x{MAX_DIM + 3} = {(MAX_DIM + 3) ** 2:,} cells, more than --max-pixels 178,956,970"),
    ],
)
def test_results_and_padded_inputs_beyond_max_pixels_are_refused_before_the_work(here, args, message):
    before = sorted(p.name for p in here.rglob("*"))
    assert_refused(run(["pool", "m.csv", *args]), 1, message + "; ", here, before)


@pytest.mark.parametrize(
    "args", [["-k", "1"], ["--output-size", "4x4"], ["-c", "0,0,0;0,1,0;0,0,0", "--conv-padding", "same", "-k", "1"]]
)
def test_a_result_of_exactly_max_pixels_is_made(here, args):
    result = run(["pool", "m.csv", *args, "--max-pixels", "16"])
    assert result.exit_code == 0, result.stderr
    assert np.array_equal(np.loadtxt(result.stdout.splitlines(), delimiter=","), np.loadtxt(SQUARE.splitlines(), delimiter=","))


def test_batch_fails_the_file_whose_result_is_too_large_and_goes_on(here):
    (here / "in" / "wide.csv").write_text(",".join(["1"] * 20) + "\n")
    result = run(["batch", "in", "out", "--glob", "*.csv", "-j", "1", "-k", "1x3", "-d", "1x1000000", "-p", "same", "--max-pixels", "100"])
    assert result.exit_code == 1
    # 1x20 in 'same' 1x3 windows at stride 1x3: 7 windows, the last reaching 6 * 3 + 2 * 1000000 + 1 cells
    assert "wide.csv: with its padding the input spans 1x2000019 = 2,000,019 cells, more than --max-pixels 100" in result.stderr
    assert "m.csv: with its padding the input spans 4x2000004" in result.stderr
    assert "0 processed, 0 skipped, 2 failed" in result.stderr


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 12), k=st.integers(1, 6), s=st.integers(1, 4), d=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same", "explicit"]), p=st.integers(0, 9), ceil_mode=st.booleans(),
)
def test_the_padded_size_bounds_every_cell_the_windows_reach(n, k, s, d, padding, p, ceil_mode):
    """The --max-pixels guard never counts fewer cells than the slow reference's windows reach, padding included."""
    from poolcli.pipeline import WindowSpec
    from poolcli.shapes import _padded_extent

    pad = p if padding == "explicit" else padding
    try:
        windows = _axis(n, k, s, d, pad, ceil_mode, None)
    except ValueError:
        assume(False)  # a window that does not fit: the pooling refuses it
    cells = [c for cells, _ in windows for c in cells]
    reach = max(max(cells) + 1, n) - min(min(cells), 0)
    assert _padded_extent(n, 0, WindowSpec(size=k, stride=s, dilation=d, padding=pad, ceil_mode=ceil_mode)) >= reach


def test_the_library_refuses_before_pooling(here):
    from poolcli.pipeline import FilterSpec, PoolSpec, WindowSpec, check_result_size

    def spec(max_pixels=PoolSpec.max_pixels, kernel=None, **window):
        return PoolSpec(window=WindowSpec(**window), filter=FilterSpec(kernel=kernel), max_pixels=max_pixels)

    with pytest.raises(ValueError, match="x: the result would be 1000x1000 = 1,000,000 pixels, more than --max-pixels 999,999"):
        check_result_size((8, 8), spec(output_size=1000, max_pixels=999_999), "x")
    check_result_size((8, 8, 3), spec(output_size=1000, max_pixels=1_000_000), "x")
    with pytest.raises(ValueError, match="x: with its padding the input spans 1001x1001 = 1,002,001 cells"):
        check_result_size((1000, 1000), spec(size=2, stride=1, padding="same", max_pixels=1_000_000), "x")
    check_result_size((1000, 1000), spec(size=1, max_pixels=1_000_000), "x")
    # a filter that shrinks the input is counted: 1002x1002 with a 3x3 'valid' filter pools 1000x1000
    check_result_size((1002, 1002, 3), spec(size=1, kernel=np.ones((3, 3)), max_pixels=1_000_000), "x")
    with pytest.raises(ValueError, match="does not fit the 4x4 input"):  # the pooling's own message, before any work
        check_result_size((4, 4), spec(size=5), "x")


# ---------------------------------------------------------------- options that would do nothing


@pytest.mark.parametrize(
    "args, message",
    [
        (["-c", ""], "Invalid value for '-c' / '--conv': is empty; give a filter name"),
        (["-c", "   "], "Invalid value for '-c' / '--conv': is empty"),
        (["--conv-padding", "same"], "--conv-padding applies to a filter; add -c FILTER, or drop --conv-padding"),
        (["--conv-padding", "valid"], "--conv-padding applies to a filter"),
        (["--ceil-mode", "-p", "same"], "--ceil-mode does nothing with -p same, whose output is already ceil(n/s)"),
        (["--ceil-mode", "-k", "1"], "--ceil-mode does nothing with stride 1: every window already fits"),
        (["--ceil-mode", "-k", "3", "-s", "1"], "--ceil-mode does nothing with stride 1"),
        (["-k", "1", "-d", "2"], "-d 2 does nothing with -k 1: dilation spaces the cells of a window"),
        (["-k", "1x3", "-d", "2x1"], "-d 2x1 does nothing with -k 1x3"),
        (["-m", "avg", "--count-pad"], "--count-pad says whether padded cells count; there is no padding (add -p P, or drop --count-pad)"),
        (["-m", "avg", "--no-count-pad", "-p", "0"], "--no-count-pad says whether padded cells count; there is no padding"),
        (["-m", "avg", "--no-count-pad", "-p", "same"], "--no-count-pad cannot be used with -p same: Keras never counts its padding"),
        (["-m", "avg", "--count-pad", "-p", "same"], "--count-pad cannot be used with -p same"),
        (["-m", "max", "-p", "1", "--no-count-pad"], "--count-pad/--no-count-pad applies to --mode avg only"),
        (["-m", "avg", "--output-size", "2", "--no-count-pad"], "--output-size sets the windows itself; drop --count-pad"),
        (["--output-size", "2", "--ceil-mode", "-d", "2"], "--output-size sets the windows itself; drop --ceil-mode, --dilation"),
        (["--precision", "2", "-o", "o.png"], "--precision applies to text output (CSV, TSV, TXT), not PNG; drop it"),
        (["--precision", "2", "-o", "o.npy"], "--precision applies to text output (CSV, TSV, TXT), not NPY"),
        (["--delimiter", ";", "-o", "o.npy"], "--delimiter applies to text output (CSV, TSV, TXT), not NPY"),
        (["--delimiter", ";", "-t", "png", "-o", "o.png"], "--delimiter applies to text output (CSV, TSV, TXT), not PNG"),
        (["--compress-level", "9", "-o", "o.jpg"], "--compress-level applies to PNG output, not JPG"),
        (["--compress-level", "9"], "--compress-level applies to PNG output, not CSV"),
        (["--rescale", "clip", "-o", "o.csv"], "--rescale applies to image output, not CSV"),
        (["--rescale", "minmax", "-t", "npy", "-o", "o.x"], "--rescale applies to image output, not NPY"),
        (["--quality", "80", "-o", "o.png"], "--quality applies to JPEG and WebP output, not PNG"),
        (["--quality", "80", "-o", "o.tif"], "--quality applies to JPEG and WebP output, not TIF"),
        (["--quality", "80"], "--quality applies to JPEG and WebP output, not CSV"),
        (["--color", "-o", "o.csv"], "--color/--no-color applies to --show and to the table shown on a terminal"),
        (["--no-color", "-t", "csv"], "--color/--no-color applies to --show"),
    ],
)
def test_options_that_would_do_nothing_are_usage_errors(here, args, message):
    before = sorted(p.name for p in here.rglob("*"))
    assert_refused(run(["pool", "m.csv", *args]), 2, message, here, before)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["-k", "1x2", "-d", "2"], "3\n7\n11\n15\n"),  # the columns' 2 cells are 2 apart: max(row[0], row[2])
        (["-m", "avg", "-k", "2", "-p", "1", "--no-count-pad"], "1,2.5,4\n7,8.5,10\n13,14.5,16\n"),
        (["-k", "3", "-s", "2", "--ceil-mode"], "11,12\n15,16\n"),
        (["--delimiter", ";", "-o", "-"], "6;8\n14;16\n"),
        (["--precision", "1", "-m", "avg"], "3.5,5.5\n11.5,13.5\n"),
        (["--show", "--no-color"], "6,8\n14,16\n"),
    ],
)
def test_options_that_act_still_work(here, args, expected):
    result = run(["pool", "m.csv", *args])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


def test_delimiter_acts_on_the_indices_file_beside_an_image(here):
    result = run(["pool", "m.csv", "-o", "o.png", "--indices", "i.csv", "--delimiter", ";"])
    assert result.exit_code == 0, result.stderr
    assert (here / "i.csv").read_text() == "5;7\n13;15\n"


def test_relu_without_a_filter_clips_the_input_as_its_help_says(here):
    (here / "n.csv").write_text("-1,2,-3,4\n-5,-6,7,-8\n")
    result = run(["pool", "n.csv", "--relu", "-k", "1"])
    assert result.exit_code == 0 and result.stdout == "0,2,0,4\n0,0,7,0\n"
    assert "without -c: on the input itself" in " ".join(run(["pool", "--help"]).stdout.split())


def test_batch_refuses_idle_options_for_its_output_format(here):
    r = run(["batch", "in", "out", "--glob", "*.csv", "-t", "csv", "--compress-level", "3"])
    assert r.exit_code == 2 and "--compress-level applies to PNG output, not CSV" in r.stderr
    r = run(["batch", "in", "out", "--glob", "*.csv", "-t", "png", "--quality", "50"])
    assert r.exit_code == 2 and "--quality applies to JPEG and WebP output, not PNG" in r.stderr
    r = run(["batch", "in", "out", "--glob", "*.csv", "--dask", "tcp://127.0.0.1:9", "-j", "2"])
    assert r.exit_code == 2 and "-j/--jobs sets the local worker processes" in r.stderr
    assert not (here / "out").exists()
    # without --to each output keeps its input's format, so an image option may act on some of them
    r = run(["batch", "in", "out", "--glob", "*.csv", "-j", "1", "--quality", "50", "-q"])
    assert r.exit_code == 0, r.stderr
    assert (here / "out" / "m.csv").read_text() == "6,8\n14,16\n"


def test_explain_refuses_the_same_idle_window_options(here):
    r = run(["explain", "m.csv", "--ceil-mode", "-p", "same"])
    assert r.exit_code == 2 and "--ceil-mode does nothing with -p same" in r.stderr
    r = run(["explain", "m.csv", "-k", HUGE])
    assert r.exit_code == 2 and f"must be <= {MAX_DIM}" in r.stderr


# ---------------------------------------------------------------- --layout


@pytest.fixture
def chw(here):
    x = np.random.default_rng(3).integers(0, 1000, (3, 6, 8)).astype(np.float32)
    np.save(here / "chw.npy", x)
    return x


def per_channel(x, **kw):
    return np.stack([pool2d(c, **kw) for c in x])


@pytest.mark.parametrize("mode", ["max", "avg", "min", "sum"])
def test_chw_pools_each_channel_and_writes_chw(here, chw, mode):
    result = run(["pool", "chw.npy", "--layout", "chw", "-m", mode, "-k", "3", "-s", "2", "-p", "1", "-o", "o.npy"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no layout note when the layout is given
    got = np.load(here / "o.npy")
    assert got.shape == (3, 3, 4)
    assert np.array_equal(got, per_channel(chw, size=3, stride=2, padding=1, mode=mode))


def test_chw_indices_are_chw_and_index_each_channels_plane(here, chw):
    result = run(["pool", "chw.npy", "--layout", "CHW", "-o", "o.npy", "--indices", "i.npy"])
    assert result.exit_code == 0, result.stderr
    idx = np.load(here / "i.npy")
    assert idx.shape == (3, 3, 4)
    assert np.array_equal(idx, np.stack([pool2d(c, 2, return_indices=True)[1] for c in chw]))
    values = np.load(here / "o.npy")
    assert np.array_equal(np.take_along_axis(chw.reshape(3, -1), idx.reshape(3, -1), 1).reshape(3, 3, 4), values)


def test_chw_channel_and_gray_choose_from_the_first_axis(here, chw):
    r = run(["pool", "chw.npy", "--layout", "chw", "--channel", "1", "-o", "c.npy"])
    assert r.exit_code == 0 and np.array_equal(np.load(here / "c.npy"), pool2d(chw[1], 2))
    r = run(["pool", "chw.npy", "--layout", "chw", "--gray", "-o", "g.npy"])
    wide = chw.astype(np.float64)
    gray = (wide[0] * 0.299 + wide[1] * 0.587 + wide[2] * 0.114).astype(chw.dtype)  # float input keeps its type
    assert r.exit_code == 0 and np.array_equal(np.load(here / "g.npy"), pool2d(gray, 2))
    r = run(["pool", "chw.npy", "--layout", "chw", "--channel", "3"])
    assert r.exit_code == 1 and "--channel 3 is out of range; the input has 3 channels (0..2)" in r.stderr


def test_chw_to_an_image_writes_its_pixels(here):
    x = np.random.default_rng(4).integers(0, 256, (3, 4, 6), dtype=np.uint8)
    np.save(here / "rgb.npy", x)
    r = run(["pool", "rgb.npy", "--layout", "chw", "-o", "o.png"])
    assert r.exit_code == 0, r.stderr
    im = Image.open(here / "o.png")
    assert im.mode == "RGB" and np.array_equal(np.asarray(im), np.moveaxis(per_channel(x, size=2), 0, -1))


def test_chw_on_2d_arrays_and_text_is_refused_as_it_would_change_nothing(here):
    np.save(here / "two.npy", np.arange(16.0).reshape(4, 4))
    before = sorted(p.name for p in here.rglob("*"))
    r = run(["pool", "two.npy", "--layout", "chw", "-o", "o.npy"])
    assert_refused(r, 1, "two.npy: --layout chw puts a first axis of channels last, and this 2-D input has none (that would be (C, H, W)); drop --layout", here, before)
    r = run(["pool", "m.csv", "--layout", "chw", "-o", "o.csv"])
    assert_refused(r, 1, "m.csv: --layout chw puts a first axis of channels last", here, before)


def test_chw_on_an_image_is_refused(here):
    Image.new("RGB", (4, 4)).save(here / "im.png")
    before = sorted(p.name for p in here.rglob("*"))
    r = run(["pool", "im.png", "--layout", "chw", "-o", "o.png"])
    assert_refused(r, 1, "im.png: --layout chw applies to arrays (NPY); an image's pixels are always rows x columns x channels", here, before)


@pytest.mark.parametrize(
    "shape, noted",
    [((3, 6, 8), True), ((1, 28, 28), True), ((4, 5, 5), True), ((3, 64, 4), False), ((6, 8, 3), False), ((5, 6, 8), False)],
)
def test_a_channels_first_looking_array_gets_a_note(here, shape, noted):
    np.save(here / "a.npy", np.zeros(shape, np.float32))
    r = run(["pool", "a.npy", "-k", "1", "-o", "o.npy"])
    assert r.exit_code == 0, r.stderr
    note = (f"poolcli: a.npy: shape {shape} is read as {shape[2]} channels of {shape[0]}x{shape[1]} (channels last); "
            f"if its channels come first, add --layout chw\n")
    assert r.stderr == (note if noted else "")
    assert np.load(here / "o.npy").shape == shape  # the default is unchanged: channels last
    for quiet in (["--layout", "hwc"], ["-q"]):
        assert run(["pool", "a.npy", "-k", "1", "-o", "o.npy", *quiet]).stderr == ""


def test_show_and_explain_take_the_layout(here, chw):
    r = run(["show", "chw.npy", "--layout", "chw", "--no-color", "--max-rows", "2"])
    assert r.exit_code == 0 and r.stderr == ""
    assert [line.split("  ")[0] for line in r.stdout.splitlines() if "channel" in line] == [
        "chw.npy channel 0", "chw.npy channel 1", "chw.npy channel 2"]
    assert "6x8 float32" in r.stdout
    r = run(["show", "chw.npy", "--no-color", "--max-rows", "2"])
    assert "is read as 8 channels of 3x6" in r.stderr
    r = run(["explain", "chw.npy", "--layout", "chw", "--channel", "2", "--no-color"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("window 1 of 12: rows 0..1, columns 0..1 -> output [0, 0]")  # 6x8 makes 3x4 windows
    first = chw[2][:2, :2].ravel()
    assert f"max({', '.join(f'{v:g}' for v in first)}) = {first.max():g}" in r.stdout


def test_batch_writes_each_array_in_its_layout(here, chw):
    np.save(here / "in" / "c.npy", chw)
    r = run(["batch", "in", "out", "--glob", "*.npy", "--layout", "chw", "-j", "1"])
    assert r.exit_code == 0, r.stderr
    assert np.array_equal(np.load(here / "out" / "c.npy"), per_channel(chw, size=2))


# ---------------------------------------------------------------- --quality


def test_quality_reaches_the_spec_and_its_help_states_the_defaults(here, monkeypatch):
    import poolcli.pipeline as pipeline

    seen = []
    real = pipeline.encode
    monkeypatch.setattr(pipeline, "encode", lambda result, fmt, spec, **kw: (seen.append((fmt, spec.output.quality)), real(result, fmt, spec, **kw))[1])
    for out, quality in (("o.jpg", "80"), ("o.webp", "1"), ("o.jpeg", "100")):
        r = run(["pool", "m.csv", "-o", out, "--quality", quality])
        assert r.exit_code == 0, r.stderr
    assert seen == [("jpg", 80), ("webp", 1), ("jpeg", 100)]
    text = " ".join(run(["pool", "--help"]).stdout.split())
    assert "JPEG and WebP quality [default: JPEG 95; WebP lossless] [1<=x<=100]" in text


def on_a_terminal(args, cwd):
    """Run poolcli with stdout on a pseudo-terminal; return (exit code, what the terminal showed, stderr)."""
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="80", TERM="xterm", NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "poolcli", *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                          env=env, cwd=cwd, timeout=60, text=True)
    os.close(slave)
    shown = b""
    try:
        while chunk := os.read(master, 4096):
            shown += chunk
    except OSError:
        pass
    os.close(master)
    return proc.returncode, [line.rstrip() for line in shown.decode().replace("\r", "").splitlines()], proc.stderr


def test_precision_acts_on_the_terminal_table_and_delimiter_is_refused_there(here):
    code, shown, err = on_a_terminal(["pool", "m.csv", "-m", "avg", "--precision", "2"], here)
    assert code == 0, err
    assert [line.split() for line in shown[2:]] == [["0", "3.50", "5.50"], ["1", "11.50", "13.50"]]
    code, shown, err = on_a_terminal(["pool", "m.csv", "--delimiter", ";"], here)
    assert code == 2 and shown == []
    assert "--delimiter applies to text output (CSV, TSV, TXT), not the table shown on this terminal; drop it" in err
