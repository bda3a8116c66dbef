"""Pool whole folders: walk, shard, run in worker processes (or on a Dask cluster), report.

walk      which files, and where each result goes (the walk streams: a folder of 100,000 files starts at once)
outcome   one file: process_file runs the pipeline on it; its Outcome, and the run's BatchStats
local     worker processes (or this one, with -j 1), and how a run stops on Ctrl-C or SIGTERM
dask      the same on a Dask distributed cluster
run       run_batch, over all of these
"""

from .outcome import BatchStats, Outcome, process_file
from .run import run_batch
from .walk import Task, check_folders, image_extensions, output_name, plan_tasks, walk

__all__ = [
    "BatchStats",
    "Outcome",
    "Task",
    "check_folders",
    "image_extensions",
    "output_name",
    "plan_tasks",
    "process_file",
    "run_batch",
    "walk",
]
