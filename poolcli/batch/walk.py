"""Which files a batch takes and where each result goes: the walk, the selection, the shard, the output names.

The walk streams: each folder is listed once, its entries sorted, and files
are handed on as they are found, so a folder of 100,000 files starts at once.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .. import formats
from ..formats.errors import OutputError
from ..formats.files import check_destination, same_file
from ..specs import OptionError

__all__ = [
    "Task",
    "check_folders",
    "image_extensions",
    "output_name",
    "plan_tasks",
    "volume_extensions",
    "volumes",
    "walk",
]


@dataclass(frozen=True)
class Task:
    """One input file and where its result goes."""

    src: str
    dst: str
    rel: str
    clash: str | None = None  # why its output is another input's as well (the message), else None


def image_extensions() -> tuple[str, ...]:
    """The file extensions taken without --glob (the readers' own: every image type Pillow opens), lower case with the dot."""
    return formats.batch_extensions()


def volume_extensions() -> tuple[str, ...]:
    """The file extensions taken with --volume without --glob: the formats that hold a volume (NPY, TIFF)."""
    return tuple(sorted({"." + ext for w in formats.WRITERS.values() if w.volume for ext in w.extensions}))


def check_folders(input_dir: str, output_dir: str, report: str | None = None) -> None:
    """Check the folders and the report's path before anything is read, and make the output folder.

    Raises :class:`OptionError` for an output folder that is the input folder, :class:`OutputError`
    for a report or an output folder that cannot be written.
    """
    if same_file(input_dir, output_dir):
        raise OptionError("OUTPUT_DIR is INPUT_DIR; inputs are never overwritten: choose another folder")
    if report:
        check_destination(report)  # before the output folder is made
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output_dir}: cannot create the output folder ({exc.strerror})") from None


def walk(root: str, *, recursive: bool, exclude: str | None = None) -> Iterator[str]:
    """Yield relative paths of regular files under ``root`` in sorted order, as they are listed.

    Hidden files and folders (a leading dot) are skipped, ``exclude`` (the
    output folder) is not entered, and a folder reached twice through
    symlinks is entered once.
    """
    seen = set()
    excluded = os.path.realpath(exclude) if exclude else None

    def visit(folder: str, rel: str) -> Iterator[str]:
        try:
            st = os.stat(folder)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return  # a symlink loop, or the same folder twice
        seen.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(folder, entry.name)
            try:
                is_dir = entry.is_dir()  # follows symlinks; loops stopped by `seen`
                is_file = entry.is_file()
            except OSError:
                continue
            if is_dir:
                if recursive and os.path.realpath(path) != excluded:
                    yield from visit(path, os.path.join(rel, entry.name))
            elif is_file:
                yield os.path.join(rel, entry.name)

    yield from visit(root, "")


def volumes(root: str, *, exclude: str | None = None) -> Iterator[str]:
    """Yield the names of ``root``'s files and sub-folders (each a volume of slices) in sorted order.

    Hidden entries are skipped, and so is ``exclude`` (the output folder): it must never be read as a volume.
    """
    excluded = os.path.realpath(exclude) if exclude else None
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = os.path.join(root, entry.name)
        try:
            wanted = entry.is_file() or (entry.is_dir() and os.path.realpath(path) != excluded)
        except OSError:
            continue
        if wanted and not entry.name.startswith("."):
            yield entry.name


def _selected(rel: str, globs: Sequence[str], extensions: tuple[str, ...], folder: bool = False) -> bool:
    name = os.path.basename(rel)
    if globs:
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(rel, g) for g in globs)
    return folder or os.path.splitext(name)[1].lower() in extensions


def output_name(rel: str, to: str | None, folder: bool = False) -> str:
    """The output's relative path: the input's folder and stem, with the format's extension.

    A ``folder`` of slices has no format of its own: its volume is written as NPY (every value kept) unless ``to``.
    """
    if folder:
        return f"{rel}.{to or 'npy'}"
    stem, ext = os.path.splitext(rel)
    fmt = to or ext.lower().lstrip(".")
    if fmt not in formats.OUTPUT_FORMATS:
        fmt = "png"  # an image type poolcli does not write (say .ppm) becomes PNG
    return f"{stem}.{fmt}"


def plan_tasks(
    input_dir: str,
    output_dir: str,
    *,
    globs: Sequence[str] = (),
    recursive: bool = False,
    to: str | None = None,
    shard: tuple[int, int] = (0, 1),
    volume: bool = False,
) -> Iterator[Task]:
    """Yield the tasks for this shard: file number i of the sorted selection goes to shard i % N.

    With ``volume`` the inputs are ``input_dir``'s volume files and its sub-folders, each a volume of slices.
    """
    extensions = volume_extensions() if volume else image_extensions()
    index, count = shard
    n = 0
    made: dict[str, str] = {}  # output -> the input it comes from: a.png and a.jpg may not both write a.png
    found = (
        volumes(input_dir, exclude=output_dir) if volume else walk(input_dir, recursive=recursive, exclude=output_dir)
    )
    for rel in found:
        folder = volume and os.path.isdir(os.path.join(input_dir, rel))
        if not _selected(rel, globs, extensions, folder):
            continue
        out_rel = output_name(rel, to, folder)
        first = made.setdefault(out_rel, rel)
        if n % count == index:
            dst = os.path.join(output_dir, out_rel)
            clash = None if first == rel else _clash(dst, os.path.join(input_dir, first), rel, to, folder)
            yield Task(os.path.join(input_dir, rel), dst, rel, clash)
        n += 1


def _clash(dst: str, other: str, rel: str, to: str | None, folder: bool = False) -> str:
    """Why the output ``dst`` of ``rel`` is also ``other``'s, by what was given: --to, or each input's own format."""
    ext = os.path.splitext(rel)[1]
    if to:
        why = f"--to {to} gives every output the extension .{to}"
    elif folder:
        why = "a folder's volume is written as NPY"
    elif ext.lower().lstrip(".") in formats.OUTPUT_FORMATS:
        why = "outputs take their input's extension in lower case"
    else:
        why = f"poolcli writes no {ext} files, so its output is a PNG"
    return f"its output {dst} is also {other}'s ({why}); rename one of them, or select one with --glob"
