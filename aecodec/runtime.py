"""Process-wide settings of the command-line tool (not applied when aecodec is used as a library)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 64 << 20


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed memory instead of returning it to the kernel.

    By default every large block (activations of a few MiB and up) is mmap'ed on allocation and
    unmapped on free, so the next tensor of the same size is page-faulted and zeroed by the
    kernel all over again. Blocks up to 64 MiB (every activation of a 768x512 photo) now stay in
    the heap, and up to 64 MiB of free heap is kept: about 10 % off encoding and decoding such
    photos on 2 cores. Larger blocks (the tiles of huge images) still go back at once: keeping
    up to 1 GiB was faster still but took a 6000x4000 encode past 3 GB of peak RSS. A no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
    except (OSError, AttributeError):  # musl and others have no mallopt: keep their defaults
        return
