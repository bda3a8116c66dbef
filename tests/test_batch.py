"""poolcli batch: selection, outputs, faults, resume, shards, interruption, the report, Dask."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from poolcli import pool2d
from poolcli.batch import plan_tasks, walk
from poolcli.cli import main


def make_png(path, seed, shape=(20, 30)):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    arrays = {
        "a.png": make_png(src / "a.png", 1),
        "b.png": make_png(src / "b.png", 2),
        "sub/c.png": make_png(src / "sub" / "c.png", 3),
        "sub/deeper/d.png": make_png(src / "sub" / "deeper" / "d.png", 4),
    }
    (src / "corrupt.png").write_bytes((src / "a.png").read_bytes()[:60])
    (src / "zero.png").write_bytes(b"")
    os.symlink("/proc/self/mem", src / "unreadable.png")  # stats as a file, reading fails (even as root)
    (src / ".hidden.png").write_bytes((src / "a.png").read_bytes())
    (src / ".hiddendir").mkdir()
    make_png(src / ".hiddendir" / "e.png", 5)
    (src / "notes.csv").write_text("1,2\n3,4\n")
    os.symlink(src, src / "sub" / "loop")  # a symlink loop
    return src, arrays


def run(args):
    return CliRunner().invoke(main, ["batch", *args])


def test_pools_every_image_mirrors_folders_and_reports_faults(folder, tmp_path):
    src, arrays = folder
    out = tmp_path / "out"
    result = run([str(src), str(out), "-r", "-j", "2", "--report", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 1
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["a.png", "b.png", "sub/c.png", "sub/deeper/d.png"]
    for rel, arr in arrays.items():
        assert np.array_equal(np.asarray(Image.open(out / rel)), pool2d(arr, 2)), rel
    err = result.stderr
    assert f"poolcli: {src / 'zero.png'}: is empty" in err
    assert f"poolcli: {src / 'corrupt.png'}: damaged or truncated image" in err
    assert f"poolcli: {src / 'unreadable.png'}: cannot read: Input/output error" in err
    assert "poolcli: 4 processed, 0 skipped, 3 failed;" in err
    assert "Traceback" not in err
    lines = [json.loads(l) for l in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(lines) == 7
    assert {l["status"] for l in lines} == {"ok", "failed"}
    assert all(set(l) == {"input", "output", "status", "error", "ms"} and l["ms"] >= 0 for l in lines)
    assert {l["input"] for l in lines if l["status"] == "ok"} == {str(src / r) for r in arrays}
    # inputs untouched
    assert np.array_equal(np.asarray(Image.open(src / "a.png")), arrays["a.png"])


def test_not_recursive_takes_the_top_folder_only(folder, tmp_path):
    src, _ = folder
    result = run([str(src), str(tmp_path / "o"), "-j", "1", "--glob", "[ab].png"])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "o")) == ["a.png", "b.png"]


def test_output_inside_input_is_not_scanned(folder):
    src, _ = folder
    out = src / "pooled"
    first = run([str(src), str(out), "-r", "--glob", "*.png", "-j", "1"])
    second = run([str(src), str(out), "-r", "--glob", "*.png", "-j", "1"])
    assert "4 processed" in first.stderr and "4 processed" in second.stderr
    assert not (out / "pooled").exists()


def test_text_outputs_and_glob_for_text(folder, tmp_path):
    src, arrays = folder
    out = tmp_path / "t"
    result = run([str(src), str(out), "--glob", "*.png", "--glob", "*.csv", "-t", "csv", "-j", "1", "-q"])
    a = np.loadtxt(out / "a.csv", delimiter=",")
    assert np.array_equal(a, pool2d(arrays["a.png"], 2))
    assert (out / "notes.csv").read_text() == "4\n"
    assert result.exit_code == 1  # the broken files still fail


def test_several_channels_to_text_fails_with_the_reason(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (4, 4)).save(src / "rgb.png")
    result = run([str(src), str(tmp_path / "o"), "-t", "csv", "-j", "1"])
    assert result.exit_code == 1
    assert "the result has 3 channels and CSV holds one matrix" in result.stderr


def test_skip_existing_resumes(folder, tmp_path):
    src, _ = folder
    out = tmp_path / "o"
    run([str(src), str(out), "-r", "--glob", "*.png", "-j", "1", "-q"])
    os.unlink(out / "b.png")
    result = run([str(src), str(out), "-r", "--glob", "[abcd].png", "-j", "1", "--skip-existing"])
    assert "1 processed, 3 skipped, 0 failed" in result.stderr
    assert (out / "b.png").exists()
    # an input newer than its output is done again
    later = time.time() + 10
    os.utime(src / "a.png", (later, later))
    result = run([str(src), str(out), "-r", "--glob", "[abcd].png", "-j", "1", "--skip-existing"])
    assert "1 processed, 3 skipped, 0 failed" in result.stderr


def test_fail_fast_stops_at_the_first_failure(folder, tmp_path):
    src, _ = folder
    result = run([str(src), str(tmp_path / "o"), "-j", "1", "--fail-fast"])
    assert result.exit_code == 1
    # sorted order: a.png, b.png, corrupt.png -> stop there
    assert "2 processed, 0 skipped, 1 failed" in result.stderr


def test_shards_partition_the_files(folder, tmp_path):
    src, _ = folder
    every = [t.rel for t in plan_tasks(str(src), str(tmp_path / "o"), recursive=True)]
    shares = [[t.rel for t in plan_tasks(str(src), str(tmp_path / "o"), recursive=True, shard=(i, 3))] for i in range(3)]
    assert sorted(sum(shares, [])) == sorted(every)
    assert sum(len(s) for s in shares) == len(every)  # no overlap
    assert all(shares)
    result = run([str(src), str(tmp_path / "o"), "-r", "--shard", "1/3", "-j", "1", "-q"])
    failing = [r for r in shares[1] if r.startswith(("corrupt", "zero", "unreadable"))]
    assert result.exit_code == (1 if failing else 0)
    assert sorted(str(p.relative_to(tmp_path / "o")) for p in (tmp_path / "o").rglob("*.png")) == sorted(
        r for r in shares[1] if not r.startswith(("corrupt", "zero", "unreadable"))
    )


def test_bad_shard_is_a_usage_error(folder, tmp_path):
    src, _ = folder
    result = run([str(src), str(tmp_path / "o"), "--shard", "3/3"])
    assert result.exit_code == 2 and "I must be 0..N-1" in result.stderr


def test_walk_is_sorted_skips_hidden_and_loops(folder):
    src, _ = folder
    rels = list(walk(str(src), recursive=True))
    assert rels == sorted(rels, key=lambda r: r.split(os.sep))
    assert not any("hidden" in r for r in rels)
    assert sum(1 for r in rels if r.endswith("c.png")) == 1


def _pool_cmd(src, out, *extra, jobs=2):
    return [sys.executable, "-m", "poolcli", "batch", str(src), str(out), "-j", str(jobs), *extra]


def _big_folder(tmp_path, n=60):
    src = tmp_path / "big"
    for i in range(n):
        make_png(src / f"f{i:03d}.png", i, shape=(700, 700))
    return src


@pytest.mark.parametrize("sig, jobs", [(signal.SIGINT, 2), (signal.SIGTERM, 2), (signal.SIGINT, 1), (signal.SIGTERM, 1)])
def test_interrupt_leaves_no_partial_files(tmp_path, sig, jobs):
    src = _big_folder(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(_pool_cmd(src, out, "--compress-level", "9", jobs=jobs), stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and len(os.listdir(out)) >= 3):
        time.sleep(0.02)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted:" in err and "Traceback" not in err
    names = os.listdir(out)
    assert not [n for n in names if n.startswith(".")], names  # no temporary files
    assert len(names) < 60
    for name in names:  # every output that exists is whole
        assert np.asarray(Image.open(out / name)).shape == (350, 350)


def test_kill_9_then_skip_existing_completes_byte_for_byte(tmp_path):
    src = _big_folder(tmp_path, n=30)
    clean = tmp_path / "clean"
    subprocess.run(_pool_cmd(src, clean, "-q"), check=True, timeout=300)
    out = tmp_path / "out"
    proc = subprocess.Popen(_pool_cmd(src, out, "-q"), start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and len(os.listdir(out)) >= 3):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for leftover in [n for n in os.listdir(out) if n.startswith(".")]:
        os.unlink(out / leftover)  # a killed process cannot clean up; its temporaries are hidden and never outputs
    subprocess.run(_pool_cmd(src, out, "-q", "--skip-existing"), check=True, timeout=300)
    assert sorted(os.listdir(out)) == sorted(os.listdir(clean))
    for name in os.listdir(clean):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name


def test_dask_local_cluster(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    src, arrays = folder
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run([str(src), str(out), "-r", "--dask", cluster.scheduler_address, "--report", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 1  # the broken files fail there too
    assert "poolcli: 4 processed, 0 skipped, 3 failed;" in result.stderr
    for rel, arr in arrays.items():
        assert np.array_equal(np.asarray(Image.open(out / rel)), pool2d(arr, 2)), rel
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 7


def test_dask_unreachable_scheduler_is_one_line(folder, tmp_path):
    pytest.importorskip("distributed")
    src, _ = folder
    result = run([str(src), str(tmp_path / "o"), "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "0.5"])
    assert result.exit_code == 1
    assert "--dask tcp://127.0.0.1:9: cannot reach the scheduler within 0.5 s" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_dask_timeout_without_dask_is_a_usage_error(folder, tmp_path):
    src, _ = folder
    result = run([str(src), str(tmp_path / "o"), "--dask-timeout", "3"])
    assert result.exit_code == 2
    assert "--dask-timeout applies to --dask only" in result.stderr


def test_two_inputs_with_one_output_name_are_refused(tmp_path):
    src = tmp_path / "in"
    arr = make_png(src / "a.png", 1)
    Image.fromarray(arr).save(src / "a.bmp")
    result = run([str(src), str(tmp_path / "o"), "-t", "png", "-j", "1"])
    assert result.exit_code == 1
    assert f"poolcli: {src / 'a.png'}: its output {tmp_path / 'o' / 'a.png'} is also {src / 'a.bmp'}'s" in result.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o" / "a.png")), pool2d(arr, 2))  # the first one wins


def test_a_dying_worker_fails_its_files_cleanly(tmp_path):
    src = _big_folder(tmp_path, n=40)
    out = tmp_path / "out"
    proc = subprocess.Popen(_pool_cmd(src, out), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    children = []
    while time.time() < deadline and not children:
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            pass
        if children and not (out.exists() and os.listdir(out)):
            children = []  # wait until the workers are writing
        time.sleep(0.01)
    os.kill(children[0], signal.SIGKILL)  # as the out-of-memory killer would
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "a worker process died (killed, or out of memory?)" in err
    assert "Traceback" not in err
    assert not [n for n in os.listdir(out) if n.startswith(".")]
    for name in os.listdir(out):
        assert np.asarray(Image.open(out / name)).shape == (350, 350)
