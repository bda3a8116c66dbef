"""What the fuzz target holds the loader to; also replayed by tests/test_fuzz_regressions.py."""

import warnings

from poolcli import io, pool2d


def check(data: bytes) -> None:
    """Loading ``data`` gives a numeric 2-D/3-D array that pools cleanly, or an InputError; nothing else."""
    try:
        loaded = io.load_bytes(data, "fuzz.bin", max_pixels=1 << 20)
    except io.InputError:
        return
    arr = loaded.array
    assert arr.ndim in (2, 3) and arr.size > 0 and arr.dtype.kind in "iuf", (arr.shape, arr.dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf in an average is NaN, as documented
            out = pool2d(arr, 2, padding="same", mode="max")
            pool2d(arr, 3, 1, padding=1, mode="avg")
    except ValueError:
        return  # a window that does not fit a tiny input: the engine says so
    assert out.dtype == arr.dtype
