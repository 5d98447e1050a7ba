"""Atomic output files: a failed or interrupted run never leaves a partial output behind.

Data goes to a hidden temporary file in the destination folder (so the final rename stays on
one file system), is flushed and fsynced, then ``os.replace``-d over the target. An existing
output is refused unless ``force``. The path ``"-"`` means standard output.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator, Union

from aecodec.errors import InputError

PathLike = Union[str, "os.PathLike[str]"]
STDOUT = "-"


def check_output(path: PathLike, force: bool = False) -> None:
    """Refuse an output path that cannot or must not be written; call it before heavy work.

    Raises:
        InputError: the output exists (and not ``force``), is a directory, or its folder is
            missing, not a folder or not writable.
    """
    if str(path) == STDOUT:
        return
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output '{path}' is a directory; give a file name")
    if path.exists() and not force:
        raise InputError(f"output '{path}' exists; pass --force to overwrite")
    folder = path.parent
    if not folder.exists():
        raise InputError(f"cannot write '{path}': '{folder}' does not exist; create it first")
    if not folder.is_dir():
        raise InputError(f"cannot write '{path}': '{folder}' is not a folder; check the path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write '{path}': permission denied; choose another folder")


def atomic_write(path: PathLike, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` all at once, or not at all (``"-"``: standard output).

    Raises:
        InputError: as ``check_output``, or the write failed (permissions, disk full).
    """
    if str(path) == STDOUT:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with atomic_output(path, force) as temp:
        with open(temp, "wb") as file:
            file.write(data)


@contextmanager
def atomic_output(path: PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    For writers that want a file name (soundfile, Pillow): the temporary name keeps the
    output's extension, since such writers pick the format from it. With ``"-"`` the finished
    file is copied to standard output (the writer then has to be told the format).

    Raises:
        InputError: as ``check_output``, or creating, syncing or renaming the file failed.
    """
    check_output(path, force)
    to_stdout = str(path) == STDOUT
    target = Path(tempfile.gettempdir(), "aecodec-stdout") if to_stdout else Path(path)
    temp = _create_temp(target)
    try:
        yield temp
        if to_stdout:
            with open(temp, "rb") as file:
                shutil.copyfileobj(file, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        _fsync(temp)
        if not force and target.exists():  # it appeared while we were working
            raise InputError(f"output '{target}' exists; pass --force to overwrite")
        os.replace(temp, target)
    except OSError as exc:
        raise _write_error("standard output" if to_stdout else str(target), exc) from None
    finally:
        with suppress(OSError):  # after os.replace there is nothing left to remove
            temp.unlink(missing_ok=True)


def _create_temp(target: Path) -> Path:
    """Create an empty, uniquely named file beside ``target`` with the same extension."""
    for _ in range(100):
        temp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask apply, so the
            # output gets the same permissions as any file the user creates (mkstemp's are 0o600).
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _write_error(str(target), exc) from None
    raise InputError(f"cannot write '{target}': no free temporary name; clean up '.*.tmp' files")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_error(target: str, exc: OSError) -> InputError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return InputError(f"cannot write '{target}': permission denied; choose another folder")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(f"cannot write '{target}': no space left on the disk; free some space")
    reason = (exc.strerror or "write failed").lower()
    return InputError(f"cannot write '{target}': {reason}; check the folder and try again")
