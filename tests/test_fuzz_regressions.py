"""Replay the fuzz corpus and every crash the fuzzer ever found: each must load cleanly or fail with InputError."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "fuzz"))
from loader_check import check  # noqa: E402

CASES = sorted((HERE / "fuzz" / "corpus").iterdir()) + sorted((HERE / "data" / "fuzz_regressions").glob("crash-*"))


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_replay(path):
    check(path.read_bytes())


def test_there_is_something_to_replay():
    assert len(CASES) >= 10
