"""What every file-to-file command shares: output planning, the batch loop and reading an
input. No torch or numpy here: `--help` stays instant."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import click

from aecodec.cli.common import fail, printable
from aecodec.errors import AecError, InputError


def plan_outputs(inputs: tuple[str, ...], output: str, suffix: str | Callable[[str], str]) -> list[tuple[str, str]]:
    """One input -> the named file; many inputs (or an existing folder) -> files in that folder,
    named by the input's stem and ``suffix`` (a string, or a function of the input path)."""
    if not inputs:
        raise InputError("no input files given; e.g. 'aecodec encode photo.png -o photo.aec'")
    if not output:
        raise InputError("the output name is empty; give a file or folder with -o")
    out = Path(output)
    try:
        is_dir = out.is_dir()
    except OSError as e:  # a name too long for the file system, a loop of links, ...
        raise InputError(f"cannot use output '{output}': {e.strerror}; give another name with -o") from None
    if len(inputs) == 1 and not is_dir:
        refuse_same_file(inputs[0], output)
        return [(inputs[0], output)]
    if output == "-":
        raise InputError("several inputs cannot go to standard output; give a folder with -o")
    if not is_dir:
        raise InputError(f"output folder '{output}' does not exist; create it or give one input")
    suffix_of = suffix if callable(suffix) else lambda _: suffix
    pairs = [(i, str(out / (Path(i).stem + suffix_of(i)))) for i in inputs]
    names = [p for _, p in pairs]
    if len(set(names)) != len(names):
        raise InputError("two inputs have the same name stem and would overwrite each other; rename one")
    for src, dst in pairs:
        refuse_same_file(src, dst)
    return pairs


def refuse_same_file(src: str, dst: str) -> None:
    """Refuse an output that is one of the inputs, by name, symlink or hard link (same device
    and inode): --force would replace the input with its own result, or a failure with nothing."""
    if src == "-" or dst == "-":
        return
    try:
        same = os.path.samefile(src, dst)
    except OSError:  # one of them does not exist (yet): nothing of the input to lose
        return
    if same:
        raise InputError(f"output '{dst}' is the input '{src}' itself; write the result to another file")


def run_batch(pairs, work, as_json: bool, verb: str, describe: Callable[[dict], str] | None = None,
              in_flight: int = 1) -> None:
    """Run ``work(src, dst) -> stats`` per file; report failures per file and carry on.

    Each finished file prints one line, in input order: ``describe(stats)`` (default: bytes,
    rate and quality), or the stats as JSON with ``as_json``. One input: its error is raised as
    is. ``in_flight`` files are worked on at once by as many threads (see ``files_in_flight``).
    """
    from tqdm import tqdm

    describe = describe or summary
    failures = 0
    show = len(pairs) > 1 and sys.stderr.isatty()
    outcomes = _outcomes(pairs, work, in_flight)
    for src, dst, stats, error in tqdm(outcomes, total=len(pairs), disable=not show, unit="file", desc=verb):
        if error is not None:
            if len(pairs) == 1:
                raise error
            failures += 1
            fail(f"{src}: {error}")
        elif dst != "-":
            click.echo(json.dumps(stats) if as_json else printable(describe(stats)))
    if failures:
        raise AecError(f"{failures} of {len(pairs)} files failed; see the messages above")


def files_in_flight(device: str, count: int) -> int:
    """How many files a batch command works on at once: on a GPU three, so that one file's
    reading, entropy coding and writing (CPU work) overlap another's transforms (GPU work); on
    the CPU one, as torch already spreads each file's transforms over every core."""
    if count < 2:
        return 1
    from aecodec.device import resolve_device

    return 3 if resolve_device(device).type == "cuda" else 1


def _outcomes(pairs, work, in_flight: int):
    """(src, dst, stats, error) per pair, in input order; at most ``in_flight`` + 1 files in memory."""

    def attempt(src: str, dst: str):
        try:
            t0 = time.perf_counter()
            stats = work(src, dst)
            stats.update(input=src, output=dst, seconds=round(time.perf_counter() - t0, 3))
            return src, dst, stats, None
        except AecError as e:
            return src, dst, None, e

    if in_flight <= 1:
        yield from (attempt(src, dst) for src, dst in pairs)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(in_flight) as pool:
        pending = deque()
        for src, dst in pairs:
            pending.append(pool.submit(attempt, src, dst))
            if len(pending) > in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class Once:
    """A value made on first use, exactly once, even with several files in flight."""

    def __init__(self, make: Callable[[], object]):
        self.make, self.value, self.lock = make, None, threading.Lock()

    def __call__(self):
        with self.lock:
            if self.value is None:
                self.value = self.make()
            return self.value


def summary(s: dict) -> str:
    rate = f", {s['bpp']:.4f} bpp" if "bpp" in s else f", {s['kbps']:.2f} kbps" if "kbps" in s else ""
    quality = f", quality {s['quality']:g}" if "quality" in s else ""
    return f"{s['input']} -> {s['output']}: {s['bytes']} bytes{rate}{quality} ({s['seconds']:.2f} s)"


def read_source(src: str) -> str | bytes:
    """What the media readers take: the path, or for ``-`` the bytes of standard input, which
    must start like an image or audio file and is read up to a bound (aecodec.media.inputs)."""
    if src != "-":
        return src
    from aecodec.media.inputs import read_stdin  # stdlib only
    from aecodec.media.kinds import is_media_data

    return read_stdin(lambda reason, hint: InputError(f"cannot read standard input: {reason}; {hint}"),
                      accept=is_media_data, kind="an image or audio file")

