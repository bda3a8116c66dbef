"""The pool and filters commands through CliRunner, golden files, and real shell pipes."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from poolcli import pool2d
from poolcli.cli import main

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
SAMPLES = Path(__file__).parent.parent / "sample_images"


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


def walk_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,)
        if hasattr(cmd, "commands"):
            yield from walk_commands(cmd, prefix + (name,))


def test_every_command_has_help():
    names = list(walk_commands(main))
    assert {"pool", "filters"} <= {n[0] for n in names}
    for name in names:
        result = run([*name, "--help"])
        assert result.exit_code == 0, name
        assert result.output.startswith(f"Usage: main {' '.join(name)} "), result.output[:80]
    assert run(["-h"]).exit_code == 0


def test_version():
    from poolcli import __version__

    result = run(["--version"])
    assert result.exit_code == 0 and result.output == f"poolcli, version {__version__}\n"


@pytest.mark.parametrize("case", sorted(p.stem for p in GOLDEN.glob("*.args")))
def test_golden(case):
    args = shlex.split((GOLDEN / f"{case}.args").read_text())
    args[0] = str(GOLDEN / args[0])
    result = run(["pool", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == (GOLDEN / f"{case}.expected.csv").read_text()


def test_stdin_pipe_of_csv():
    first = run(["pool", str(GOLDEN / "square4.csv"), "-k", "2", "-s", "1"])
    assert first.stdout == "6,7,8\n10,11,12\n14,15,16\n"
    second = run(["pool", "-", "-m", "avg"], input=first.stdout)
    assert second.exit_code == 0 and second.stdout == "8.5\n"
    third = run(["pool", "-m", "avg"], input=first.stdout)  # INPUT omitted, stdin a pipe
    assert third.stdout == "8.5\n"


def test_csv_to_csv_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(12, 10)) * 10.0 ** rng.integers(-5, 5, size=(12, 10))
    src = tmp_path / "x.csv"
    np.savetxt(src, x, delimiter=",", fmt="%.17g")
    out = tmp_path / "y.csv"
    result = run(["pool", str(src), "-k", "3", "-s", "1", "-m", "avg", "-o", str(out)])
    assert result.exit_code == 0, result.output
    back = np.loadtxt(out, delimiter=",")
    assert np.array_equal(back, pool2d(x, 3, 1, mode="avg"))


@pytest.mark.parametrize("dtype, mode", [(np.uint8, "L"), (np.uint16, "I;16")])
def test_png_max_pool_exact(tmp_path, dtype, mode):
    rng = np.random.default_rng(11)
    x = rng.integers(0, np.iinfo(dtype).max, (30, 22), dtype=dtype, endpoint=True)
    Image.fromarray(x).save(tmp_path / "in.png")
    result = run(["pool", str(tmp_path / "in.png"), "-k", "3", "-s", "2", "-p", "same", "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.output
    out = Image.open(tmp_path / "out.png")
    assert out.mode == mode
    got = np.asarray(out)
    # 'same', k=3, s=2 on 30x22: 15x11 windows starting at 2i, the one padding cell after
    naive = np.array([[x[r * 2 : r * 2 + 3, c * 2 : c * 2 + 3].max() for c in range(11)] for r in range(15)])
    assert np.array_equal(got, naive)


def test_rgb_png_pooled_per_channel_and_avg_equals_pillow_reduce(tmp_path):
    src = SAMPLES / "landscape.png"
    result = run(["pool", str(src), "-m", "avg", "-o", str(tmp_path / "r.png")])
    assert result.exit_code == 0, result.output
    got = np.asarray(Image.open(tmp_path / "r.png"))
    assert np.array_equal(got, np.asarray(Image.open(src).reduce(2)))


def test_image_from_stdin_to_file(tmp_path):
    data = (SAMPLES / "digit7.png").read_bytes()
    result = CliRunner().invoke(main, ["pool", "-", "-o", str(tmp_path / "b.png")], input=data)
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "b.png").size == (14, 14)


def test_conv_then_pool_matches_the_engine(tmp_path):
    x = np.asarray(Image.open(SAMPLES / "digit7.png")).astype(float)
    from poolcli import FILTERS, conv2d

    expected = pool2d(np.maximum(conv2d(x, FILTERS["top-edge"]), 0), 2)
    result = run(["pool", str(SAMPLES / "digit7.png"), "-c", "top-edge", "--relu", "-o", str(tmp_path / "e.npy")])
    assert result.exit_code == 0, result.output
    got = np.load(tmp_path / "e.npy")
    assert got.shape == (13, 13) and np.array_equal(got, expected)


def test_conv_inline_and_from_file(tmp_path):
    (tmp_path / "k.txt").write_text("0 0 0\n0 2 0\n0 0 0\n")
    a = run(["pool", str(GOLDEN / "square5.csv"), "-c", str(tmp_path / "k.txt"), "-k", "1"])
    b = run(["pool", str(GOLDEN / "square5.csv"), "-c", "0,0,0;0,2,0;0,0,0", "-k", "1"])
    assert a.stdout == b.stdout == "14,16,18\n24,26,28\n34,36,38\n"


def test_indices_written(tmp_path):
    result = run(["pool", str(GOLDEN / "square4.csv"), "--indices", str(tmp_path / "i.csv"), "-o", str(tmp_path / "v.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "i.csv").read_text() == "5,7\n13,15\n"
    assert (tmp_path / "v.csv").read_text() == "6,8\n14,16\n"


def test_gray_and_channel(tmp_path):
    src = str(SAMPLES / "landscape.png")
    rgb = np.asarray(Image.open(src))
    g = run(["pool", src, "--gray", "-t", "csv"])
    assert np.array_equal(np.loadtxt(g.stdout.splitlines(), delimiter=","), pool2d(np.asarray(Image.open(src).convert("L")), 2))
    c = run(["pool", src, "--channel", "2", "-t", "csv"])
    assert np.array_equal(np.loadtxt(c.stdout.splitlines(), delimiter=","), pool2d(rgb[:, :, 2], 2))


def test_precision_and_delimiter():
    result = run(["pool", str(GOLDEN / "square3.csv"), "-k", "3", "-s", "2", "-p", "1", "-m", "avg", "--precision", "4", "--delimiter", "tab"])
    assert result.stdout == "1.3333\t1.7778\n2.6667\t3.1111\n"


def test_rescale_note_on_stderr_only(tmp_path):
    result = run(["pool", str(GOLDEN / "square5.csv"), "-c", "0,0,0;0,-1,0;0,0,0", "-k", "1", "-o", str(tmp_path / "l.png")])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"poolcli: {tmp_path / 'l.png'}: values span -19..-7, beyond 0..255; stretched to 0..255 (--rescale clip to clip instead)\n"
    assert np.asarray(Image.open(tmp_path / "l.png"))[0].tolist() == [255, 234, 213]
    quiet = run(["pool", str(GOLDEN / "square5.csv"), "-c", "0,0,0;0,-1,0;0,0,0", "-k", "1", "-q", "-o", str(tmp_path / "l2.png")])
    assert quiet.stderr == ""


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["pool", "{missing}"], 1, "{missing}: no such file"),
        (["pool", "{sq}", "-k", "0"], 2, "Invalid value for '-k' / '--size': must be >= 1, got 0"),
        (["pool", "{sq}", "-k", "7"], 1, "pool size 7x7 does not fit the 5x5 input with padding 'valid'"),
        (["pool", "{sq}", "-k", "2", "-p", "2"], 2, "padding 2x2 is more than half the pool window 2x2"),
        (["pool", "{sq}", "--output-size", "2", "-k", "3"], 2, "--output-size sets the windows itself; drop --size"),
        (["pool", "{sq}", "-c", "sharpn"], 2, "unknown filter 'sharpn'; did you mean 'sharpen'?"),
        (["pool", "{sq}", "-m", "avg", "--indices", "{tmp}/i.csv"], 2, "--indices applies to --mode max or min, not avg"),
        (["pool", "{sq}", "-o", "{tmp}/x.xyz"], 2, "unknown output extension .xyz"),
        (["pool", "{sq}", "-o", "{sq}"], 2, "is the input; choose another path"),
        (["pool", "{sq}", "-o", "{tmp}/no/such/x.csv"], 1, "output folder"),
        (["pool", "{rgb}", "-t", "csv"], 1, "the result has 3 channels and CSV holds one matrix; use --gray, --channel N, or write .npy"),
        (["pool", "{rgb}", "--channel", "5"], 1, "--channel 5 is out of range; the input has 3 channels (0..2)"),
        (["pool", "{sq}", "-m", "median"], 2, "'median' is not one of"),
    ],
)
def test_errors_one_line_and_exit_code(tmp_path, args, code, message):
    subst = dict(missing=str(tmp_path / "missing.csv"), sq=str(GOLDEN / "square5.csv"), tmp=str(tmp_path), rgb=str(SAMPLES / "landscape.png"))
    args = [a.format(**subst) for a in args]
    message = message.format(**subst)
    result = run(args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sorted(os.listdir(tmp_path)) == []  # nothing written, no temporary left


def test_library_error_lines_are_single():
    result = run(["pool", str(GOLDEN / "square5.csv"), "-k", "9"])
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("poolcli: error: ")


def test_debug_shows_the_traceback():
    result = run(["pool", str(GOLDEN / "square5.csv"), "-k", "9", "--debug"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)


def _poolcli():
    return [sys.executable, "-m", "poolcli"]


def test_real_shell_pipe_with_head(tmp_path):
    big = tmp_path / "big.csv"
    np.savetxt(big, np.arange(400 * 400, dtype=float).reshape(400, 400), delimiter=",", fmt="%d")
    cmd = f"{shlex.join(_poolcli())} pool {big} -k 1 | {shlex.join(_poolcli())} pool - -k 1 -m avg | head -n 2"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[0].startswith("0,1,2,3")
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    assert proc.returncode == 0


def test_no_input_on_a_terminal_is_a_usage_error():
    # a pseudo-terminal as stdin: the command must say what it expects, not wait
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([*_poolcli(), "pool"], stdin=slave, capture_output=True, text=True, timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 2
    assert "no INPUT given and standard input is a terminal" in proc.stderr


def test_on_a_terminal_the_result_is_a_table_not_csv(tmp_path):
    import pty

    src = tmp_path / "m.csv"
    src.write_text("1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n")
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="80", TERM="xterm", NO_COLOR="1")
    proc = subprocess.run([*_poolcli(), "pool", str(src)], stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, timeout=60)
    os.close(slave)
    out = b""
    try:
        while chunk := os.read(master, 4096):
            out += chunk
    except OSError:
        pass
    os.close(master)
    assert proc.returncode == 0, proc.stderr
    lines = [line.rstrip() for line in out.decode().replace("\r", "").splitlines()]
    assert lines == ["result  2x2 float64  min 6  max 16  mean 11", "   0  1", "0  6  8", "1 14 16"]
