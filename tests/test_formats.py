"""The registry of formats: readers recognised by content, writers found by name, nothing reached by accident."""

import io as stdio
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from poolcli import formats, io
from poolcli.cli import main
from poolcli.cli.types import FORMAT_CHOICE
from poolcli.cli.spec import OUTPUT_OPTION_FORMATS
from poolcli.formats import FormatError, Writer, imagewrite
from poolcli.pipeline import OutputSpec, PoolSpec, encode

X = np.array([[1, 2], [3, 4]], dtype=np.uint8)


def encoded(arr, fmt, spec=None, source_dtype=None):
    write, notes = encode(arr, fmt, spec or PoolSpec(), source_dtype=source_dtype or arr.dtype, name=f"o.{fmt}")
    buf = stdio.BytesIO()
    write(buf)
    return buf.getvalue(), notes


# ---------------------------------------------------------------- the tables


def test_the_registry_imports_neither_numpy_nor_pillow():
    code = "import sys, poolcli.formats as f; f.writer_for('png'); f.sniff(b'[1]'); print(sorted(m for m in ('numpy', 'PIL') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert out.stdout.strip() == "[]"


def test_every_record_names_functions_that_exist():
    for reader in formats.READERS:
        assert callable(reader.loader()), reader.name
    for name, writer in formats.WRITERS.items():
        assert callable(writer.encoder()), name
        assert name in writer.extensions and writer.name == writer.extensions[0]
        assert set(writer.options) <= set(formats.OUTPUT_OPTIONS) | {"layout"}, name
        assert writer.kind in ("text", "npy", "json", "image")
        assert all(np.dtype(d).name == d for d in writer.dtypes)


def test_the_names_that_choose_a_writer():
    assert formats.OUTPUT_FORMATS == ("csv", "tsv", "txt", "npy", "json", "png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif")
    assert formats.writer_for("JPEG") is formats.writer_for("jpg")
    assert formats.writer_for("tiff").codec == "TIFF"
    assert [formats.format_for_path(p) for p in ("a/b.CSV", "x.json", "x.tiff", "x.xyz", "noext")] == ["csv", "json", "tiff", None, None]
    assert list(FORMAT_CHOICE.choices) == list(formats.OUTPUT_FORMATS)  # --to offers exactly the writers


def test_which_output_options_act_on_which_formats():
    assert formats.formats_taking("precision") == ("csv", "tsv", "txt")
    assert formats.formats_taking("compress_level") == ("png",)
    assert formats.formats_taking("quality") == ("jpg", "jpeg", "webp")
    assert set(formats.formats_taking("rescale")) == {f for f, w in formats.WRITERS.items() if w.kind == "image"}
    assert OUTPUT_OPTION_FORMATS["precision"] == (("csv", "tsv", "txt", "table"), "text output (CSV, TSV, TXT)")
    assert OUTPUT_OPTION_FORMATS["quality"][1] == "JPEG and WebP output"
    assert OUTPUT_OPTION_FORMATS["compress_level"][1] == "PNG output"


def test_what_each_writer_holds_decides_the_bit_depth():
    # 16-bit input keeps 16 bits where the format holds uint16; float input is float32 where it holds that
    assert [imagewrite.image_bits(f, np.uint16) for f in ("png", "tif", "jpg", "bmp", "webp", "gif")] == [16, 16, 8, 8, 8, 8]
    assert [imagewrite.image_bits(f, np.float64) for f in ("png", "tif", "tiff", "jpeg")] == [8, 32, 32, 8]
    assert [imagewrite.image_bits(f, np.uint8) for f in ("png", "tif")] == [8, 8]


# ---------------------------------------------------------------- recognising inputs


def _image_bytes(fmt):
    b = stdio.BytesIO()
    Image.new("RGB", (4, 4)).save(b, fmt)
    return b.getvalue()


@pytest.mark.parametrize(
    "head, kind",
    [
        (b"\x93NUMPY\x01\x00v\x00{'descr'", "npy"),
        (b"[[1, 2], [3, 4]]", "json"),
        (b"\xef\xbb\xbf \n\t[ [1,2] ]", "json"),
        (b"[-1.5, 2]", "json"),
        (b"[NaN]", "json"),
        (b"[\n    [\n        [\n", "json"),  # json.dumps(..., indent=4) of a 3-D array
        (b"[]", "json"),
        (b"1,2\n3,4\n", "text"),
        (b"[mm],[s]\n1,2\n", "text"),  # a header in brackets: text, whose header row is skipped
        (b"# [[1, 2]]\n1 2\n", "text"),
        (b"P1\tP2\tP3\n1\t2\t3\n", "text"),
        (b"P2\n2 2\n255\n0 1 2 3\n", "image"),
        (b"", "text"),
    ],
)
def test_sniff_tries_the_readers_in_order(head, kind):
    assert formats.sniff(head).name == kind
    assert io.sniff(head) == kind


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "ICO", "PCX", "QOI", "SGI", "JPEG2000"])
def test_images_are_recognised_by_their_magic_or_by_pillow(fmt):
    assert formats.sniff(_image_bytes(fmt)).name == "image"


def test_a_header_in_brackets_stays_a_text_matrix():
    loaded = io.load_bytes(b"[mm],[s]\n1,2\n", "m.csv")
    assert loaded.kind == "text" and loaded.array.tolist() == [[1, 2]]


def test_batch_takes_the_image_readers_extensions_as_pillow_lists_them():
    Image.init()
    pillow = {e.lower() for e, f in Image.registered_extensions().items() if f in Image.OPEN}
    assert set(formats.batch_extensions()) == pillow | set(formats.reader_named("image").extensions)
    assert {".png", ".jpg", ".tif", ".pgm"} <= set(formats.batch_extensions())
    assert not {".json", ".csv", ".npy"} & set(formats.batch_extensions())  # arrays and text only with --glob


# ---------------------------------------------------------------- writers found by name, and only so


def test_a_format_with_no_writer_is_refused(monkeypatch):
    called = []
    monkeypatch.setattr(Writer, "encoder", lambda self: called.append(self.name))
    with pytest.raises(FormatError, match=r"no writer for the format 'xyz'; poolcli writes csv, tsv, txt, npy, json, png"):
        formats.writer_for("xyz")
    with pytest.raises(io.OutputError, match="no writer for the format 'xyz'"):
        encode(X, "xyz", PoolSpec(), source_dtype=X.dtype, name="o.xyz")
    assert called == []  # no writer was even looked at
    assert issubclass(FormatError, ValueError)


def test_a_registered_writer_is_reached_and_given_only_its_options(monkeypatch):
    got = []

    def fake_encode(result, writer, options, *, source_dtype, name):
        got.append((writer.name, dict(options), source_dtype, name))
        return (lambda f: f.write(b"xyz")), [("a note", "format")]

    monkeypatch.setitem(sys.modules, "fake_codec", type(sys)("fake_codec"))
    sys.modules["fake_codec"].encode = fake_encode
    record = Writer("xyz", "XYZ", ("xyz",), "npy", "anything", (), False, ("precision", "layout"), "fake_codec:encode")
    monkeypatch.setitem(formats.WRITERS, "xyz", record)
    data, notes = encoded(X, "xyz", PoolSpec(output=OutputSpec(precision=3, quality=50), layout="chw"))
    assert data == b"xyz" and [(str(n), n.kind) for n in notes] == [("a note", "format")]
    assert got[0] == ("xyz", {"precision": 3, "layout": "chw"}, np.uint8, "o.xyz")


@pytest.mark.parametrize("fmt", [f for f, w in formats.WRITERS.items() if w.kind != "image"])
def test_the_image_writer_is_never_reached_for_other_formats(monkeypatch, fmt):
    def boom(*args, **kwargs):
        raise AssertionError("the image writer was reached")

    for name in ("encode", "to_image_array", "image_writer", "image_bits"):
        monkeypatch.setattr(imagewrite, name, boom)
    data, _ = encoded(np.array([[1.5, 2], [3, 4]]), fmt)
    assert data  # written by its own writer
    assert np.array_equal(io.load_bytes(data, f"o.{fmt}").array, [[1.5, 2], [3, 4]])


@pytest.mark.parametrize("fmt", [f for f, w in formats.WRITERS.items() if w.kind == "image"])
def test_every_image_format_goes_through_the_image_writer(monkeypatch, fmt):
    seen = []
    real = imagewrite.encode
    monkeypatch.setattr(imagewrite, "encode", lambda *a, **k: (seen.append(a[1].name), real(*a, **k))[1])
    data, _ = encoded(X, fmt)
    assert set(seen) == {formats.writer_for(fmt).name}
    assert io.load_bytes(data, f"o.{fmt}").kind == "image"


# ---------------------------------------------------------------- the CLI reads the tables


def test_output_options_for_json_are_refused_as_for_any_other_format(tmp_path):
    (tmp_path / "m.json").write_text("[[1, 2], [3, 4]]")
    r = CliRunner().invoke(main, ["pool", str(tmp_path / "m.json"), "--precision", "2", "-o", str(tmp_path / "o.json")])
    assert r.exit_code == 2
    assert "--precision applies to text output (CSV, TSV, TXT), not JSON; drop it" in r.output
    assert not (tmp_path / "o.json").exists()


def test_indices_are_written_by_every_exact_writer_and_no_image_writer(tmp_path):
    (tmp_path / "m.csv").write_text("1,9\n3,4\n")
    r = CliRunner().invoke(main, ["pool", str(tmp_path / "m.csv"), "--indices", str(tmp_path / "i.json"), "-o", str(tmp_path / "v.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "i.json").read_text() == "[[1]]\n"
    r = CliRunner().invoke(main, ["pool", str(tmp_path / "m.csv"), "--indices", str(tmp_path / "i.png"), "-o", str(tmp_path / "v.csv")])
    assert r.exit_code == 2
    assert "indices are written as .csv, .tsv, .txt, .npy or .json" in r.output


# ---------------------------------------------------------------- temporaries and stop signals


def test_a_stop_while_the_temporary_is_created_removes_it(tmp_path, monkeypatch):
    # the race behind a flaky signal test: mkstemp has made the file, and not yet said its name
    from poolcli.formats import files

    left = []
    real_mkstemp = files.tempfile.mkstemp

    def stopped_inside_mkstemp(**kw):
        real_mkstemp(**kw)
        files.remove_temporaries()  # what the signal handler does, then it ends the process
        left.append(sorted(os.listdir(tmp_path)))
        raise KeyboardInterrupt

    monkeypatch.setattr(files.tempfile, "mkstemp", stopped_inside_mkstemp)
    with pytest.raises(KeyboardInterrupt), files.atomic_writer(str(tmp_path / "o.csv")) as f:
        f.write(b"1\n")
    assert left == [[]] and os.listdir(tmp_path) == []
    assert not files._STARTING and not files._LIVE_TEMPORARIES
