"""Process-wide settings of the command-line tool (``aecodec.cli.main.run``), never applied when
aecodec is used as a library."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import signal
import sys
import types

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


_META = "torch._meta_registrations"
# Commands that run eager inference only: they never trace, compile or make meta tensors.
INFERENCE_COMMANDS = frozenset({"encode", "decode", "denoise", "inpaint"})


def defer_meta_registrations() -> None:
    """Make ``import torch`` skip registering its Python meta kernels until something asks for them.

    ``torch/__init__`` imports ``torch._meta_registrations``, which pulls in ``torch._decomp``,
    ``torch._prims`` and ``torch._refs``: about 0.4 s of every start-up here (a third of
    ``import torch``), spent on kernels for meta and fake tensors, which only tracing and
    ``torch.compile`` use. Eager CPU and CUDA inference dispatch to compiled kernels and never
    reach them. A placeholder module stands in; the first attribute anyone reads from it loads
    the real module, registrations and all. A no-op once torch is imported (library use, tests).
    """
    if "torch" in sys.modules or _META in sys.modules:
        return
    placeholder = types.ModuleType(_META)

    def load_real(attr: str):
        if sys.modules.get(_META) is placeholder:
            del sys.modules[_META]
        return getattr(importlib.import_module(_META), attr)

    placeholder.__getattr__ = load_real
    sys.modules[_META] = placeholder


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` (nor a batch's per-file ``except AecError``) swallows it: the stack
    unwinds through every ``finally``, which removes partial outputs, up to the CLI's edge."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def end_cleanly_on_signals() -> None:
    """Let SIGTERM (kill, systemd, a job scheduler's timeout) and SIGHUP (a closed terminal)
    clean up as Ctrl-C does, instead of dying with temporary files in place.

    Python runs the handler between bytecodes, so a long torch call finishes first. A second
    signal while the first one unwinds is ignored, so that cleanup itself is not cut short.
    """
    raised = []

    def handler(signum, frame):
        if not raised:
            raised.append(signum)
            raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def exit_now(code: int | str | None) -> None:
    """Flush the standard streams and end the process without the interpreter's teardown.

    After ``import torch``, a normal exit spends about 0.5 s here (measured on 2 cores) on
    garbage-collecting a thousand modules and running library destructors, longer than
    decoding a photo. Call it only when the command is done: outputs written, closed and renamed.
    ``code`` is a ``SystemExit`` code: None is success, a string is printed as the error.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    code = code or 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # the reader of a pipe went away: the output is incomplete
        code = code or 1
    os._exit(code)
