"""What every file-to-file command shares: output planning, the batch loop and reading an
input. No torch or numpy here: `--help` stays instant."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Literal

import click

from aecodec.cli.common import detail, fail, file_error, naming, notice, printable, quiet, say
from aecodec.cli.inputs import MEDIA, Wanted, expand_inputs
from aecodec.errors import AecError, InputError, UsageError

INPUTS_HELP = ("Inputs are files, '-' for standard input, folders (searched recursively, their tree kept under -o; "
               "hidden files and files of other kinds are skipped) or quoted globs such as 'shots/**/*.png'. "
               "Their outputs go into the folder -o, which must exist unless its name ends with '/'.")
Existing = Literal["refuse", "force", "skip"]  # what to do with an output that exists
SKIP_EXISTING = click.option("--skip-existing", is_flag=True,
                             help="Keep existing outputs: their inputs are skipped with a notice, not counted as "
                                  "failed (as ffmpeg -n).")


def plan_outputs(inputs: tuple[str, ...], output: str, suffix: str | Callable[[str], str],
                 wanted: Wanted = MEDIA) -> list[tuple[str, str]]:
    """(input, output) pairs. One file and ``-o FILE``: that file. Several inputs, a folder or a
    glob, or ``-o`` an existing folder or ending in ``/`` (then made if missing): files in that
    folder, in the found file's subfolder (made as needed) of the folder or glob it came from,
    named by the input's stem and ``suffix`` (a string, or a function of the input path). Files
    of folders and globs that are not ``wanted`` are skipped with a notice (``cli.inputs``)."""
    if not inputs:
        raise UsageError("no input files given; e.g. 'aecodec encode photo.png -o photo.aec'")
    if not output:
        raise UsageError("the output name is empty; give a file or folder with -o")
    expanded = expand_inputs(inputs, wanted)
    found = expanded.found
    out = Path(output)
    try:
        is_dir = out.is_dir()
        exists = os.path.lexists(out)
    except OSError as e:  # a name too long for the file system, a loop of links, ...
        raise InputError(f"cannot use output '{output}': {e.strerror}; give another name with -o") from None
    slash = output.endswith(("/", os.sep))
    searched = any(f.tree is not None for f in found)
    if len(found) == 1 and not (is_dir or slash or searched):
        refuse_same_file(found[0].path, output)
        _notice_skipped(expanded.skipped)
        return [(found[0].path, output)]
    if output == "-":
        raise UsageError("several inputs, a folder or a glob cannot go to standard output; give a folder with -o")
    if not is_dir and exists:
        raise InputError(f"output '{output}' is not a folder; give a folder with -o for several inputs")
    if not is_dir and not slash:
        raise InputError(f"output folder '{output}' does not exist; create it, end its name with '/' to have it "
                         "made, or give one input")
    suffix_of = suffix if callable(suffix) else lambda _: suffix
    pairs = [(f.path, str(out / (f.tree or "") / (Path(f.path).stem + suffix_of(f.path)))) for f in found]
    first: dict[str, str] = {}
    for src, dst in pairs:
        if dst in first:
            raise InputError(f"'{first[dst]}' and '{src}' would both be written to '{dst}' (same name stem); "
                             "rename one")
        first[dst] = src
        refuse_same_file(src, dst)
    _notice_skipped(expanded.skipped)  # once the plan holds: an error stays the only line
    for folder in sorted({os.path.dirname(dst) for _, dst in pairs}):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot make output folder '{folder}': {(e.strerror or 'failed').lower()}; "
                             "check the path") from None
    return pairs


def _notice_skipped(skipped: list[tuple[str, str]]) -> None:
    """One line for what folders and globs held that a command does not read (each with --verbose)."""
    if len(skipped) == 1:
        notice("skipped '{}': {}".format(*skipped[0]))
    elif skipped:
        notice("skipped {} files of other kinds (first: '{}', {}; -v lists them)".format(len(skipped), *skipped[0]))
        for path, why in skipped:
            detail(f"skipped '{path}': {why}")


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
              in_flight: int = 1, existing: Existing = "refuse") -> None:
    """Run ``work(src, dst, progress) -> stats`` per file; report failures per file and carry on.

    Each finished file prints one line, in input order: ``describe(stats)`` (default: bytes,
    rate and quality), or the stats as JSON with ``as_json``; every line goes through the
    progress bar, so a terminal's bar is redrawn below it rather than garbled. One input: its
    error is raised as is. ``in_flight`` files are worked on at once by as many threads (see
    ``files_in_flight``). An existing output is refused, replaced by ``work`` ("force") or
    skipped with a notice, counted apart from failures ("skip"). ``progress`` is None, or on a
    terminal with one file at a time a ``(done, total)`` callback over the file's steps (tiles,
    chunks) that draws a bar once the file takes a while.
    """
    from tqdm import tqdm

    describe = describe or summary
    failures = skipped = 0
    terminal = sys.stderr.isatty() and not quiet()
    outcomes = _outcomes(pairs, _unless_exists(work, existing), in_flight, terminal and in_flight <= 1)
    for src, dst, stats, error in tqdm(outcomes, total=len(pairs), disable=not (terminal and len(pairs) > 1),
                                       unit="file", desc=verb):
        if error is not None:
            if len(pairs) == 1:  # one line naming the file, as a batch's lines do; same exit code
                named = file_error(src, error) if src != "-" else str(error)
                raise error if named == str(error) else type(error)(named) from None
            failures += 1
            fail(file_error(src, error))
        elif stats is None:
            skipped += 1
            notice(f"skipped '{src}': its output '{dst}' exists (--skip-existing)")
        elif dst != "-":
            tqdm.write(json.dumps(stats), file=sys.stdout) if as_json else say(describe(stats))
    kept = f", {skipped} skipped as their outputs exist" if skipped else ""
    if failures:
        raise AecError(f"{failures} of {len(pairs)} files failed{kept}; see the messages above")
    if skipped and len(pairs) > 1:
        notice(f"{len(pairs) - skipped} of {len(pairs)} files done{kept}")


def existing_outputs(force: bool, skip_existing: bool) -> Existing:
    """What --force and --skip-existing ask for; call it before anything else (both: an error)."""
    if force and skip_existing:
        raise UsageError("give --force (overwrite) or --skip-existing (keep), not both")
    return "force" if force else "skip" if skip_existing else "refuse"


def _unless_exists(work, existing: Existing):
    """``work``, behind the check for an existing output: None (skipped) or an error naming both ways on."""

    def checked(src: str, dst: str, progress):
        if existing != "force" and dst != "-" and os.path.lexists(dst) and not os.path.isdir(dst):
            if existing == "skip":
                return None
            raise InputError(f"output '{dst}' exists; pass --force to overwrite it or --skip-existing to keep it")
        return work(src, dst, progress)

    return checked


def files_in_flight(device: str, count: int) -> int:
    """How many files a batch command works on at once: on a GPU three, so that one file's
    reading, entropy coding and writing (CPU work) overlap another's transforms (GPU work); on
    the CPU one, as torch already spreads each file's transforms over every core."""
    if count < 2:
        return 1
    from aecodec.device import resolve_device

    return 3 if resolve_device(device).type == "cuda" else 1


def _outcomes(pairs, work, in_flight: int, steps: bool = False):
    """(src, dst, stats, error) per pair, in input order; at most ``in_flight`` + 1 files in
    memory. ``steps``: each file's ``work`` gets a ``StepBar``, else None."""

    def attempt(src: str, dst: str):
        progress = StepBar(src) if steps else None
        try:
            t0 = time.perf_counter()
            with naming(src):  # warnings name the file
                stats = work(src, dst, progress)
            if stats is not None:
                stats.update(input=src, output=dst, seconds=round(time.perf_counter() - t0, 3))
            return src, dst, stats, None
        except AecError as e:
            return src, dst, None, e
        finally:
            if progress is not None:
                progress.close()

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


class StepBar:
    """A ``(done, total)`` progress callback drawing a bar over one file's steps (an image's
    tiles, audio's chunks), below the batch's bar; shown only once the file has taken a second,
    so quick files never flash one, and cleared when the file is done."""

    def __init__(self, src: str):
        self.label, self.bar = printable(Path(src).name), None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="step", leave=False, delay=1.0, file=sys.stderr)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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

    data = read_stdin(lambda reason, hint: InputError(f"cannot read standard input: {reason}; {hint}"),
                      accept=is_media_data, kind="an image or audio file")
    if not data:  # said here, before an option that fits only one kind could call it the other
        raise InputError("cannot read standard input: it is empty; pipe an image or audio file in")
    return data

