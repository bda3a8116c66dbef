"""Issue 12 from the command line, as a user meets it: batch --volume, the hints to add --volume, unpool of volumes
with channels, fractional pooling of volumes by ratio triples, and refusals that stay one line.

Values are checked against tests/reference.py and hand-worked cases.
"""

import json
import os
import sys

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from poolcli.cli import main

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_fractional_max_pool, ref_pool, ref_unpool  # noqa: E402


def run(args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def refused(result, code, message):
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in lines[0], lines[0]


# --------------------------------------------------------------------------- batch --volume


@pytest.fixture
def volumes(tmp_path):
    """A folder of volumes: 3-D and 4-D NPY, a tifffile multi-page TIFF, a folder of CSV slices, a stray CSV."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(12)
    arrays = {
        "a.npy": rng.integers(-50, 50, (4, 4, 6)).astype(np.int16),
        "rgb.npy": rng.integers(0, 256, (4, 4, 4, 3)).astype(np.uint8),
        "t.tif": rng.integers(0, 256, (4, 6, 4)).astype(np.uint8),
    }
    np.save(src / "a.npy", arrays["a.npy"])
    np.save(src / "rgb.npy", arrays["rgb.npy"])
    tifffile.imwrite(src / "t.tif", arrays["t.tif"], photometric="minisblack")
    (src / "scan").mkdir()
    # natural order: s2 before s10, so the depth is slices 1, 2, 3, 10
    for n in (10, 2, 1, 3):
        (src / "scan" / f"s{n}.csv").write_text("\n".join(",".join([str(n)] * 4) for _ in range(4)) + "\n")
    (src / "notes.csv").write_text("1,2\n")  # no volume format: not taken without --glob
    return src, arrays


def test_batch_volume_pools_every_volume_as_pool_volume_does(tmp_path, volumes):
    src, arrays = volumes
    out = tmp_path / "out"
    report = tmp_path / "r.jsonl"
    ok(run(["batch", src, out, "--volume", "-k", 2, "-j", 1, "--report", report]))
    assert sorted(os.listdir(out)) == ["a.npy", "rgb.npy", "scan.npy", "t.tif"]
    for name in ("a.npy", "rgb.npy"):
        got = np.load(out / name)
        assert got.dtype == arrays[name].dtype
        np.testing.assert_array_equal(got, ref_pool(arrays[name], 2, ndim=3))
    np.testing.assert_array_equal(tifffile.imread(out / "t.tif"), ref_pool(arrays["t.tif"], 2, ndim=3))
    # slices 1, 2 | 3, 10: the max of each pair of slices, a folder's volume written as NPY
    np.testing.assert_array_equal(np.load(out / "scan.npy"), np.array([2.0, 10.0])[:, None, None] * np.ones((2, 2, 2)))
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert sorted((line["input"], line["output"], line["status"]) for line in lines) == [
        (str(src / "a.npy"), str(out / "a.npy"), "ok"),
        (str(src / "rgb.npy"), str(out / "rgb.npy"), "ok"),
        (str(src / "scan"), str(out / "scan.npy"), "ok"),
        (str(src / "t.tif"), str(out / "t.tif"), "ok"),
    ]


def test_batch_volume_to_tif_and_avg_with_its_rounding_note(tmp_path, volumes):
    src, arrays = volumes
    out = tmp_path / "out"
    result = ok(run(["batch", src, out, "--volume", "-k", 2, "-m", "avg", "--to", "tif", "--glob", "t.tif", "-j", 1]))
    # avg of 8-bit pixels written as 8-bit pages: rounded half up, and said
    expected = np.floor(ref_pool(arrays["t.tif"], 2, mode="avg", ndim=3) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(tifffile.imread(out / "t.tif"), expected)
    assert "values rounded half up to integers" in result.stderr


def test_batch_volume_never_reads_its_output_folder_inside_the_input(tmp_path, volumes):
    src, _ = volumes
    ok(run(["batch", src, src / "out", "--volume", "-k", 2, "-j", 1, "-q"]))
    again = ok(run(["batch", src, src / "out", "--volume", "-k", 2, "-j", 1]))
    assert "4 processed, 0 skipped, 0 failed" in again.stderr
    assert sorted(os.listdir(src / "out")) == ["a.npy", "rgb.npy", "scan.npy", "t.tif"]


def test_batch_volume_skip_existing_sees_a_slice_rewritten(tmp_path, volumes):
    src, _ = volumes
    out = tmp_path / "out"
    ok(run(["batch", src, out, "--volume", "-k", 2, "-j", 1, "-q"]))
    for name in os.listdir(out):
        os.utime(out / name, (2_000_000_000, 2_000_000_000))
    for path in [src / "a.npy", src / "rgb.npy", src / "t.tif", src / "scan", *(src / "scan").iterdir()]:
        os.utime(path, (1_000_000_000, 1_000_000_000))
    os.utime(src / "scan" / "s3.csv", (3_000_000_000, 3_000_000_000))  # newer than the output: the folder is redone
    result = ok(run(["batch", src, out, "--volume", "-k", 2, "-j", 1, "--skip-existing"]))
    assert "1 processed, 3 skipped, 0 failed" in result.stderr


def test_batch_volume_a_failing_volume_is_one_line_and_the_run_goes_on(tmp_path, volumes):
    src, _ = volumes
    (src / "empty").mkdir()
    (src / "bad").mkdir()
    (src / "bad" / "a.csv").write_text("1,2\n3,4\n")
    (src / "bad" / "b.csv").write_text("1,2,3\n4,5,6\n")
    np.save(src / "scan.npy", np.zeros((2, 2, 2)))  # the folder scan writes scan.npy too
    out = tmp_path / "out"
    result = run(["batch", src, out, "--volume", "-k", 2, "-j", 1])
    assert result.exit_code == 1
    said = result.stderr.splitlines()
    assert f"poolcli: {src / 'empty'}: the folder holds no slices (files)" in said
    assert any(line.startswith(f"poolcli: {src / 'bad'}: b.csv: slice is 2x3") for line in said)
    assert f"poolcli: {src / 'scan.npy'}: its output {out / 'scan.npy'} is also {src / 'scan'}'s" in " ".join(said)
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(out)) == ["a.npy", "rgb.npy", "scan.npy", "t.tif"]
    np.testing.assert_array_equal(np.load(out / "scan.npy"), np.array([2.0, 10.0])[:, None, None] * np.ones((2, 2, 2)))


@pytest.mark.parametrize(
    "args, message",
    [
        (["-r"], "--volume reads each sub-folder as a volume of slices; -r does not apply"),
        (["--to", "png"], "--to png: PNG holds no volume; a volume is written as .npy or .tif/.tiff"),
        (["-k", "2x2"], "-k 2x2 is for an image; a volume takes one number or DxHxW"),
        (["-c", "sharpen"], "-c filters 2-D images; a volume (--volume) takes no filter"),
    ],
)
def test_batch_volume_refuses_before_making_anything(tmp_path, volumes, args, message):
    src, _ = volumes
    refused(run(["batch", src, tmp_path / "out", "--volume", "-k", 2, *args]), 2, message)
    assert not (tmp_path / "out").exists()


def test_batch_volume_of_an_empty_folder_says_what_it_looked_for(tmp_path):
    (tmp_path / "in").mkdir()
    result = ok(run(["batch", tmp_path / "in", tmp_path / "out", "--volume", "-k", 2, "-j", 1]))
    assert "looked for volumes: NPY and TIFF files, folders of slices)" in result.stderr


# --------------------------------------------------------------------------- the hints to add --volume


def test_a_multi_page_tiff_without_volume_reads_its_first_page_and_says_to_add_volume(tmp_path):
    pages = [np.full((2, 4), 10 * (d + 1), np.uint8) for d in range(3)]
    Image.fromarray(pages[0]).save(
        tmp_path / "v.tif", save_all=True, append_images=[Image.fromarray(p) for p in pages[1:]]
    )
    result = ok(run(["pool", tmp_path / "v.tif", "-k", 2]))
    assert result.stdout == "10,10\n"
    assert (
        result.stderr
        == f"poolcli: {tmp_path / 'v.tif'}: TIFF has 3 frames; using the first; add --volume to read all its pages\n"
    )
    # with --volume: every page, 1x2x2 windows: pages 0, 1, 2 are 10, 20, 30
    assert ok(run(["pool", tmp_path / "v.tif", "--volume", "-k", "1x2x2", "-o", tmp_path / "o.npy"])).stderr == ""
    np.testing.assert_array_equal(
        np.load(tmp_path / "o.npy"), np.array([10, 20, 30])[:, None, None] * np.ones((3, 1, 2))
    )


@pytest.mark.parametrize("command", [["pool", "-k", 2], ["show"], ["explain", "-k", 2]])
def test_a_folder_without_volume_says_to_add_it(tmp_path, command):
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "a.csv").write_text("1,2\n3,4\n")
    refused(
        run([command[0], tmp_path / "scan", *command[1:]]),
        1,
        f"{tmp_path / 'scan'}: is a folder; add --volume to read its slices as a volume",
    )


# --------------------------------------------------------------------------- unpool of volumes


def test_unpool_volume_with_channels_round_trips_pool_volume(tmp_path):
    x = np.random.default_rng(5).integers(0, 100, (4, 6, 4, 2)).astype(np.int32)
    np.save(tmp_path / "x.npy", x)
    v, i, u = tmp_path / "v.npy", tmp_path / "i.npy", tmp_path / "u.npy"
    ok(run(["pool", tmp_path / "x.npy", "--volume", "-k", 2, "-o", v, "--indices", i]))
    values, indices = ref_pool(x, 2, ndim=3, return_indices=True)
    np.testing.assert_array_equal(np.load(v), values)
    np.testing.assert_array_equal(np.load(i), indices)
    # --volume with -k 2 works the shape out as PyTorch does: (2 - 1) * 2 + 2 = 4, (3 - 1) * 2 + 2 = 6, 4
    ok(run(["unpool", v, "--indices", i, "--volume", "-k", 2, "-o", u]))
    got = np.load(u)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, ref_unpool(values, indices, (4, 6, 4), 3))
    # channels first in and out (--layout chw), and --shape DxHxW alone says it is a volume
    np.save(tmp_path / "vc.npy", np.moveaxis(values, -1, 0))
    np.save(tmp_path / "ic.npy", np.moveaxis(indices, -1, 0))
    args = ["--indices", tmp_path / "ic.npy", "--shape", "4x6x4", "--layout", "chw", "-o", tmp_path / "uc.npy"]
    ok(run(["unpool", tmp_path / "vc.npy", *args]))
    np.testing.assert_array_equal(np.moveaxis(np.load(tmp_path / "uc.npy"), 0, -1), got)


def test_unpool_volume_from_multi_page_tiffs_writes_a_multi_page_tiff(tmp_path):
    # hand-worked: a 1x1x2 volume of values 7 and 9 at flat indices 5 and 2 of a 2x2x2 output
    tifffile.imwrite(tmp_path / "v.tif", np.array([[[7, 9]]], np.uint8), photometric="minisblack")
    np.save(tmp_path / "i.npy", np.array([[[5, 2]]]))
    ok(
        run(
            [
                "unpool",
                tmp_path / "v.tif",
                "--indices",
                tmp_path / "i.npy",
                "--shape",
                "2x2x2",
                "-o",
                tmp_path / "u.tif",
            ]
        )
    )
    expected = np.zeros((2, 2, 2), np.uint8)
    expected[1, 0, 1], expected[0, 1, 0] = 7, 9
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "u.tif"), expected)


def test_unpool_refusals_of_volumes(tmp_path):
    np.save(tmp_path / "v.npy", np.ones((2, 3, 3)))
    np.save(tmp_path / "i.npy", np.full((2, 3, 3), 40))
    args = ["unpool", tmp_path / "v.npy", "--indices", tmp_path / "i.npy"]
    refused(run([*args, "--volume", "--shape", "4x6", "-o", tmp_path / "u.npy"]), 2, "--volume takes --shape DxHxW")
    # without --volume the 2x3x3 values are an image of 3 channels: an index past 4x6 says to add --volume
    refused(
        run([*args, "-k", 2, "-o", tmp_path / "u.npy"]),
        1,
        "outside the 4x6 output (indices 0 .. 23); is -k the shape of the input that was pooled? "
        "(values of a volume: add --volume)",
    )
    refused(run([*args, "--volume", "-k", 2, "-o", tmp_path / "u.csv"]), 2, "u.csv: CSV holds no volume")
    assert not (tmp_path / "u.npy").exists() and not (tmp_path / "u.csv").exists()


# --------------------------------------------------------------------------- fractional max pooling of volumes


def test_fractional_volume_takes_a_ratio_per_axis(tmp_path):
    x = np.random.default_rng(8).random((5, 7, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = [
        "-k",
        2,
        "--output-ratio",
        "0.5x0.7x0.5",
        "--seed",
        4,
        "-o",
        tmp_path / "o.npy",
        "--indices",
        tmp_path / "i.npy",
    ]
    assert ok(run(["pool", tmp_path / "x.npy", "--volume", *args])).stderr == ""
    # int(5 * 0.5) x int(7 * 0.7) x int(6 * 0.5) = 2x4x3; the samples are default_rng(4)'s, one (D, H, W) per channel
    samples = np.random.default_rng(4).random((1, 3))
    values, indices = ref_fractional_max_pool(x, 2, (2, 4, 3), samples, 3)
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), values)
    np.testing.assert_array_equal(np.load(tmp_path / "i.npy"), indices)


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("x.npy", ["--volume", "--output-ratio", "0.5x0.5"], "--output-ratio with two numbers is for an image"),
        ("x.npy", ["--volume", "--fractional-size", "2x2"], "--fractional-size with two numbers is for an image"),
        ("m.npy", ["--output-ratio", "0.5x0.5x0.5"], "--output-ratio with three numbers is for a volume; add --volume"),
        ("m.npy", ["--fractional-size", "1x1x1"], "--fractional-size with three numbers is for a volume; add --volume"),
        ("s.npy", ["--output-ratio", "0.5"], "s.npy: fractional max pooling takes an image or a volume, not a signal"),
    ],
)
def test_fractional_refusals_are_one_line_without_the_drawn_seed(tmp_path, monkeypatch, name, args, message):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.zeros((4, 4, 4)))
    np.save("m.npy", np.zeros((4, 4)))
    np.save("s.npy", np.arange(8))
    result = run(["pool", name, "-k", 2, *args, "-o", "o.npy"])
    refused(result, 1 if name == "s.npy" else 2, message)
    assert not os.path.exists("o.npy")


def test_a_drawn_seed_is_said_after_the_run(tmp_path):
    np.save(tmp_path / "m.npy", np.arange(16).reshape(4, 4))
    result = ok(run(["pool", tmp_path / "m.npy", "-k", 2, "--output-ratio", 0.5]))
    assert result.stdout == "5,7\n13,15\n"  # 2x2 windows at 0 and 2 on each axis: the only ones for 4 -> 2
    assert result.stderr.startswith("poolcli: fractional max pooling drew its windows with --seed ")


# --------------------------------------------------------------------------- explain


def test_explain_unpool_of_a_signal_names_max_unpool_1d(tmp_path):
    (tmp_path / "s.csv").write_text("3,1,4,1,5,9,2,6\n")
    result = ok(run(["explain", tmp_path / "s.csv", "-k", 2, "--unpool"]))
    assert result.stdout.rstrip().endswith("(PyTorch MaxUnpool1d; the path max pooling's gradient takes, too)")
    assert "0 [3] 0 [4] 0  0 [9] 0 [6]" in result.stdout
