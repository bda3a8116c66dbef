"""Large TIFFs (libvips) and raw PGM/PPM/PAM files read band by band, and PNG results written row by row: the
whole path's bytes and notes, what is declined read whole, damage refused with the whole path's message."""

import shutil
import subprocess

import numpy as np
import pytest
from helpers import outcome as _outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolcli import stream
from poolcli.formats import codecs, imagestream, pnmstream
from poolcli.pipeline import FilterSpec, OutputSpec, PoolSpec, WindowSpec
from poolcli.stream import sinks

tifffile = pytest.importorskip("tifffile")
vips = pytest.mark.skipif(not codecs.have_vips(), reason="libvips (the codecs extra) is not installed")


@pytest.fixture
def small(monkeypatch):
    """Every image counts as large; bands of a row or a few; values held for a PNG made pixels a row at a time."""
    monkeypatch.setattr(imagestream, "STREAM_PIXELS", 1)
    monkeypatch.setattr(stream, "BAND_BYTES", 7)
    monkeypatch.setattr(sinks, "PART_CELLS", 1)


SPECS = [
    PoolSpec(window=WindowSpec(size=2)),
    PoolSpec(window=WindowSpec(size=(3, 2), stride=(2, 1), padding="same", mode="avg")),
    PoolSpec(window=WindowSpec(size=2, mode="sum"), filter=FilterSpec(kernel=((1, 2, 1), (2, 4, 2), (1, 2, 1)))),
    PoolSpec(window=WindowSpec(size=3, mode="min", dilation=2, padding=1)),
    PoolSpec(window=WindowSpec(size=2, mode="avg"), gray=True),
    PoolSpec(window=WindowSpec(size=2, mode="max"), output=OutputSpec(rescale="minmax")),
]


def _values(rng, dtype, shape):
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-0.25, 1.25, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def _same(src, tmp_path, out, specs=SPECS):
    dst = str(tmp_path / f"out.{out}")
    for spec in specs:
        assert _outcome(src, dst, spec, True) == _outcome(src, dst, spec, False), spec


@vips
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.uint32, np.float16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("layout", ["strips", "tiles", "deflate"])
def test_streamed_tiff_gives_the_whole_paths_bytes_and_notes(tmp_path, small, dtype, channels, layout):
    if dtype == np.float16 and channels > 1:
        pytest.skip("tifffile writes half floats of one channel")
    rng = np.random.default_rng(channels)
    shape = (23, 17) + ((channels,) if channels > 1 else ())
    pixels = _values(rng, dtype, shape)
    src = str(tmp_path / "in.tif")
    kw = {
        "strips": dict(rowsperstrip=4),
        "tiles": dict(tile=(16, 16)),
        "deflate": dict(rowsperstrip=5, compression="zlib"),
    }
    tifffile.imwrite(
        src,
        pixels,
        photometric="minisblack" if channels <= 2 else "rgb",
        extrasamples=[2] if channels in (2, 4) else None,
        **kw[layout],
    )
    opened = imagestream.open_tiff(src, 1 << 30, 7)
    assert opened is not None and opened.shape == shape  # it is streamed
    with opened as bands:
        got = np.concatenate(list(bands))
    assert got.dtype == dtype and (got == pixels).all()
    _same(src, tmp_path, "png")
    _same(src, tmp_path, "npy", SPECS[:2])


@vips
def test_tiffs_libvips_writes_are_streamed_as_the_whole_path_reads_them(tmp_path, small):
    import pyvips

    rng = np.random.default_rng(7)
    rgb = pyvips.Image.new_from_array(_values(rng, np.uint8, (21, 19, 3))).copy(interpretation="srgb")
    grey16 = pyvips.Image.new_from_array(_values(rng, np.uint16, (21, 19))).copy(interpretation="grey16")
    rgb.tiffsave(str(tmp_path / "lzw.tif"), compression="lzw", predictor="horizontal")
    rgb.tiffsave(str(tmp_path / "packbits.tif"), compression="packbits", tile=True, tile_width=16, tile_height=16)
    grey16.tiffsave(str(tmp_path / "lzw16.tif"), compression="lzw", predictor="horizontal")
    tifffile.imwrite(tmp_path / "bigendian.tif", _values(rng, np.uint16, (21, 19, 3)), byteorder=">", photometric="rgb")
    for name in ("lzw", "packbits", "lzw16", "bigendian"):
        src = str(tmp_path / f"{name}.tif")
        assert imagestream.open_tiff(src, 1 << 30, 7) is not None, name
        _same(src, tmp_path, "png", SPECS[:2])


@vips
def test_tiffs_the_streamed_path_declines_are_read_whole(tmp_path, small):
    import pyvips

    rng = np.random.default_rng(8)
    rgb8 = _values(rng, np.uint8, (21, 19, 3))
    grey = _values(rng, np.uint16, (21, 19))
    pyvips.Image.new_from_array(rgb8).copy(interpretation="srgb").tiffsave(
        str(tmp_path / "jpeg.tif"), compression="jpeg"
    )
    tifffile.imwrite(tmp_path / "pages.tif", np.stack([grey, grey]))
    tifffile.imwrite(tmp_path / "miniswhite.tif", grey, photometric="miniswhite")
    tifffile.imwrite(tmp_path / "planes.tif", np.moveaxis(rgb8, 2, 0), photometric="rgb", planarconfig="separate")
    tifffile.imwrite(
        tmp_path / "premultiplied.tif", np.dstack([rgb8, rgb8[:, :, :1]]), photometric="rgb", extrasamples=[1]
    )
    tifffile.imwrite(tmp_path / "five.tif", np.dstack([grey] * 5), photometric="minisblack", planarconfig="contig")
    tifffile.imwrite(tmp_path / "turned.tif", grey, extratags=[(274, 3, 1, 6, True)])
    names = ["jpeg", "pages", "miniswhite", "planes", "premultiplied", "five", "turned"]
    if shutil.which("convert"):  # ImageMagick writes CMYK and palette TIFFs
        for name, how in (("cmyk", ["-colorspace", "CMYK"]), ("palette", ["-colors", "16", "-type", "Palette"])):
            made = str(tmp_path / f"{name}.tif")
            subprocess.run(["convert", str(tmp_path / "jpeg.tif"), "-compress", "lzw", *how, made], check=True)
            names.append(name)
    for name in names:
        src = str(tmp_path / f"{name}.tif")
        assert imagestream.open_tiff(src, 1 << 30, 7) is None, name
        spec = PoolSpec(window=WindowSpec(size=2))
        dst = str(tmp_path / "out.npy")
        assert _outcome(src, dst, spec, True) == _outcome(src, dst, spec, False, streams=False), name
    tifffile.imwrite(tmp_path / "small.tif", grey)
    imagestream.STREAM_PIXELS = 21 * 19 + 1  # the fixture puts it back
    assert imagestream.open_tiff(str(tmp_path / "small.tif"), 1 << 30, 7) is None


@vips
def test_a_damaged_tiff_is_refused_with_the_whole_paths_message(tmp_path, small):
    import pyvips

    rng = np.random.default_rng(9)
    src = tmp_path / "in.tif"
    image = pyvips.Image.new_from_array(_values(rng, np.uint8, (64, 40)))
    image.tiffsave(str(src), compression="lzw", tile=True, tile_width=16, tile_height=16)
    data = src.read_bytes()
    with tifffile.TiffFile(src) as tiff:
        first, last = tiff.pages[0].dataoffsets[0] + 10, tiff.pages[0].dataoffsets[-1] + 10
    spec = PoolSpec(window=WindowSpec(size=2))
    dst = str(tmp_path / "out.png")
    cases = {  # codes LZW has not made yet
        "the first tile": data[:first] + b"\xff" * 40 + data[first + 40 :],
        "the last tile": data[:last] + b"\xff" * 40 + data[last + 40 :],  # rows were pooled before it
        "cut short": data[:-1000],  # its directory (at the end) lost
    }
    for case, broken in cases.items():
        src.write_bytes(broken)
        said = _outcome(str(src), dst, spec, False)
        assert isinstance(said, str) and ("damaged or truncated image" in said or case == "cut short"), case
        assert said == _outcome(str(src), dst, spec, True), case
    tifffile.imwrite(src, np.zeros((10, 10), np.uint8))
    many = PoolSpec(window=WindowSpec(size=2), max_pixels=99)
    said = _outcome(str(src), dst, many, False)
    assert "more than 99 pixels" in said and said == _outcome(str(src), dst, many, True)


def _pnm(path, magic, pixels, maxval):
    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if magic == "P7":
        head = f"P7\nWIDTH {w}\nHEIGHT {h}\nDEPTH {channels}\nMAXVAL {maxval}\nTUPLTYPE X\nENDHDR\n"
    else:
        head = f"{magic}\n# a comment\n{w} {h}\n{maxval}\n"
    data = pixels.astype(">u2" if maxval > 255 else "u1").tobytes()
    with open(path, "wb") as f:
        f.write(head.encode() + data + b"after the samples")


@pytest.mark.parametrize("magic,channels", [("P5", 1), ("P6", 3), ("P7", 2), ("P7", 4)])
@pytest.mark.parametrize("maxval", [255, 65535, 1023, 100])
def test_streamed_pnm_gives_the_whole_paths_bytes_and_notes(tmp_path, small, magic, channels, maxval):
    rng = np.random.default_rng(maxval)
    pixels = rng.integers(0, maxval, (23, 17) + ((channels,) if channels > 1 else ()), endpoint=True)
    src = str(tmp_path / "in.pnm")
    _pnm(src, magic, pixels, maxval)
    opened = pnmstream.open_pnm(src, 1 << 30, 7, 1)
    assert opened is not None
    with opened as bands:
        got = np.concatenate(list(bands))
    assert got.dtype == (np.uint8 if maxval < 256 else np.uint16) and (got == pixels).all()
    assert (maxval in (255, 65535)) == (opened.notes == [])
    _same(src, tmp_path, "png")
    _same(src, tmp_path, "csv", SPECS[:2])


def test_pnms_the_streamed_path_declines_or_refuses_as_the_whole_path(tmp_path, small):
    spec = PoolSpec(window=WindowSpec(size=2))
    dst = str(tmp_path / "out.png")
    src = str(tmp_path / "in.pgm")
    plain = "P2\n3 2\n255\n1 2 3\n4 5 6\n"
    short = b"P5\n30 20\n255\n" + bytes(100)
    past = b"P5\n30 20\n255\n" + bytes(600)
    for data in (plain.encode(), short, past):
        with open(src, "wb") as f:
            f.write(data)
        limit = spec if data is not past else PoolSpec(window=WindowSpec(size=2), max_pixels=599)
        assert pnmstream.open_pnm(src, limit.max_pixels, 7, 1) is None
        assert _outcome(src, dst, limit, True) == _outcome(src, dst, limit, False, streams=False)
    pixels = np.random.default_rng(4).integers(0, 100, (40, 30), endpoint=True)
    pixels[31, 7], pixels[35, 2] = 150, 200  # past maxval, in a band after some rows were pooled
    _pnm(src, "P5", pixels, 100)
    said = _outcome(src, dst, spec, False)
    assert (
        said
        == _outcome(src, dst, spec, True)
        == f"{src}: damaged or truncated image (PGM: a sample is 200, outside its 0..100)"
    )


@vips
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_a_png_result_of_pixels_as_they_are_is_written_as_it_comes(tmp_path, small, monkeypatch, dtype, channels):
    events = []
    monkeypatch.setattr(codecs, "PNG_BLOCK_ROWS", 3)  # the whole writer's blocks too: the bytes follow them
    add, bands = codecs.PngRows.add, imagestream.VipsBands.__iter__
    monkeypatch.setattr(codecs.PngRows, "add", lambda self, block: events.append("block") or add(self, block))
    monkeypatch.setattr(
        imagestream.VipsBands, "__iter__", lambda self: (events.append("band") or b for b in bands(self))
    )
    rng = np.random.default_rng(channels)
    pixels = _values(rng, dtype, (41, 17) + ((channels,) if channels > 1 else ()))
    src = str(tmp_path / "in.tif")
    photometric = "minisblack" if channels <= 2 else "rgb"
    tifffile.imwrite(src, pixels, photometric=photometric, extrasamples=[2] if channels in (2, 4) else None)
    dst = str(tmp_path / "out.png")
    specs = (SPECS[0], SPECS[3], PoolSpec(window=WindowSpec(size=3, stride=2, ceil_mode=True)), PoolSpec(channel=0))
    for spec in specs:
        whole = _outcome(src, dst, spec, True)
        events.clear()
        assert _outcome(src, dst, spec, False) == whole
        # a block of rows was written before the last band of the input was read
        assert events.index("block") < len(events) - events[::-1].index("band") - 1


@vips
@pytest.mark.parametrize("rescale", ["auto", "clip", "minmax"])
def test_png_results_the_rule_converts_by_every_value_are_held_then_written_as_whole(
    tmp_path, small, monkeypatch, rescale
):
    chosen = []
    monkeypatch.setattr(codecs, "PNG_BLOCK_ROWS", 4)
    choose = sinks.PngSink._choose
    monkeypatch.setattr(sinks.PngSink, "_choose", lambda self, rows: chosen.append(choose(self, rows)) or chosen[-1])
    rng = np.random.default_rng(11)
    rgb = rng.integers(0, 255, (30, 20, 3), endpoint=True).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    grey16 = rng.integers(0, 65535, (30, 20), endpoint=True).astype(np.uint16)
    tifffile.imwrite(tmp_path / "grey16.tif", grey16)
    floats = rng.uniform(-0.5, 1.5, (30, 20)).astype(np.float32)
    floats[3, 4], floats[17, 2], floats[25, 9], floats[28, 1] = np.nan, np.inf, -np.inf, np.nan
    tifffile.imwrite(tmp_path / "floats.tif", floats)
    tifffile.imwrite(tmp_path / "unit.tif", floats.clip(0, 1).astype(np.float32))
    dst = str(tmp_path / "out.png")
    out = OutputSpec(rescale=rescale)
    specs = [  # averages rounded, sums and LP stretched or clipped, a filter's negative values, float input scaled
        PoolSpec(window=WindowSpec(size=(3, 2), stride=(2, 1), padding="same", mode="avg"), output=out),
        PoolSpec(window=WindowSpec(size=2, mode="sum"), output=out),
        PoolSpec(window=WindowSpec(size=2, mode="lp", norm_type=3.0), output=out),
        PoolSpec(window=WindowSpec(size=2), filter=FilterSpec(kernel=((1, -2), (0, 1))), output=out),
        PoolSpec(window=WindowSpec(size=2, mode="max"), output=out),
        PoolSpec(window=WindowSpec(size=2, mode="avg"), gray=True, output=out),
    ]
    for name in ("rgb", "grey16", "floats", "unit"):
        src = str(tmp_path / f"{name}.tif")
        for spec in specs:
            whole = _outcome(src, dst, spec, True)
            chosen.clear()
            assert _outcome(src, dst, spec, False) == whole, (name, spec)
            # max of integers, and averages of integers, which are pooled as integers (rounded half up) for images
            integer = spec is specs[4] or spec.window.mode == "avg"
            as_they_are = name in ("rgb", "grey16") and integer and rescale != "minmax"
            assert chosen == ["direct" if as_they_are else "spooled"], (name, spec)
    text = tmp_path / "in.csv"
    text.write_text("1,2,3,4\n5,6,7,8\n")  # text's values decide their type at the end
    chosen.clear()
    assert _outcome(str(text), dst, specs[0], True) == _outcome(str(text), dst, specs[0], False)
    assert chosen == ["gathered"]


def test_the_png_encoder_by_blocks_is_the_whole_writers(tmp_path):
    rng = np.random.default_rng(12)
    for shape, dtype in (((600, 37), np.uint8), ((513, 20, 3), np.uint16), ((1, 5, 4), np.uint8)):
        pixels = _values(rng, dtype, shape)
        with open(tmp_path / "a.png", "wb") as f:
            codecs.png_writer(pixels, 6)(f)
        with open(tmp_path / "b.png", "wb") as f:
            rows = codecs.PngRows(f, shape[1:], shape[0], np.dtype(dtype), 6)
            for r0 in range(0, shape[0], codecs.PNG_BLOCK_ROWS):
                rows.add(pixels[r0 : r0 + codecs.PNG_BLOCK_ROWS])
            rows.end()
        assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
        if dtype == np.uint8:
            from PIL import Image

            assert (np.asarray(Image.open(tmp_path / "b.png")) == pixels).all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    dtype=st.sampled_from(["float64", "float32", "int64", "uint16", "int16", "uint8"]),
    rescale=st.sampled_from(["auto", "clip", "minmax"]),
    mode=st.sampled_from(["max", "avg", "sum"]),
    block=st.integers(1, 5),
)
def test_png_results_of_npy_values_are_the_whole_paths_for_any_values(
    tmp_path, small, data, dtype, rescale, mode, block
):
    """The extremes riding along with each part make the pixel rule decide as for the whole result, whatever
    the values: NaN, infinities, fractions, values past the pixel range, all equal."""
    shape = data.draw(st.tuples(st.integers(2, 9), st.integers(1, 6), st.sampled_from([(), (3,)])))
    shape = shape[:2] + shape[2]
    if dtype.startswith("float"):
        special = st.sampled_from([np.nan, np.inf, -np.inf, 0.5, 0.49999999999999994, 1e300, -3.0, 255.5])
        cell = st.one_of(st.floats(-2, 300, width=32 if dtype == "float32" else 64), special)
    else:
        info = np.iinfo(dtype)
        cell = st.one_of(st.integers(max(info.min, -5), min(info.max, 300)), st.sampled_from([info.min, info.max]))
    values = np.array(data.draw(st.lists(cell, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    src = str(tmp_path / "in.npy")
    with np.errstate(over="ignore"):  # 1e300 as float32: inf, one more special value
        np.save(src, values.astype(dtype).reshape(shape))
    dst = str(tmp_path / "out.png")
    spec = PoolSpec(window=WindowSpec(size=(2, 1), mode=mode), output=OutputSpec(rescale=rescale))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(codecs, "PNG_BLOCK_ROWS", block)
        with np.errstate(all="ignore"):
            assert _outcome(src, dst, spec, True) == _outcome(src, dst, spec, False)
