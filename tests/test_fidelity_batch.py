"""Issue 10 in batch: signals leave no worker and no temporary file, counts match the disk, the total is known early.

The runs are real processes in their own session, so that every process they start can be found afterwards in
/proc by its session id, and signals go to the main process alone (as a supervisor sends them) or to the group
(as Ctrl-C does).
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from functools import partial

import numpy as np
import pytest
from PIL import Image

from poolcli.batch import plan_tasks, run_batch
from poolcli.pipeline import PoolSpec

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory):
    """Inputs that take a worker a few tenths of a second each (random pixels, re-encoded at zlib level 9)."""
    src = tmp_path_factory.mktemp("slow")
    for i in range(12):
        pixels = np.random.default_rng(i).integers(0, 256, (1500, 1500), dtype=np.uint8)
        Image.fromarray(pixels).save(src / f"f{i:02d}.png", compress_level=0)
    return src


def in_session(sid):
    """The live (not zombie) processes of session ``sid``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(pid))
    return found


def start(src, out, *extra):
    cmd = [sys.executable, "-m", "poolcli", "batch", str(src), str(out), "-j", "2", "-k", "1", "--compress-level", "9", *extra]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and any(not n.startswith(".") for n in os.listdir(out))):
        time.sleep(0.01)
    assert len(in_session(proc.pid)) == 3, "the main process and its 2 workers, mid-run"
    return proc


def leftovers(out):
    return [n for n in os.listdir(out) if n.startswith(".") or n.endswith(".tmp")]


def outputs(out):
    return sorted(n for n in os.listdir(out) if not n.startswith("."))


def assert_whole(out):
    for name in outputs(out):
        assert np.asarray(Image.open(out / name)).shape == (1500, 1500), name


def send(proc, to, sig, times):
    for _ in range(times):
        if to == "group":
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        time.sleep(0.03)


@pytest.mark.parametrize(
    "to, sig, times",
    [("main", signal.SIGTERM, 2), ("main", signal.SIGINT, 2), ("group", signal.SIGINT, 2), ("group", signal.SIGTERM, 2),
     ("main", signal.SIGTERM, 6)],
)
def test_repeated_signals_leave_no_worker_and_no_temporary_file(slow_folder, tmp_path, to, sig, times):
    out = tmp_path / "out"
    proc = start(slow_folder, out, "--report", str(tmp_path / "r.jsonl"))
    send(proc, to, sig, times)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert in_session(proc.pid) == []  # at once: nothing is left to be reaped later
    assert leftovers(out) == []
    assert err.splitlines()[-1].startswith("poolcli: interrupted") and "Traceback" not in err
    assert len(outputs(out)) < 12
    assert_whole(out)
    # every output on disk is in the report, even those of chunks whose outcomes never came back
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(os.path.basename(line["output"]) for line in lines if line["status"] == "ok") == outputs(out)


@pytest.mark.parametrize("to, sig", [("main", signal.SIGTERM), ("main", signal.SIGINT), ("group", signal.SIGINT), ("group", signal.SIGTERM)])
def test_after_one_signal_the_summary_and_report_count_the_files_on_disk(slow_folder, tmp_path, to, sig):
    out = tmp_path / "out"
    proc = start(slow_folder, out, "--report", str(tmp_path / "r.jsonl"))
    send(proc, to, sig, 1)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert in_session(proc.pid) == [] and leftovers(out) == []
    on_disk = outputs(out)
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(os.path.basename(line["output"]) for line in lines if line["status"] == "ok") == on_disk
    assert f"poolcli: interrupted: {len(on_disk)} processed, 0 skipped, 0 failed;" in err
    assert 0 < len(on_disk) < 12
    assert_whole(out)


def test_workers_do_not_outlive_a_killed_main_process(slow_folder, tmp_path):
    out = tmp_path / "out"
    proc = start(slow_folder, out)
    proc.kill()  # SIGKILL to the main process alone: it cannot clean up, its workers must
    proc.wait(timeout=30)
    deadline = time.time() + 30
    while time.time() < deadline and in_session(proc.pid):
        time.sleep(0.05)  # each worker leaves once the file it is encoding returns to Python
    assert in_session(proc.pid) == []
    assert leftovers(out) == []
    assert_whole(out)


def test_fail_fast_reports_every_file_its_workers_wrote(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    for i in range(30):
        Image.fromarray(np.full((300, 300), i, np.uint8)).save(src / f"b{i:02d}.png")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "poolcli", "batch", str(src), str(out), "-j", "2", "--fail-fast", "--report", str(tmp_path / "r.jsonl")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(os.path.basename(line["output"]) for line in lines if line["status"] == "ok") == outputs(out)
    assert [line["input"] for line in lines if line["status"] == "failed"] == [str(src / "a.png")]
    assert len(outputs(out)) < 30


def test_the_total_is_known_before_the_work_ends(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(25):
        (src / f"m{i:02d}.csv").write_text("1,2\n3,4\n")
    plan = partial(plan_tasks, str(src), str(tmp_path / "out"), globs=["*.csv"])
    counted = threading.Event()
    totals, done_then = [], []

    def on_total(n):
        totals.append(n)
        if n == 25:
            counted.set()

    def on_outcome(o):
        if not done_then:
            # the first file is held until the count is complete: a total known only when the walk ends never is
            done_then.append(counted.wait(timeout=30))

    stats = run_batch(plan(), PoolSpec(), jobs=1, on_outcome=on_outcome, on_total=on_total, recount=plan)
    assert done_then == [True]
    assert stats.processed == 25 and totals[-1] == 25 and totals == sorted(totals)


def test_the_progress_bar_shows_the_total_and_an_eta(slow_folder, tmp_path):
    import pty

    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="120", TERM="xterm", NO_COLOR="1")
    cmd = [sys.executable, "-m", "poolcli", "batch", str(slow_folder), str(tmp_path / "out"), "-j", "2", "-k", "1"]
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    try:
        while chunk := os.read(master, 65536):
            seen += chunk
    except OSError:
        pass  # the pty closes when the process ends
    os.close(master)
    assert proc.wait(timeout=120) == 0
    frames = seen.decode(errors="replace")
    assert "/12 " in frames  # the total, known from the start
    assert re.search(r"eta \d+:\d\d:\d\d", frames), frames[-400:]  # a time, not rich's -:--:-- for an unknown total
