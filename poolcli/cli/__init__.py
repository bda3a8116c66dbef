"""The `poolcli` command line: commands that parse options, call the library, and print.

    main      the group, and the one edge where errors become a line on stderr and an exit status
    options   the options the commands share (defaults from the specs, help), declared once
    types     the types of their values (K or HxW, paddings, delimiters, regions, shards, choices)
    spec      the spec of a run from the options, refusing options that contradict each other
    terminal  notes on stderr, consoles for the views, a closed pipe met quietly
    pool      `poolcli pool`
    batch     `poolcli batch`
    views     show, explain, summary, demo, filters

Nothing here is imported by the library; the entry point is :func:`main`.
"""

from .main import main

__all__ = ["main"]
