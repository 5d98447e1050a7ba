"""Where input bytes come from: regular files only, and standard input read up to a bound.

A device (``/dev/zero``), a FIFO or a socket never ends or never starts; reading one, directly
or through a symlink, would hang or fill the memory. Standard input is read whole into memory,
so it is cut off at ``MAX_STDIN_BYTES`` (larger inputs can be passed by their path).
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Callable, Union

from aecodec.errors import InputError
from aecodec.media.kinds import SNIFF_BYTES

MAX_STDIN_BYTES = 1 << 30  # 1 GiB: more than any photo or .aec file the codecs accept in practice
STDIN = "standard input"

InputSource = Union[str, "os.PathLike[str]", bytes]
"""What the media readers take: a path, ``"-"`` for standard input, or a file's bytes."""
ReadError = Callable[[str, str], InputError]  # (reason, hint) -> the caller's one-line error


def check_regular_file(path: str | os.PathLike[str], error: ReadError, directory_hint: str = "give a file") -> int:
    """Refuse anything that is not an existing, readable regular file; returns its size in bytes.

    ``error(reason, hint)`` makes the caller's message, so each kind of input keeps its wording.
    """
    try:
        st = os.stat(path)  # follows symlinks: a link to /dev/zero is judged by /dev/zero
    except (FileNotFoundError, NotADirectoryError):
        raise error("no such file", "check the path") from None
    except PermissionError:
        raise error("permission denied", "check the file's permissions") from None
    except OSError as exc:
        raise error((exc.strerror or "cannot look it up").lower(), "check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise error("it is a directory", directory_hint)
    if not stat.S_ISREG(st.st_mode):
        raise error("it is not a regular file (a device, pipe or socket)", "save it to a file first")
    if not os.access(path, os.R_OK):
        raise error("permission denied", "check the file's permissions")
    return st.st_size


def read_regular_file(path: str | os.PathLike[str], error: ReadError, limit: int | None = None,
                      directory_hint: str = "give a file") -> bytes:
    """The bytes of a regular file (see ``check_regular_file``), refusing files over ``limit``."""
    size = check_regular_file(path, error, directory_hint)
    if limit is not None and size > limit:
        raise error(f"it is {size} bytes, more than the {_size(limit)} limit", "check the file")
    try:
        with open(path, "rb") as file:
            data = file.read() if limit is None else file.read(limit + 1)
    except PermissionError:
        raise error("permission denied", "check the file's permissions") from None
    except OSError as exc:
        raise error((exc.strerror or "read failed").lower(), "check the file") from None
    if limit is not None and len(data) > limit:  # it grew since stat
        raise error(f"it is more than the {_size(limit)} limit", "check the file")
    return data


def read_stdin(error: ReadError, limit: int = MAX_STDIN_BYTES,
               accept: Callable[[bytes], bool] | None = None, kind: str = "a supported file") -> bytes:
    """All of standard input, or ``error`` once more than ``limit`` bytes arrive.

    With ``accept``, the first bytes must satisfy it (a format's magic number) before any more
    is read, so that ``cat /dev/zero | aecodec ...`` ends at once instead of filling memory.
    """
    try:
        head = sys.stdin.buffer.read(SNIFF_BYTES)
        if head and accept is not None and not accept(head):
            raise error(f"it is not {kind}", "check what is piped in")
        rest = sys.stdin.buffer.read(limit + 1 - len(head)) if len(head) == SNIFF_BYTES else b""
    except OSError as exc:
        raise error((exc.strerror or "read failed").lower(), "check what is piped in") from None
    if len(head) + len(rest) > limit:
        raise error(f"it holds more than {_size(limit)}", "pass the file by its path instead")
    return head + rest if rest else head


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"

