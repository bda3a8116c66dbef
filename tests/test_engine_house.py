"""Issue 11, the engine's part: the table of modes, the default pool size, the engine's threads, its walls."""

import ast
import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import poolcli
from poolcli import get_threads, output_shape, pool2d, set_threads, using_threads, window_cells
from poolcli.engine import DEFAULT_SIZE, MODE_NAMES, MODES, REDUCTIONS, Reduction, reduction

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_pool2d  # noqa: E402

ENGINE = Path(poolcli.__file__).parent / "engine"
#: The p each mode that takes one is tried with.
PARAMETERS = {"norm_type": 2.5}


# --------------------------------------------------------------------------- the table of modes


@pytest.mark.parametrize("name", MODES)
def test_every_mode_matches_the_reference(name):
    # a new record needs its reference: ref_pool2d refuses a mode it does not know
    rec = REDUCTIONS[name]
    x = np.random.default_rng(11).integers(0, 50, (7, 8, 2)).astype(np.float64)
    kw = dict(size=3, stride=2, mode=name, ceil_mode=True)
    if rec.parameter:
        kw[rec.parameter] = PARAMETERS[rec.parameter]
    got, want = pool2d(x, **kw), ref_pool2d(x, **kw)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_names_and_aliases():
    assert reduction("Mean") is reduction("average") is REDUCTIONS["avg"]
    assert reduction("MAX").name == "max"
    assert MODE_NAMES == MODES + ("average", "mean")
    with pytest.raises(ValueError, match=r"unknown mode 'median'; choose one of max, avg, min, sum, lp \(or 'average'/'mean' for avg\)"):
        reduction("median")
    with pytest.raises(ValueError, match="mode must be one of"):
        reduction(None)


@pytest.mark.parametrize("field, value", [
    ("pad", "zeros"), ("ufunc", "multiply"), ("accumulate", "wide"), ("finish", "sqrt"), ("prepare", "square"),
    ("parameter", "p"), ("window_args", ("padding", "groups")),
])
def test_a_misspelt_record_is_refused_when_made(field, value):
    fields = dict(vars(REDUCTIONS["sum"]), name="new")
    fields[field] = value
    with pytest.raises(ValueError, match=f"mode 'new': "):
        Reduction(**fields)


def test_indices_need_a_value_that_is_one_of_the_cells():
    with pytest.raises(ValueError, match="indices need"):
        Reduction(**dict(vars(REDUCTIONS["sum"]), indices=True))


def test_the_cli_takes_its_modes_and_their_help_from_the_table():
    from poolcli.cli.types import MODE_CHOICE

    assert list(MODE_CHOICE.choices) == list(MODE_NAMES)
    result = CliRunner().invoke(poolcli.cli.main, ["pool", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    for rec in REDUCTIONS.values():
        assert f"{rec.name}{' (also ' + ', '.join(rec.aliases) + ')' if rec.aliases else ''}: {rec.help}" in text


def test_indices_and_count_pad_messages_list_the_modes_from_the_table():
    def stderr(args):
        result = CliRunner().invoke(poolcli.cli.main, ["pool", "-", *args], input="1,2\n3,4\n")
        assert result.exit_code == 2
        return result.stderr

    assert "--indices applies to --mode max or min, not sum" in stderr(["-m", "sum", "--indices", "i.csv"])
    assert "--count-pad/--no-count-pad applies to --mode avg only" in stderr(["-m", "sum", "-p", "1", "-k", "3", "--count-pad"])


# --------------------------------------------------------------------------- the default pool size


def test_the_default_size_is_stated_once_and_means_2():
    from poolcli.pipeline import PoolSpec

    x = np.arange(36).reshape(6, 6)
    assert DEFAULT_SIZE == 2 and PoolSpec().window.size == DEFAULT_SIZE
    np.testing.assert_array_equal(pool2d(x), pool2d(x, 2))
    assert output_shape((6, 6)) == (3, 3)
    assert window_cells((4, 4)) == window_cells((4, 4), 2)
    assert "-k, --size K|HxW|DxHxW Pool window K or HxW (DxHxW with --volume)." in " ".join(
        CliRunner().invoke(poolcli.cli.main, ["pool", "--help"]).output.split()
    ) and "(-k 1x2 keeps it 2-D). [default: 2]" in " ".join(CliRunner().invoke(poolcli.cli.main, ["pool", "--help"]).output.split())


@pytest.mark.parametrize("size", [2, 3, (2, 2)])
def test_output_size_refuses_any_size_given(size):
    x = np.ones((4, 4))
    for call in (lambda: pool2d(x, size, output_size=1), lambda: output_shape((4, 4), size, output_size=1),
                 lambda: window_cells((4, 4), size, output_size=1)):
        with pytest.raises(ValueError, match="output_size sets the windows itself; it cannot be combined with size"):
            call()


def test_output_size_takes_padding_and_dilation_that_change_nothing():
    x = np.arange(16.0).reshape(4, 4)
    want = pool2d(x, output_size=2)
    np.testing.assert_array_equal(pool2d(x, padding=0, dilation=(1, 1), output_size=2), want)
    for kw in (dict(padding=1), dict(padding="same"), dict(dilation=2), dict(ceil_mode=True), dict(stride=1)):
        with pytest.raises(ValueError, match=f"cannot be combined with {next(iter(kw))}"):
            pool2d(x, output_size=2, **kw)


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_set_threads_refuses(bad):
    with pytest.raises(ValueError, match="threads must be an int >= 1 or None"):
        set_threads(bad)


def test_threads_set_and_restored():
    with using_threads(3):
        assert get_threads() == 3
        with using_threads(None):
            assert get_threads() == (os.cpu_count() or 1)
        assert get_threads() == 3
    assert get_threads() == (os.cpu_count() or 1)


def test_the_engine_uses_the_threads_set(monkeypatch):
    from poolcli.engine import banded, small, threads

    made = []
    real = concurrent.futures.ThreadPoolExecutor

    def spy(max_workers):
        made.append(max_workers)
        return real(max_workers)

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", spy)
    monkeypatch.setattr(banded, "_BAND_BYTES", 1)
    monkeypatch.setattr(threads, "_THREAD_MIN_ELEMENTS", 1)
    monkeypatch.setattr(small, "SMALL_BYTES", -1)  # an 8x8 input otherwise takes the small-input recipe
    x = np.arange(64.0).reshape(8, 8)
    with using_threads(1):
        one = pool2d(x, 3, 1, mode="avg")
    assert made == []
    with using_threads(3):
        three = pool2d(x, 3, 1, mode="avg")
        poolcli.conv2d(x, np.ones((3, 3)))
    assert made == [3, 3]
    np.testing.assert_array_equal(one, three)


def test_a_batch_file_sets_the_threads_of_the_process_that_runs_it(tmp_path):
    from poolcli.batch import Task, process_file
    from poolcli.pipeline import PoolSpec

    np.save(tmp_path / "a.npy", np.ones((4, 4)))
    with using_threads(3):
        outcome = process_file(Task(str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "a.npy"), PoolSpec(), False, 1)
        assert outcome.status == "ok" and get_threads() == 1


def test_dask_workers_run_each_file_on_one_engine_thread(tmp_path):
    distributed = pytest.importorskip("distributed")
    src = tmp_path / "in"
    src.mkdir()
    np.save(src / "a.npy", np.ones((4, 4)))
    with using_threads(3):
        # an in-process worker: its threads are this process's, so what the task set shows here
        with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None) as cluster:
            result = CliRunner().invoke(poolcli.cli.main, ["batch", str(src), str(tmp_path / "out"), "--glob", "*.npy",
                                                           "--dask", cluster.scheduler_address, "-q"])
            assert result.exit_code == 0, result.output
            assert get_threads() == 1


# --------------------------------------------------------------------------- walls


def test_the_engine_imports_nothing_of_the_project_and_never_prints():
    for path in ENGINE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from outside the engine"
                assert node.level == 1 or not (node.module or "").startswith("poolcli"), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("poolcli") for a in node.names), path.name
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path.name} prints"


def test_the_table_of_modes_and_the_shapes_load_without_numpy():
    code = (
        "import sys, poolcli.cli\n"
        "from poolcli.engine import MODES, output_shape, window_cells\n"
        "assert output_shape((5, 5), 2, padding='same') == (3, 3) and len(window_cells((4, 4))[0]) == 2\n"
        "assert 'numpy' not in sys.modules, 'numpy was loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=str(ENGINE.parent.parent)))
