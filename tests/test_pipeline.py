"""pipeline.run end to end (text, NPY and image inputs, values asserted), notes as records, the specs as values,
and plan_outputs' refusals before anything is read."""

import dataclasses
import pickle

import numpy as np
import pytest
from PIL import Image

from poolcli import io
from poolcli.pipeline import (
    FilterSpec,
    Note,
    OptionError,
    OutputSpec,
    PoolSpec,
    WindowSpec,
    plan_outputs,
    run,
)

M4 = "1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n"


def spec(**window):
    return PoolSpec(window=WindowSpec(**window))


# --------------------------------------------------------------------------- run, end to end


def test_text_in_text_out(tmp_path):
    src, dst = tmp_path / "m.csv", tmp_path / "o.csv"
    src.write_text(M4)
    result = run(str(src), str(dst), spec())
    assert result.values.tolist() == [[6.0, 8.0], [14.0, 16.0]]
    assert dst.read_text() == "6,8\n14,16\n"
    assert result.indices is None and result.notes == []
    assert (result.bytes_in, result.bytes_out) == (len(M4), len("6,8\n14,16\n"))


def test_npy_keeps_its_type_and_pools_each_channel(tmp_path):
    x = np.arange(32, dtype=np.uint8).reshape(4, 4, 2)  # channel 0: 0, 2, 4 ...; channel 1: 1, 3, 5 ...
    np.save(tmp_path / "x.npy", x)
    result = run(str(tmp_path / "x.npy"), str(tmp_path / "o.npy"), spec(mode="min"))
    got = np.load(tmp_path / "o.npy")
    assert got.dtype == np.uint8
    assert got[:, :, 0].tolist() == [[0, 4], [16, 20]] and got[:, :, 1].tolist() == [[1, 5], [17, 21]]
    np.testing.assert_array_equal(result.values, got)
    assert result.bytes_in == (tmp_path / "x.npy").stat().st_size


def test_image_in_image_out_with_the_rounding_note(tmp_path):
    Image.fromarray(np.array([[0, 1, 10, 20], [0, 0, 30, 41]], dtype=np.uint8)).save(tmp_path / "g.png")
    dst = str(tmp_path / "o.png")
    result = run(str(tmp_path / "g.png"), dst, spec(mode="avg"))
    assert result.values.tolist() == [[0.25, 25.25]]
    assert np.asarray(Image.open(dst)).tolist() == [[0, 25]]  # rounded half up
    assert result.notes == [Note(dst, "values rounded half up to integers", "values")]
    assert str(result.notes[0]) == f"{dst}: values rounded half up to integers"


def test_a_lossy_format_says_so_as_a_format_note(tmp_path):
    Image.fromarray(np.full((4, 4), 100, dtype=np.uint8)).save(tmp_path / "g.png")
    dst = str(tmp_path / "o.jpg")
    result = run(str(tmp_path / "g.png"), dst, spec())
    assert [(n.where, n.kind) for n in result.notes] == [(dst, "format")]
    assert "JPEG is lossy" in result.notes[0].text and dst not in result.notes[0].text


def test_filter_then_pool_and_the_hooks_in_order(tmp_path):
    src = tmp_path / "m.csv"
    src.write_text("1,2,0\n3,4,0\n0,0,0\n")
    events = []
    s = PoolSpec(window=WindowSpec(size=1), filter=FilterSpec(kernel=[[1, 1], [1, 1]]))
    result = run(str(src), None, s, on_note=events.append, on_pooled=lambda p, v: events.append(("pooled", p.tolist(), v.tolist())))
    # 2x2 box sums of the 3x3 input, then 1x1 pooling leaves them
    assert events == [("pooled", [[10.0, 6.0], [7.0, 4.0]], [[10.0, 6.0], [7.0, 4.0]])]
    assert result.bytes_out == 0 and result.values.tolist() == [[10.0, 6.0], [7.0, 4.0]]


def test_indices_are_written_beside_the_values(tmp_path):
    src = tmp_path / "m.csv"
    src.write_text("1,9,2,2\n3,4,8,2\n")
    result = run(str(src), str(tmp_path / "o.csv"), spec(), indices=str(tmp_path / "i.npy"))
    assert result.values.tolist() == [[9.0, 8.0]]
    assert np.load(tmp_path / "i.npy").tolist() == result.indices.tolist() == [[1, 6]]
    assert result.bytes_out == (tmp_path / "o.csv").stat().st_size + (tmp_path / "i.npy").stat().st_size


def test_every_note_is_a_record_said_as_it_arises(tmp_path):
    src = tmp_path / "h.csv"
    src.write_text("a,b\n1,2\n3,4\n")
    said = []
    result = run(str(src), str(tmp_path / "o.csv"), spec(), on_note=said.append)
    assert said == result.notes == [Note(str(src), "line 1 looks like a header (a, b); skipped it", "input")]
    np.save(tmp_path / "chw.npy", np.zeros((3, 8, 8)))
    (layout,) = run(str(tmp_path / "chw.npy"), None, spec()).notes
    assert layout.kind == "layout" and layout.text.endswith("add --layout chw")
    np.save(tmp_path / "big.npy", np.array([[2**60, 1], [1, 1]], dtype=np.int64))
    (rounded,) = run(str(tmp_path / "big.npy"), None, spec(mode="sum")).notes
    assert rounded == Note(str(tmp_path / "big.npy"), "64-bit integers beyond 2**53 go through float64 in sum pooling, so results are rounded to 53 bits", "precision")


def test_a_refusal_writes_nothing(tmp_path):
    np.save(tmp_path / "rgb.npy", np.zeros((4, 4, 3)))
    with pytest.raises(io.OutputError, match="the result has 3 channels and CSV holds one matrix"):
        run(str(tmp_path / "rgb.npy"), str(tmp_path / "o.csv"), spec(), indices=str(tmp_path / "i.npy"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rgb.npy"]


def test_make_folders_makes_the_destinations_folder(tmp_path):
    (tmp_path / "m.csv").write_text(M4)
    dst = tmp_path / "a" / "b" / "o.csv"
    run(str(tmp_path / "m.csv"), str(dst), spec(size=4), make_folders=True)
    assert dst.read_text() == "16\n"


def test_output_settings_reach_the_writer(tmp_path):
    (tmp_path / "m.csv").write_text("1,2\n3,5\n")
    s = PoolSpec(window=WindowSpec(mode="avg"), output=OutputSpec(precision=1, delimiter=";"))
    run(str(tmp_path / "m.csv"), str(tmp_path / "o.txt"), s)
    assert (tmp_path / "o.txt").read_text() == "2.8\n"
    (tmp_path / "w.csv").write_text("1,2,3\n4,5,6\n")
    run(str(tmp_path / "w.csv"), str(tmp_path / "o2.csv"), dataclasses.replace(s, window=WindowSpec(size=1)))
    assert (tmp_path / "o2.csv").read_text() == "1.0;2.0;3.0\n4.0;5.0;6.0\n"


# --------------------------------------------------------------------------- the specs are values


def test_specs_are_hashable_and_compare_by_value():
    a = PoolSpec(window=WindowSpec(size=3, mode="mean"), filter=FilterSpec(kernel=np.eye(2)))
    b = PoolSpec(window=WindowSpec(size=3, mode="avg"), filter=FilterSpec(kernel=[[1, 0], [0, 1]]))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.filter.kernel == ((1.0, 0.0), (0.0, 1.0)) and a.filter.shape == (2, 2)
    assert a != dataclasses.replace(a, window=WindowSpec(size=3, mode="max"))
    assert a != dataclasses.replace(a, output=OutputSpec(quality=80))
    assert {a: "x"}[b] == "x"
    assert pickle.loads(pickle.dumps(a)) == a  # as sent to worker processes
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.window.size = 2


def test_each_default_is_stated_once_in_its_record():
    from poolcli.engine import DEFAULT_SIZE
    from poolcli.formats import DEFAULT_MAX_PIXELS

    assert PoolSpec() == PoolSpec(WindowSpec(), FilterSpec(), OutputSpec())
    assert PoolSpec().window.size == DEFAULT_SIZE and PoolSpec().max_pixels == DEFAULT_MAX_PIXELS
    assert PoolSpec().filter.kernel is None and PoolSpec().filter.shape == (0, 0)


def test_an_unknown_mode_is_refused_when_the_spec_is_made():
    with pytest.raises(ValueError, match="unknown mode 'median'"):
        WindowSpec(mode="median")


# --------------------------------------------------------------------------- plan_outputs


@pytest.fixture
def m_csv(tmp_path):
    (tmp_path / "m.csv").write_text(M4)
    return str(tmp_path / "m.csv")


@pytest.mark.parametrize(
    "output, kw, message",
    [
        ("m.csv", {}, "output {d}/m.csv is the input; choose another path"),
        ("o.csv", dict(indices="m.csv"), "--indices {d}/m.csv is the input; choose another path"),
        ("o.csv", dict(indices="o.csv"), "--indices {d}/o.csv and -o {d}/o.csv are the same file; give two paths"),
        ("o.csv", dict(indices="i.png"), "--indices {d}/i.png: indices are written as .csv, .tsv, .txt, .npy or .json"),
        ("-", dict(indices="-"), "--indices - and the result cannot both go to stdout; give -o or an --indices file"),
        ("-", dict(to="png", terminal=True), "refusing to write PNG to a terminal; use -o FILE or redirect stdout"),
        ("o.xyz", {}, "{d}/o.xyz: unknown output extension .xyz; use one of"),
    ],
)
def test_plan_refuses_contradictions_before_reading(m_csv, tmp_path, output, kw, message):
    d = str(tmp_path)
    output = output if output == "-" else f"{d}/{output}"
    if kw.get("indices") not in (None, "-"):
        kw["indices"] = f"{d}/{kw['indices']}"
    with pytest.raises(OptionError) as err:
        plan_outputs(m_csv, output, spec(), **kw)
    assert str(err.value).startswith(message.format(d=d))


def test_plan_refuses_indices_for_a_mode_without_them(m_csv, tmp_path):
    with pytest.raises(OptionError, match="--indices applies to --mode max or min, not avg"):
        plan_outputs(m_csv, str(tmp_path / "o.csv"), spec(mode="avg"), indices=str(tmp_path / "i.csv"))


def test_a_destination_that_cannot_be_written_is_an_output_error(m_csv, tmp_path):
    with pytest.raises(io.OutputError) as err:
        plan_outputs(m_csv, str(tmp_path / "missing" / "o.csv"), spec())
    assert not isinstance(err.value, OptionError)


def test_the_plan_says_what_is_written(m_csv, tmp_path):
    table = plan_outputs(m_csv, "-", spec(), terminal=True)
    assert (table.destination, table.fmt, table.formats) == (None, None, {"table"})
    piped = plan_outputs(m_csv, "-", spec(), indices=str(tmp_path / "i.npy"))
    assert (piped.destination, piped.fmt, piped.indices_fmt, piped.formats) == ("-", "csv", "npy", {"csv", "npy"})
    forced = plan_outputs(m_csv, str(tmp_path / "o.dat"), spec(), to="TSV")
    assert (forced.fmt, forced.formats) == ("tsv", {"tsv"})


def test_pool_to_a_file_loads_no_views(tmp_path):
    """rich and the views load only to show something: writing a file does without them (they cost 100 ms)."""
    import subprocess
    import sys

    (tmp_path / "m.csv").write_text(M4)
    code = (
        "import sys\n"
        "from poolcli.cli import main\n"
        "main(['pool', 'm.csv', '-o', 'o.csv'], standalone_mode=False)\n"
        "assert not {'rich', 'poolcli.render'} & set(sys.modules), 'a view was loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    assert (tmp_path / "o.csv").read_text() == "6,8\n14,16\n"


def test_batch_says_a_formats_note_once_and_a_values_note_for_every_file(tmp_path):
    from click.testing import CliRunner

    from poolcli.cli import main

    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.array([[0, 1], [2, 4]], dtype=np.uint8)).save(src / f"{name}.png")
    result = CliRunner().invoke(main, ["batch", str(src), str(tmp_path / "out"), "-m", "avg", "--to", "jpg", "-j", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert sum("JPEG is lossy" in line for line in lines) == 1
    for name in ("a", "b"):  # 1.75 rounded to 2 in each file: each is said
        assert f"poolcli: {tmp_path / 'out' / name}.jpg: values rounded half up to integers" in lines
