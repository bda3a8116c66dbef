"""Every bad input answered clearly: a table of inputs and invocations, the exit code, and the message.

Each row builds its input in a fresh folder and runs `poolcli` there. A failing row must give one line on
stderr that contains the expected text, no traceback, the exit code (1 at run time, 2 for usage), and no
new file in the folder. Rows that must work say so with exit code 0.
"""

import io as stdio
import os
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from poolcli.cli import main


# ---------------------------------------------------------------- builders: each writes its input, returns a name


def text(content, name="m.csv"):
    def build(d):
        (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        return name

    return build


def image(mode, size=(8, 6), name="im.png", fmt=None, **save):
    def build(d):
        im = Image.new(mode, size)
        if mode == "P":
            im.putpalette([i % 256 for i in range(768)])
        im.save(d / name, fmt, **save)
        return name

    return build


def npy(arr, name="a.npy", allow_pickle=False):
    def build(d):
        with open(d / name, "wb") as f:
            np.save(f, arr, allow_pickle=allow_pickle)
        return name

    return build


def truncated(fmt, name):
    def build(d):
        buf = stdio.BytesIO()
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(buf, fmt)
        (d / name).write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        return name

    return build


def animated_gif(d):
    frames = [Image.new("L", (6, 4), v) for v in (10, 20, 30)]
    frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:])
    return "anim.gif"


def palette_with_transparency(d):
    im = Image.new("P", (4, 4), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.info["transparency"] = 0
    im.save(d / "pt.png", transparency=0)
    return "pt.png"


def bomb(d):
    # 3000 x 3000 zeros compress to a few KB; with --max-pixels 1000000 it is refused
    Image.new("L", (3000, 3000)).save(d / "bomb.png")
    return "bomb.png"


def declared_huge(d):
    # a valid PNG header that declares 100000 x 100000 pixels, with almost nothing behind it
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    (d / "huge.png").write_bytes(data)
    return "huge.png"


def folder(d):
    (d / "adir").mkdir()
    return "adir"


def unreadable_proc(d):
    os.symlink("/proc/self/mem", d / "mem.csv")  # stats as a file, reading fails even as root
    return "mem.csv"


def no_permission(d):
    (d / "secret.csv").write_text("1,2\n3,4\n")
    os.chmod(d / "secret.csv", 0)
    return "secret.csv"


def filter_3d(d):
    np.save(d / "k3.npy", np.ones((3, 3, 2)))
    (d / "m.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    return "m.csv"


def unicode_name(d):
    (d / "näme with spaces.csv").write_text("1,2\n3,4\n")
    return "näme with spaces.csv"


SQ = text("1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n")
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False

# (id, build, extra args, exit code, expected text on stderr; "" for rows that work)
ROWS = [
    # paths
    ("missing file", lambda d: "missing.csv", [], 1, "missing.csv: no such file"),
    ("folder as file", folder, [], 1, "adir: is a folder; add --volume to read its slices as a volume"),
    ("unreadable file", unreadable_proc, [], 1, "mem.csv: cannot read: Input/output error"),
    pytest.param("no read permission", no_permission, [], 1, "secret.csv: permission denied",
                 marks=pytest.mark.skipif(ROOT, reason="root reads any file"), id="no read permission"),
    ("output folder missing", SQ, ["-o", "nodir/out.csv"], 1, "output folder nodir does not exist"),
    ("output folder not writable", SQ, ["-o", "/proc/out.csv"], 1, "/proc/out.csv: cannot write in /proc"),
    ("output is the input", SQ, ["-o", "m.csv"], 2, "output m.csv is the input; choose another path"),
    ("name with spaces and non-ASCII", unicode_name, ["-o", "ö u.csv"], 0, ""),
    # text
    ("empty text", text(""), [], 1, "m.csv: is empty"),
    ("only comments", text("# a\n# b\n\n"), [], 1, "m.csv: no numbers (empty, or only comments and blank lines)"),
    ("ragged rows", text("1,2,3\n4,5\n"), [], 1, "m.csv: line 2 has 2 values, expected 3 as on line 1"),
    ("non-numeric cell", text("1,2\n3,abc\n"), [], 1, "m.csv: line 2, column 2: 'abc' is not a number"),
    ("header row is skipped with a note", text("a,b\n1,2\n3,4\n"), [], 0, "line 1 looks like a header (a, b); skipped it"),
    ("mixed delimiters", text("1,2\n3;4\n"), [], 1, "m.csv: line 2 has 1 values, expected 2"),
    ("UTF-16 text is read", text("1,2\n3,4\n".encode("utf-16")), [], 0, ""),
    ("trailing delimiter", text("1,2,\n3,4,\n"), [], 1, "m.csv: line 1, column 3 is empty (a doubled or trailing delimiter?)"),
    ("not UTF-8", text(b"1,2\n3,\xff\n"), [], 1, "m.csv: line 2: not UTF-8 text (byte 0xff)"),
    ("extremely long line", text(",".join(["1"] * 200_000) + "\n" + ",".join(["2"] * 200_000) + "\n"), [], 0, ""),
    ("nan and inf accepted", text("nan,inf\n-inf,1\n"), ["-k", "1"], 0, ""),
    ("number beyond float range", text("1,2\n3,1e999\n"), [], 1, "m.csv: line 2, column 2: '1e999' is beyond the float64 range"),
    ("1x1 matrix pooled 1x1", text("7\n"), ["-k", "1"], 0, ""),
    ("1x1 matrix, window too big", text("7\n"), [], 1, "pool size 2 does not fit the length-1 input"),  # one row: a signal
    ("single row", text("1,2,3,4\n"), ["-k", "1x2"], 0, ""),
    ("single column", text("1\n2\n3\n4\n"), ["-k", "2x1"], 0, ""),
    ("a row past the byte limit", text("1," * 600_000 + "1\n"), ["--max-pixels", "1000"], 1, "m.csv: line 1 is longer than 33,024 bytes"),
    ("a row wider than the limit", text("1,2,3,4,5,6\n4,5,6,7,8,9\n"), ["--max-pixels", "5"], 1, "m.csv: line 1 has 6 values, more than --max-pixels 5"),
    ("too many cells", text("1,2,3\n4,5,6\n"), ["--max-pixels", "5"], 1, "m.csv: with its padding the input spans 2x3 = 6 cells, more than --max-pixels 5"),
    # images
    ("zero-byte PNG", text(b"", "z.png"), [], 1, "z.png: is empty"),
    ("truncated PNG", truncated("PNG", "t.png"), [], 1, "t.png: damaged or truncated image"),
    ("truncated JPEG", truncated("JPEG", "t.jpg"), [], 1, "t.jpg: damaged or truncated image"),
    ("text file named .png", text("hello world\n", "fake.png"), [], 1, "fake.png: not an image Pillow can read, nor a text matrix"),
    ("animated GIF: first frame, with a note", animated_gif, ["-o", "o.png"], 0, "anim.gif: GIF has 3 frames; using the first"),
    ("palette PNG with transparency", palette_with_transparency, ["-o", "o.png"], 0, ""),
    ("1-bit image", image("1", name="b.png"), ["-o", "o.png"], 0, ""),
    ("16-bit image", image("I;16", name="s.png"), ["-o", "o.png"], 0, ""),
    ("CMYK JPEG", image("CMYK", name="c.jpg"), ["-o", "o.png"], 0, "c.jpg: JPEG is in CMYK: its C, M, Y, K channels are pooled as stored"),
    ("over the pixel limit", bomb, ["--max-pixels", "1000000"], 1, "bomb.png: image has more than 1,000,000 pixels; pass --max-pixels N"),
    ("huge declared size, tiny file", declared_huge, [], 1, "huge.png: image has more than 178,956,970 pixels"),
    # NPY
    ("object array", npy(np.array([[{"x": 1}]], dtype=object), allow_pickle=True), [], 1, "a.npy: NPY holds Python objects; refused"),
    ("4-D array", npy(np.zeros((2, 2, 2, 2))), [], 1, "a.npy: NPY array is 4-D with shape (2, 2, 2, 2)"),
    ("complex array", npy(np.zeros((2, 2), complex)), [], 1, "a.npy: NPY dtype complex128 (complex) is not supported"),
    ("truncated NPY", lambda d: (npy(np.arange(100.0).reshape(10, 10))(d), (d / "a.npy").write_bytes((d / "a.npy").read_bytes()[:90]))[0], [], 1, "a.npy: truncated or damaged NPY file"),
    # options
    ("option without its value", SQ, ["-k"], 2, "Option '-k' requires an argument. (see 'main pool --help')"),
    ("size 0", SQ, ["-k", "0"], 2, "Invalid value for '-k' / '--size': must be >= 1, got 0"),
    ("negative stride", SQ, ["-s", "-1"], 2, "Invalid value for '-s' / '--stride': must be >= 1, got -1"),
    ("dilation 0", SQ, ["-d", "0"], 2, "Invalid value for '-d' / '--dilation': must be >= 1, got 0"),
    ("window larger than the input", SQ, ["-k", "5"], 1, "pool size 5x5 does not fit the 4x4 input with padding 'valid'"),
    ("padding above half the window", SQ, ["-k", "2", "-p", "2"], 2, "padding 2x2 is more than half the pool window 2x2; use padding <= 1"),
    ("--output-size with --size", SQ, ["--output-size", "2", "-k", "3"], 2, "--output-size sets the windows itself; drop --size"),
    ("unknown filter name", SQ, ["-c", "sobel-z"], 2, "unknown filter 'sobel-z'; did you mean 'sobel-y'?"),
    ("filter that is not 2-D", filter_3d, ["-c", "k3.npy"], 1, "k3.npy: a filter must be a 2-D matrix, got shape (3, 3, 2)"),
    ("ragged inline filter", SQ, ["-c", "1,2;3"], 2, "is not a rectangle: rows have 2, 1 weights"),
    ("--indices with avg", SQ, ["-m", "avg", "--indices", "i.csv"], 2, "--indices applies to --mode max or min, not avg"),
    ("text output of a 3-channel result", image("RGB", name="rgb.png"), ["-t", "csv"], 1, "the result has 3 channels and CSV holds one matrix; use --gray, --channel N, or write .npy"),
    ("unknown output extension", SQ, ["-o", "out.xyz"], 2, "unknown output extension .xyz"),
    ("JPEG output of an RGBA result", image("RGBA", name="rgba.png"), ["-o", "o.jpg"], 1, "JPEG has no alpha channel"),
    ("--gray with --channel", SQ, ["--gray", "--channel", "0"], 2, "--gray and --channel both choose the channel; give one"),
]


# what each row that works must produce (by hand: 2x2 max pooling unless the row says otherwise)
EXPECTED = {
    "name with spaces and non-ASCII": [[4]],
    "header row is skipped with a note": [[4]],
    "UTF-16 text is read": [[4]],
    "extremely long line": [[2] * 100_000],
    "nan and inf accepted": [[np.nan, np.inf], [-np.inf, 1]],
    "1x1 matrix pooled 1x1": [[7]],
    "single row": [[2, 4]],
    "single column": [[2], [4]],
    "animated GIF: first frame, with a note": [[10] * 3] * 2,  # the first frame is all 10s
    "palette PNG with transparency": [[[255, 0, 0, 255]] * 2] * 2,  # index 1 is opaque red
    "1-bit image": [[0] * 4] * 3,
    "16-bit image": [[0] * 4] * 3,
    "CMYK JPEG": [[[0, 0, 0, 0]] * 4] * 3,  # zero ink, kept as stored: the PNG holds C, M, Y, K in its four channels
}


@pytest.mark.parametrize("name, build, extra, code, message", ROWS, ids=[r[0] if isinstance(r, tuple) else r.id for r in ROWS])
def test_bad_input_row(tmp_path, monkeypatch, name, build, extra, code, message):
    monkeypatch.chdir(tmp_path)
    target = build(tmp_path)
    before = sorted(os.listdir(tmp_path))
    result = CliRunner().invoke(main, ["pool", target, *extra])
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    if code:
        assert len(result.stderr.splitlines()) == 1, result.stderr  # one line
        assert result.stdout == ""
        assert sorted(os.listdir(tmp_path)) == before  # no output, no temporary file
    else:
        made = set(os.listdir(tmp_path)) - set(before)
        wrote = [a for a in extra if a.endswith((".csv", ".png"))] if "-o" in extra else []
        assert made == set(wrote)
        out = np.asarray(Image.open(tmp_path / wrote[0])) if wrote and wrote[0].endswith(".png") else None
        if not wrote:
            out = np.array([[float(v) for v in line.split(",")] for line in result.stdout.splitlines()])
        if wrote and wrote[0].endswith(".csv"):
            out = np.loadtxt(tmp_path / wrote[0], delimiter=",", ndmin=2)
        assert np.array_equal(out, np.array(EXPECTED[name]), equal_nan=True), out


# ---------------------------------------------------------------- nothing lost


def test_full_disk_mid_write_keeps_the_old_output(tmp_path, monkeypatch):
    import errno

    from poolcli.formats import files

    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    (tmp_path / "out.csv").write_text("previous\n")
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    result = CliRunner().invoke(main, ["pool", str(tmp_path / "m.csv"), "-k", "1", "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert "no space left on device" in result.stderr.lower() and len(result.stderr.splitlines()) == 1
    assert (tmp_path / "out.csv").read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["m.csv", "out.csv"]


def _slow_input(tmp_path, n=6000):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (n, n), dtype=np.uint8)).save(tmp_path / "big.png", compress_level=1)
    return tmp_path / "big.png"


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_while_writing_exits_130_and_leaves_nothing(tmp_path, signame):
    import signal
    import subprocess
    import sys
    import time

    src = _slow_input(tmp_path)
    out = tmp_path / "out" / "o.png"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "poolcli", "pool", str(src), "-k", "1", "--compress-level", "9", "-o", str(out)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not os.listdir(out.parent):
        time.sleep(0.005)  # until the temporary output exists: the signal then lands mid-write
    assert os.listdir(out.parent), "the output was never started"
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "poolcli: interrupted"
    assert os.listdir(out.parent) == []


def test_indices_destination_checked_before_anything_is_written(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    run = lambda *a: CliRunner().invoke(main, ["pool", str(tmp_path / "m.csv"), *a])  # noqa: E731
    r = run("-o", str(tmp_path / "v.csv"), "--indices", str(tmp_path / "nodir" / "i.csv"))
    assert r.exit_code == 1 and "output folder" in r.stderr
    r = run("-o", str(tmp_path / "v.csv"), "--indices", str(tmp_path / "v.csv"))
    assert r.exit_code == 2 and "are the same file; give two paths" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["m.csv"]


def test_two_writers_of_one_output_never_mix(tmp_path):
    import subprocess
    import sys

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    np.savetxt(a, np.zeros((600, 600)), delimiter=",", fmt="%d")
    np.savetxt(b, np.ones((600, 600)), delimiter=",", fmt="%d")
    out = tmp_path / "o.csv"
    for _ in range(3):
        procs = [subprocess.Popen([sys.executable, "-m", "poolcli", "pool", str(src), "-k", "1", "-o", str(out)]) for src in (a, b)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        text = out.read_text()
        assert text in (("0," * 599 + "0\n") * 600, ("1," * 599 + "1\n") * 600)
        assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv", "o.csv"]


def test_a_closed_stderr_does_not_stop_the_work(tmp_path):
    import subprocess
    import sys

    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "s.png")
    r, w = os.pipe()
    os.close(r)  # nobody reads stderr: the JPEG note cannot be written
    proc = subprocess.run([sys.executable, "-m", "poolcli", "pool", str(tmp_path / "s.png"), "-o", str(tmp_path / "o.jpg")],
                          stderr=w, timeout=60)
    os.close(w)
    assert proc.returncode == 0
    assert Image.open(tmp_path / "o.jpg").size == (4, 4)


def test_batch_report_path_checked_before_the_output_folder_is_made(tmp_path):
    (tmp_path / "in").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "in" / "a.png")
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--report", str(tmp_path / "no" / "r.jsonl")])
    assert result.exit_code == 1 and "output folder" in result.stderr
    assert not (tmp_path / "out").exists()
