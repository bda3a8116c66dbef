"""TIFFs neither Pillow nor libvips reads exactly, read with numpy: float64 and 64-bit integer samples, big-endian
compressed int16/int32/float32 (which Pillow 13 byte-swaps once too often), and tiles of separate planes.

The files are written by tifffile (every layout, either byte order) and, for the floating-point predictor that
tifffile writes only with imagecodecs, by ImageMagick (tests/data/tiff, made by its make.sh); the truth is the
array written, or the same samples written uncompressed.
"""

import itertools
import os

import numpy as np
import pytest
from click.testing import CliRunner

from poolcli.cli import main
from poolcli.formats.errors import InputError
from poolcli.formats.files import read_input
from poolcli.formats.volumes import read_volume

tifffile = pytest.importorskip("tifffile")

DATA = os.path.join(os.path.dirname(__file__), "data", "tiff")
LIMIT = 10**8


def _samples(dtype, shape, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 1e6).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


LAYOUTS = [((37, 45), None), ((37, 45, 3), "contig"), ((3, 37, 45), "separate")]


@pytest.mark.parametrize(
    ("dtype", "order", "compression", "tile"),
    list(itertools.product(["f8", "i8", "u8", "f4", "i4", "i2"], "<>", [None, "zlib"], [None, (16, 16)])),
)
def test_every_layout_reads_as_written(tmp_path, dtype, order, compression, tile):
    rng = np.random.default_rng(abs(hash((dtype, order, compression, tile))) % 2**32)
    for (shape, planar), predictor in itertools.product(LAYOUTS, [False, True]):
        if predictor and (compression is None or np.dtype(dtype).kind == "f" or np.dtype(dtype).itemsize == 8):
            continue  # tifffile's horizontal predictor: integers of up to 32 bits, compressed
        x = _samples(dtype, shape, rng)
        path = tmp_path / "t.tif"
        photometric = "rgb" if len(shape) == 3 else "minisblack"
        tifffile.imwrite(
            path, x, byteorder=order, compression=compression, tile=tile, planarconfig=planar,
            photometric=photometric, predictor=predictor or None, rowsperstrip=None if tile else 8,
        )  # fmt: skip
        want = np.moveaxis(x, 0, -1) if planar == "separate" else x
        got = read_input(str(path), max_pixels=LIMIT).array
        assert got.dtype == want.dtype.newbyteorder("="), (shape, planar, predictor)
        np.testing.assert_array_equal(got, want, err_msg=f"{shape} {planar} predictor={predictor}")


def test_big_endian_deflate_float32_is_not_byte_swapped(tmp_path):
    # Pillow 13 reads this file's samples with their bytes swapped (another image, without a word)
    x = np.array([[1.5, -2.25, 3e38], [0.1, np.inf, -0.0]], np.float32)
    path = tmp_path / "be.tif"
    tifffile.imwrite(path, x, byteorder=">", compression="zlib")
    got = read_input(str(path), max_pixels=LIMIT).array
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, x)
    assert np.signbit(got[1, 2])


@pytest.mark.parametrize(
    ("packed", "plain"),
    [
        ("float64_deflate_predictor3.tif", "float64_plain.tif"),
        ("float32_rgb_deflate_predictor3.tif", "float32_rgb_plain.tif"),
    ],
)
def test_the_floating_point_predictor_of_imagemagick(packed, plain):
    if "rgb" in packed:
        pytest.importorskip("pyvips")  # float32 colour is libvips's
    want = tifffile.imread(os.path.join(DATA, plain))
    got = read_input(os.path.join(DATA, packed), max_pixels=LIMIT).array
    assert got.dtype == want.dtype and want.dtype.kind == "f"
    np.testing.assert_array_equal(got, want)


def test_a_float64_volume_and_its_first_page(tmp_path):
    x = np.random.default_rng(5).standard_normal((4, 6, 8))
    path = tmp_path / "v.tif"
    tifffile.imwrite(path, x, byteorder=">", compression="zlib", photometric="minisblack")
    np.testing.assert_array_equal(read_volume(str(path), max_pixels=LIMIT).array, x)
    loaded = read_input(str(path), max_pixels=LIMIT)
    np.testing.assert_array_equal(loaded.array, x[0])
    assert any("4 frames; using the first" in n for n in loaded.notes)


def test_pool_of_a_float64_tiff_matches_numpy(tmp_path):
    x = np.random.default_rng(9).standard_normal((6, 8))
    src, out = tmp_path / "x.tif", tmp_path / "o.npy"
    tifffile.imwrite(src, x, compression="zlib")
    r = CliRunner().invoke(main, ["pool", str(src), "-k", "2", "-m", "max", "-o", str(out)])
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(np.load(out), x.reshape(3, 2, 4, 2).max(axis=(1, 3)))


def test_what_is_not_read_is_refused_by_name(tmp_path):
    path = tmp_path / "c.tif"
    tifffile.imwrite(path, np.zeros((4, 4), np.complex64))
    with pytest.raises(InputError, match="c.tif: .*complex64"):
        read_input(str(path), max_pixels=LIMIT)


def test_a_cut_strip_is_damage_not_garbage(tmp_path):
    x = np.arange(64, dtype=np.float64).reshape(8, 8)
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, x)
    data = path.read_bytes()
    offset = tifffile.TiffFile(path).pages[0].dataoffsets[0]
    path.write_bytes(data[: offset + 100])  # the strip's bytes end early (and so does the file)
    with pytest.raises(InputError, match="cut.tif: damaged or truncated"):
        read_input(str(path), max_pixels=LIMIT)


def test_max_pixels_bounds_the_samples(tmp_path):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((20, 20, 3), np.float64), photometric="rgb")
    with pytest.raises(InputError, match="max-pixels"):
        read_input(str(path), max_pixels=1000)


def test_no_python_warning_reaches_stderr_from_a_damaged_tiff(tmp_path):
    # a mutated TIFF whose tag points past the end: Pillow warns while decoding, and the message was libtiff's
    # place on file descriptor 2, so it used to name a file of Pillow's install
    src = os.path.join(os.path.dirname(__file__), "data", "fuzz_regressions", "crash-tiff-tag-past-end-warns")
    r = CliRunner().invoke(main, ["pool", src, "-k", "2", "-o", str(tmp_path / "o.npy")])
    assert r.exit_code == 1
    assert "damaged or truncated image" in r.output and "Warning" not in r.output and ".py" not in r.output


@pytest.mark.parametrize(
    ("dtype", "samples", "photometric", "compression"),
    [
        ("u2", 2, "minisblack", None),  # libvips read each plane's strips out of order
        ("f4", 3, "minisblack", "zlib"),
        ("f2", 3, "rgb", None),  # half floats in RGB planes too
        ("u1", 2, "minisblack", "zlib"),  # 8-bit: Pillow could not open it, and libvips misread it
        ("u1", 3, "minisblack", None),
    ],
)
def test_separate_planes_in_strips_of_several_rows_are_read_as_written(tmp_path, dtype, samples, photometric, compression):
    x = (np.arange(samples * 19 * 26).reshape(samples, 19, 26) * 7).astype(dtype)
    path = tmp_path / "planes.tif"
    tifffile.imwrite(path, x, photometric=photometric, planarconfig="separate", rowsperstrip=4, compression=compression)
    got = read_input(str(path), max_pixels=LIMIT).array
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, np.moveaxis(x, 0, -1))


def test_a_tiff_with_odd_tags_says_one_line(tmp_path):
    # a TIFF header whose directory is cut: Pillow warns ("Corrupt EXIF data") while it reads the tags, and the
    # warning reached stderr on the streamed image path beside the error
    path = tmp_path / "t.tif"
    path.write_bytes(b"MM\0*\0\0\0\0")
    r = CliRunner().invoke(main, ["pool", str(path), "-k", "1", "-o", str(tmp_path / "o.npy")])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "Warning" not in r.output
