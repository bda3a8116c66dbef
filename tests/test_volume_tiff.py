"""Volumes written as multi-page TIFF keep their sample type, and read back exactly: the 2-D TIFF rules page by page.

A TIFF volume of a type Pillow reads inexactly (uint32, int8, 16-bit colour) is read by libvips, every page; the
pages of int16 Pillow hands over as 32-bit are given back their own type. Each case is checked against the
reference pooled in numpy and against tifffile's reading of what poolcli wrote.
"""

import os
import sys

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from poolcli.cli import main
from poolcli.formats.codecs import tiff_writer

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_pool  # noqa: E402

pyvips = pytest.importorskip("pyvips")

CASES = [
    ("uint8", (3, 4, 6), 0, 255),
    ("int8", (2, 4, 4), -128, 127),
    ("uint16", (2, 4, 6, 3), 0, 65535),
    ("int16", (4, 6, 6), -32768, 32767),
    ("uint32", (2, 4, 4), 0, 2**32 - 1),
    ("int32", (2, 4, 4, 2), -(2**31), 2**31 - 1),
]


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(("dtype", "shape", "lo", "hi"), CASES)
def test_volume_tiff_keeps_its_type_both_ways(tmp_path, dtype, shape, lo, hi):
    v = np.random.default_rng(3).integers(lo, hi, shape, endpoint=True, dtype=np.int64).astype(dtype)
    v.flat[0], v.flat[-1] = lo, hi  # the ends of the range, where a wrong type shows first
    np.save(tmp_path / "v.npy", v)
    result = run(["pool", tmp_path / "v.npy", "--volume", "-k", 2, "-o", tmp_path / "v.tif"])
    assert result.exit_code == 0, result.output
    want = ref_pool(v, ndim=3, size=2)
    written = tifffile.imread(tmp_path / "v.tif")
    assert written.dtype == want.dtype
    np.testing.assert_array_equal(written.reshape(want.shape), want)
    result = run(["pool", tmp_path / "v.tif", "--volume", "-k", 1, "-o", tmp_path / "back.npy"])
    assert result.exit_code == 0, result.output
    back = np.load(tmp_path / "back.npy")
    assert back.dtype == want.dtype
    np.testing.assert_array_equal(back, want)


def test_tifffile_volume_of_uint32_is_read_exactly(tmp_path):
    v = np.array([[[4_000_000_000, 5], [7, 3_000_000_000]]] * 3, dtype=np.uint32)
    with tifffile.TiffWriter(tmp_path / "t.tif") as tif:  # three pages, as a scanner's stack
        for page in v:
            tif.write(page, photometric="minisblack")
    result = run(["pool", tmp_path / "t.tif", "--volume", "-k", "1x2x2", "-o", tmp_path / "o.npy"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), np.full((3, 1, 1), 4_000_000_000, np.uint32))


def test_avg_of_an_int16_volume_is_rounded_into_int16_with_a_note(tmp_path):
    v = np.array([[[-3, -2], [0, 0]], [[0, 0], [0, 0]]], dtype=np.int16)  # mean -0.625: half up gives -1
    np.save(tmp_path / "v.npy", v)
    result = run(["pool", tmp_path / "v.npy", "--volume", "-k", 2, "-m", "avg", "-o", tmp_path / "a.tif"])
    assert result.exit_code == 0, result.output
    assert "rounded half up" in result.stderr
    out = tifffile.imread(tmp_path / "a.tif")
    assert out.dtype == np.int16 and out.ravel().tolist() == [-1]


def test_pages_of_the_writer_are_what_tifffile_reads():
    import io

    for dtype in ("uint8", "int16", "uint32", "float32"):
        v = np.arange(2 * 3 * 5 * 3).reshape(2, 3, 5, 3).astype(dtype)
        for pixels, pages in ((v, True), (v[..., 0], True), (v[0], False), (v[0, ..., 0], False)):
            f = io.BytesIO()
            tiff_writer(pixels, pages=pages)(f)
            f.seek(0)
            with tifffile.TiffFile(f) as tif:
                assert len(tif.pages) == (len(pixels) if pages else 1)
                got = tif.asarray()
            np.testing.assert_array_equal(got.reshape(pixels.shape), pixels)
