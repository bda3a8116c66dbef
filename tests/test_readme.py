"""README's library examples run as doctests, and its console sessions are checked against the CLI."""

import doctest
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_library_examples_in_readme():
    failures, tried = doctest.testfile(str(README), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 5
    assert failures == 0


def console_blocks(text):
    """Yield (command, expected output) pairs from README's ```console blocks."""
    lines = text.splitlines()
    inside = False
    cmd, out = None, []
    for line in lines:
        if line.strip() == "```console":
            inside, cmd, out = True, None, []
            continue
        if inside and line.strip() == "```":
            if cmd is not None:
                yield cmd, "\n".join(out)
            inside = False
            continue
        if inside:
            if line.startswith("$ "):
                if cmd is not None:
                    yield cmd, "\n".join(out)
                cmd, out = line[2:], []
            else:
                out.append(line)


def test_console_sessions_in_readme_are_real(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    shutil.copytree(README.parent / "sample_images", tmp_path / "sample_images")
    pairs = list(console_blocks(README.read_text()))
    assert len(pairs) >= 5
    env = dict(os.environ, NO_COLOR="1", COLUMNS="80")
    prelude = f'poolcli() {{ "{sys.executable}" -m poolcli "$@"; }}\n'
    for cmd, expected in pairs:
        proc = subprocess.run(
            ["bash", "-c", prelude + cmd + " 2>&1"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120
        )
        got = [line.rstrip() for line in proc.stdout.rstrip("\n").splitlines()]
        assert got == [line.rstrip() for line in expected.rstrip("\n").splitlines()], f"$ {cmd}"
