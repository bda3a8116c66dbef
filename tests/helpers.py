"""Helpers several test modules share (reference.py holds the slow reference itself)."""

import os
from contextlib import contextmanager

from poolcli.engine import small
from poolcli.formats.errors import InputError
from poolcli.pipeline import run


def outcome(source, destination, spec, keep_values, streams=True):
    """A run's output bytes and notes, or the error's text (and then no output); ``streams``: whether a run that
    does not keep the values must have streamed (handed back no result)."""
    try:
        result = run(source, destination, spec, keep_values=keep_values)
    except (InputError, ValueError) as exc:
        assert not os.path.exists(destination)
        return str(exc)
    if not keep_values:
        assert (result.values.shape[0] == 0) == streams  # streamed: the result was not handed back
    with open(destination, "rb") as f:
        data = f.read()
    os.remove(destination)
    return data, [str(n) for n in result.notes]


@contextmanager
def no_small_recipes():
    """The engine without its cached recipes for small inputs: every call takes the general path."""
    saved = small.SMALL_BYTES
    small.SMALL_BYTES = -1
    try:
        yield
    finally:
        small.SMALL_BYTES = saved
