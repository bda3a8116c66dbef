"""Coverage-guided fuzz target (atheris/libFuzzer) for the loader (text, NPY, images) and the engine behind it.

    pip install -e '.[fuzz]'
    python tests/fuzz/fuzz_loader.py -max_total_time=60 CORPUS_COPY tests/fuzz/corpus

Every input must give a numeric 2-D/3-D array that pools cleanly, or an InputError (see loader_check.py).
libFuzzer writes a crashing input as crash-<hash> in the working folder: copy it into
tests/data/fuzz_regressions/, where tests/test_fuzz_regressions.py replays it on every test run.
"""

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports():
    from loader_check import check


def main():
    atheris.Setup(sys.argv, lambda data: check(bytes(data)))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
