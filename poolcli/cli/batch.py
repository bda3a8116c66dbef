"""`poolcli batch`: every image of a folder pooled into another, in parallel, with progress and a report."""

from __future__ import annotations

import os
from typing import Any

import click

from .. import formats
from ..specs import DASK_TIMEOUT
from ..status import ExitStatus
from .options import (
    MAX_JOBS,
    channel_options,
    command,
    common_options,
    filter_options,
    given,
    output_options,
    pooling_options,
)
from .spec import check_output_options, make_spec
from .types import ShardType
from .terminal import note, stderr_console

__all__ = ["batch"]


@command()
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("output_dir", type=click.Path(file_okay=False))
@click.option(
    "--glob",
    "globs",
    multiple=True,
    metavar="PATTERN",
    help="Files to take (repeatable) [default: every image type Pillow opens].",
)
@click.option("-r", "--recursive", is_flag=True, help="Walk subfolders too, mirrored under OUTPUT_DIR.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, MAX_JOBS),
    default=None,
    help="Worker processes [default: the number of cores].",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write one JSON line per file (input, output, status, error, ms).",
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first file that fails.")
@click.option("--skip-existing", is_flag=True, help="Skip files whose output exists and is newer (resume a run).")
@click.option(
    "--shard", type=ShardType(), default=None, help="Process only share I of N of the sorted files (I from 0)."
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    default=None,
    help="Run on a Dask distributed scheduler, e.g. tcp://host:8786.",
)
@click.option(
    "--dask-timeout",
    type=click.FloatRange(0, 3600, min_open=True),
    default=DASK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to try to reach the --dask scheduler.",
)
@click.option(
    "--volume",
    is_flag=True,
    help="Pool volumes (D, H, W[, C]): INPUT_DIR's 3-D/4-D NPY and multi-page TIFF files, and each sub-folder as the "
    "volume of its slices (written as NPY unless --to tif). Windows are then K or DxHxW.",
)
@pooling_options
@filter_options
@channel_options
@output_options
@common_options
@click.pass_context
def batch(
    ctx: click.Context,
    input_dir: str,
    output_dir: str,
    globs: tuple[str, ...],
    recursive: bool,
    jobs: int | None,
    report_path: str | None,
    fail_fast: bool,
    skip_existing: bool,
    shard: tuple[int, int] | None,
    dask_address: str | None,
    dask_timeout: float,
    to: str | None,
    volume: bool,
    quiet: bool,
    **params: Any,
) -> None:
    """Pool every image in INPUT_DIR into OUTPUT_DIR, in parallel.

    Each output keeps its input's relative path and name, in the input's
    format unless --to says otherwise. A file that fails is reported and the
    run goes on (exit 1 at the end). With --volume the inputs are volumes:
    INPUT_DIR's NPY and TIFF files and its sub-folders (each a volume of
    slices, written as NPY unless --to tif). Ctrl-C or SIGTERM lets the files in
    progress finish, reports them and stops (exit 130); a second stops at once.
    """
    from functools import partial

    from ..batch import check_folders, plan_tasks, run_batch

    spec = make_spec(ctx, {**params, "volume": volume})
    if volume and recursive:
        raise click.UsageError("--volume reads each sub-folder as a volume of slices; -r does not apply")
    if volume and to is not None and not formats.writer_for(to).volume:
        raise click.UsageError(f"--to {to}: {formats.writer_for(to).label} holds no volume; {formats.volume_formats()}")
    if to is not None:
        check_output_options(ctx, {to.lower()})  # without --to each output takes its input's format, so any may act
    if given(ctx, "dask_timeout") and not dask_address:
        raise click.UsageError("--dask-timeout applies to --dask only")
    if jobs is not None and dask_address:
        raise click.UsageError(
            "-j/--jobs sets the local worker processes; with --dask the cluster's workers run the files: drop -j"
        )
    check_folders(input_dir, output_dir, report_path)
    plan = partial(
        plan_tasks,
        input_dir,
        output_dir,
        globs=globs,
        recursive=recursive,
        to=to and to.lower(),
        shard=shard or (0, 1),
        volume=volume,
    )

    console = stderr_console()
    show_progress = not quiet and console.is_terminal
    report = open(report_path, "w", encoding="utf-8") if report_path else None  # noqa: SIM115 - closed in the finally below
    progress: Any = None
    failures = 0
    said: set[object] = set()

    def say(text: object) -> None:
        console.print(f"poolcli: {text}", highlight=False, markup=False, soft_wrap=True)

    def on_outcome(o: Any) -> None:
        nonlocal failures
        if report:
            report.write(o.report_line() + "\n")
            report.flush()
        if o.status == "failed":
            failures += 1
            say(f"{o.input}: {o.error}")
        elif not quiet:
            for n in o.notes:
                # what the output format does is the same for every file: it is said once
                key = n.text if n.kind == "format" else n
                if key not in said:
                    said.add(key)
                    say(n)
        if progress is not None:
            task = progress.tasks[0]
            rate = f"{task.completed / task.elapsed:.1f} files/s" if task.elapsed else ""
            progress.update(bar, advance=1, failed=failures, rate=rate)

    def on_total(n: int) -> None:
        if progress is not None:
            progress.update(bar, total=n)

    try:
        if show_progress:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            progress = Progress(
                TextColumn("pooling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[failed]} failed"),
                console=console,
                transient=True,
            )
            progress.start()
            bar = progress.add_task("pool", total=None, failed=0, rate="")
        stats = run_batch(
            plan(),
            spec,
            jobs=jobs or os.cpu_count() or 1,
            skip_existing=skip_existing,
            fail_fast=fail_fast,
            on_outcome=on_outcome,
            on_total=on_total,
            recount=plan if progress is not None else None,
            dask_address=dask_address,
            dask_timeout=dask_timeout,
        )
    finally:
        if progress is not None:
            progress.stop()
        if report:
            report.close()
    if stats.processed + stats.skipped + stats.failed == 0 and not stats.interrupted:
        what = (
            ", ".join(globs) if globs else "volumes: NPY and TIFF files, folders of slices" if volume else "image files"
        )
        more = "" if recursive or volume else "; -r for subfolders"
        note(quiet, f"no files to pool in {input_dir} (looked for {what}{more})")
    if not quiet or stats.interrupted or stats.failed:
        say(stats.line())
    if stats.interrupted:
        ctx.exit(ExitStatus.INTERRUPTED)
    if stats.failed:
        ctx.exit(ExitStatus.FAILURE)
