"""What a file command's INPUTS name: files as given, folders searched recursively, and quoted
globs (``'shots/**/*.png'``) expanded here, as a shell would not on every platform.

Found in a folder or by a glob, a file is kept only if the command reads its kind (by extension,
else by its first bytes); hidden files and folders (``.git``) are left out, and a symlink to a
folder is followed once, never round a loop. Each kept file carries its folder relative to the
folder or the glob's fixed part, so that the outputs can keep the tree. Standard library only:
``--help`` stays instant.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from aecodec.errors import InputError
from aecodec.media.detect import is_media_file


@dataclass(frozen=True)
class Wanted:
    """The kind of file a command reads: ``accepts(path)`` for a regular file, and its name in
    messages ("image or audio")."""

    accepts: Callable[[str], bool]
    name: str


@dataclass(frozen=True)
class Found:
    """One input: its path, and the folder its output goes to relative to ``-o`` (None for a file
    named on the command line, whose output lands in ``-o`` itself or is ``-o``)."""

    path: str
    tree: str | None = None


@dataclass(frozen=True)
class Expanded:
    found: list[Found]
    skipped: list[tuple[str, str]]  # (path, why) for what folders and globs held that is not read


MEDIA = Wanted(is_media_file, "image or audio")


def expand_inputs(inputs: tuple[str, ...] | list[str], wanted: Wanted = MEDIA) -> Expanded:
    """Files named as they are (their errors come when they are read); folders and globs expanded.

    Raises:
        InputError: a glob matches nothing, or folders and globs hold no file of the wanted kind.
    """
    found: list[Found] = []
    skipped: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()  # files reached twice (a glob and a folder, a symlink) go once
    searched = []
    for arg in inputs:
        if arg == "-" or not _is_dir(arg) and (os.path.lexists(arg) or not _is_glob(arg)):
            found.append(Found(arg))
            continue
        searched.append(arg)
        base, paths = (arg, _walk(arg, skipped)) if _is_dir(arg) else _glob(arg, skipped)
        for path in paths:
            key = _regular(path)
            if key is None:
                skipped.append((path, "not a regular file"))
            elif key not in seen:
                seen.add(key)
                if wanted.accepts(path):
                    found.append(Found(path, os.path.relpath(os.path.dirname(path) or ".", base)))
                else:
                    skipped.append((path, f"not an {wanted.name} file"))
    if not found:
        where = ", ".join(f"'{a}'" for a in searched)
        others = f" ({len(skipped)} other file{'s' * (len(skipped) != 1)} skipped)" if skipped else ""
        raise InputError(f"no {wanted.name} files in {where}{others}; check the path")
    return Expanded(found, skipped)


def _is_glob(arg: str) -> bool:
    """Whether ``arg`` is a pattern: ``*``, ``?`` or a ``[...]`` set (a lone ``[`` is a plain
    character, as in glob itself, and an escape sequence in a name holds one)."""
    return bool(re.search(r"[*?]|\[[^/]*\]", arg))


def _is_dir(path: str) -> bool:
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def _regular(path: str) -> tuple[int, int] | None:
    """(device, inode) of a regular file (after symlinks); None for anything else: a FIFO or a
    device in a folder is never opened, not even to sniff it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _walk(top: str, skipped: list[tuple[str, str]]) -> Iterator[str]:
    """Every file under ``top``, sorted, hidden names left out; a symlink to a folder is followed
    unless it leads back up the tree, and no folder is entered twice, so nothing loops."""
    entered: set[tuple[int, int]] = set()

    def unreadable(error: OSError) -> None:
        skipped.append((error.filename, f"cannot be read ({(error.strerror or 'failed').lower()})"))

    for folder, dirs, files in os.walk(top, followlinks=True, onerror=unreadable):
        try:
            st = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in entered:
            dirs[:] = []
            continue
        entered.add((st.st_dev, st.st_ino))
        here = os.path.realpath(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _is_above(os.path.join(folder, d), here))
        yield from (os.path.join(folder, f) for f in sorted(files) if not f.startswith("."))


def _is_above(link: str, here: str) -> bool:
    """Whether folder ``link`` is ``here`` or one of its parents, once symlinks are resolved: a
    symlink back up the tree, whose contents the walk has seen or would see through a loop."""
    target = os.path.realpath(link)
    return here == target or here.startswith(target.rstrip(os.sep) + os.sep)


def _glob(pattern: str, skipped: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """(the pattern's fixed leading folder, the files it matches; matched folders searched).

    ``**`` (any number of folders) is matched on a loop-safe walk of the fixed folder: Python's
    own recursive glob follows symlinked folders round and round.
    """
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) - 1 and not _is_glob(parts[fixed]):
        fixed += 1
    base, rest = os.path.join(*parts[:fixed]) if fixed else ".", parts[fixed:]
    if "**" in rest:
        matches = [p for p in _walk(base, skipped) if _matches(rest, Path(os.path.relpath(p, base)).parts)]
    else:
        matches = sorted(glob.glob(pattern))
    if not matches:
        raise InputError(f"no file matches '{pattern}'; check the pattern")
    paths = []
    for match in matches:
        paths.extend(_walk(match, skipped) if _is_dir(match) else [match])
    return base, paths


def _matches(pattern: tuple[str, ...], names: tuple[str, ...]) -> bool:
    """Whether path components ``names`` match glob components ``pattern`` (``**``: zero or more)."""
    if not pattern:
        return not names
    if pattern[0] == "**":
        return _matches(pattern[1:], names) or bool(names) and _matches(pattern, names[1:])
    return bool(names) and fnmatch.fnmatchcase(names[0], pattern[0]) and _matches(pattern[1:], names[1:])
