"""Atomic output files: a failed or interrupted run never leaves a partial output behind.

On Linux, data goes to an anonymous file (``O_TMPFILE``) in the destination folder: it has no
name until it is complete, flushed and fsynced, and is then linked in under the output's name
(``linkat`` through ``/proc/self/fd``; with ``force`` under a hidden name first, then renamed
over the old file). Even a killed process (SIGKILL, the out-of-memory killer) leaves nothing,
since the kernel frees a file without a name with its last descriptor. Where ``O_TMPFILE`` is
missing (other systems, some file systems) the data goes to a hidden temporary file beside the
output instead, which is ``os.replace``-d over it or removed on any error or signal the
process survives (aecodec.runtime turns SIGTERM and SIGHUP into such an error).

An existing output, or a symlink there even if dangling, is refused unless ``force``; devices,
pipes and sockets are never replaced. The path ``"-"`` means standard output.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator, Union

from aecodec.errors import InputError

PathLike = Union[str, "os.PathLike[str]"]
STDOUT = "-"
_PROC_FD = Path("/proc/self/fd")


def check_output(path: PathLike, force: bool = False) -> None:
    """Refuse an output path that cannot or must not be written; call it before heavy work.

    Raises:
        InputError: the output exists (and not ``force``; a dangling symlink counts), is a
            directory, a device, FIFO or socket (even with ``force``), or its folder is missing,
            not a folder or not writable.
    """
    if str(path) == STDOUT:
        return
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output '{path}' is a directory; give a file name")
    if path.is_symlink() or path.exists():
        if not force:
            raise InputError(f"output '{path}' exists; pass --force to overwrite")
        _refuse_special(path)
    folder = path.parent
    if not folder.exists():
        raise InputError(f"cannot write '{path}': '{folder}' does not exist; create it first")
    if not folder.is_dir():
        raise InputError(f"cannot write '{path}': '{folder}' is not a folder; check the path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write '{path}': permission denied; choose another folder")


def _refuse_special(path: Path) -> None:
    """--force replaces files, never what a device node, FIFO or socket (or a link to one) is."""
    with suppress(OSError):  # a dangling link or a race: nothing special to protect
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError(f"output '{path}' is not a regular file (a device, pipe or socket); "
                             "give a file name, or '-' for standard output")


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

    For writers that want a file name (soundfile, Pillow): the path is ``/proc/self/fd/N`` of
    the anonymous file, or, without ``O_TMPFILE``, a hidden file beside the output that keeps
    its extension (tell such writers the format: the ``/proc`` path has no extension). With
    ``"-"`` the finished file is copied to standard output.

    Raises:
        InputError: as ``check_output``, or creating, syncing or renaming the file failed.
    """
    check_output(path, force)
    to_stdout = str(path) == STDOUT
    target = Path(tempfile.gettempdir(), "aecodec-stdout") if to_stdout else Path(path)
    fd = _anonymous_file(target.parent)
    temp = _PROC_FD / str(fd) if fd is not None else _create_temp(target)
    try:
        yield temp
        if to_stdout:
            with open(temp, "rb") as file:
                shutil.copyfileobj(file, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        if fd is not None:
            os.fsync(fd)
            _link(temp, target, force)
            return
        _fsync(temp)
        if not force and os.path.lexists(target):  # it appeared while we were working
            raise InputError(f"output '{target}' exists; pass --force to overwrite")
        _refuse_special(target)
        os.replace(temp, target)
    except OSError as exc:
        raise _write_error("standard output" if to_stdout else str(target), exc) from None
    finally:
        if fd is not None:
            os.close(fd)  # the kernel drops the file unless it was linked in
        else:
            with suppress(OSError):  # after os.replace there is nothing left to remove
                temp.unlink(missing_ok=True)


def _anonymous_file(folder: Path) -> int | None:
    """A descriptor of a nameless file in ``folder`` that writers can reopen by its /proc path,
    or None where the system or file system cannot make one (the caller falls back to a name)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not _PROC_FD.is_dir():
        return None
    try:
        # No O_EXCL: that would forbid linking it in. 0o666 lets the umask apply, as for any file.
        fd = os.open(folder, flag | os.O_RDWR, 0o666)
    except OSError:  # EOPNOTSUPP, EISDIR (old kernels), EACCES, EROFS...: the fallback says why
        return None
    if not (_PROC_FD / str(fd)).exists():
        os.close(fd)
        return None
    return fd


def _link(temp: Path, target: Path, force: bool) -> None:
    """Give the anonymous file ``temp`` the name ``target``: without ``force`` a link that fails
    if the name is taken (so an output that appeared meanwhile is kept), with ``force`` a link
    under a hidden name and a rename over the old file."""
    if not force:
        try:
            _link_in(temp, target)
        except FileExistsError:
            raise InputError(f"output '{target}' exists; pass --force to overwrite") from None
        return
    _refuse_special(target)
    for _ in range(100):
        hidden = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            _link_in(temp, hidden)
            break
        except FileExistsError:
            continue
    else:
        raise InputError(f"cannot write '{target}': no free temporary name; clean up '.*.tmp' files")
    try:
        os.replace(hidden, target)
    except BaseException:
        with suppress(OSError):
            hidden.unlink()
        raise


def _link_in(temp: Path, name: Path) -> None:
    """linkat(AT_FDCWD, "/proc/self/fd/N", folder, name, AT_SYMLINK_FOLLOW). A directory
    descriptor makes os.link call linkat, which follows the /proc link to the file; plain link()
    would try to link the /proc link itself and fail with EXDEV."""
    folder = os.open(name.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(temp, name.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


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
