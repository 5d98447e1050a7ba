"""Restoration benchmarks' shared loop: degraded inputs, methods, cached rows and results files.

The protocols (issue 5) live in ``restore_image`` (denoising, inpainting) and ``restore_audio``
(speech denoising). Each builds its degraded inputs deterministically (the generator is seeded
with ``seed`` and the file's name, so every method and every rerun sees the same noisy files).

``methods`` names built-in methods, or maps names to callables (stand-ins, other baselines):
image denoisers take the noisy uint8 (H, W, 3) array, inpainters the holed uint8 (H, W, 3)
array and the bool (H, W) mask (True = missing), audio denoisers the noisy float32 (frames,)
array and the sample rate; each returns an array of its input's shape (images are rounded
and clipped to uint8). A method's first call is an untimed warm-up on a small input (model
loading, imports); times are seconds of the call itself, per file.

Outputs in ``out_dir``: ``points.jsonl`` (one row per file x method x protocol, appended as it
goes; a rerun skips rows already there for the same protocol parameters and the same degraded
input, checked by a CRC32 of it, so edited degradation code never mixes with old rows),
``results.json`` ({"task", "dataset", "protocol", "versions", "device", "methods": {name:
{<mean score>, "seconds_per_item", "items", ...}}}) and ``results.md``. Rows do not record a
method's settings or weights: after retraining a model, use a new output folder (or delete its
rows).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import sys
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
from tqdm import tqdm

from aecodec.bench.report import RowLog, library_versions
from aecodec.errors import InputError, ModelError
from aecodec.media.atomic import atomic_write

log = logging.getLogger(__name__)

Method = Callable[..., np.ndarray]
Methods = Union[Sequence[str], Mapping[str, Method]]
Columns = list[tuple[str, str, str]]  # (results key, table header, format spec)

BENCH_EXTRA = "install the baselines with pip install 'aecodec[bench]'"


@dataclass(frozen=True)
class Case:
    """One degraded input: what methods are called with, and how their output is scored."""

    args: tuple[Any, ...]
    warm_args: tuple[Any, ...]
    score: Callable[[np.ndarray], dict[str, Any]]
    fields: dict[str, Any] = field(default_factory=dict)  # row fields shared by all methods


@dataclass(frozen=True)
class Task:
    """What a protocol reports: its name, data, parameters and how its rows are summarised."""

    name: str  # "image-denoise", ...: results.json's "task" and results.md's title
    command: str  # "denoise-image", ...: the progress bar's label
    dataset: Path
    out_dir: Path
    protocol: dict[str, Any]  # described in results.json and results.md
    packages: tuple[str, ...]  # whose versions are reported
    summarise: Callable[[list[dict[str, Any]]], dict[str, Any]]  # a method's rows -> its means
    columns: Columns


class Unavailable(InputError):
    """A baseline whose package is not installed."""


class RestoreRows(RowLog):
    """points.jsonl keyed by (file, method, protocol id, input fingerprint, model), not (file,
    codec, quality). ``model`` is the weights a learned method ran with (its ``model`` attribute:
    name, version and hash), so rows of an older model are measured again, not reused."""

    @staticmethod
    def _key(row: dict[str, Any]) -> tuple[str, str, str, str, str]:  # type: ignore[override]
        return row["file"], row["method"], row["protocol"], row["input"], row.get("model", "")


def file_rng(seed: int, name: str) -> np.random.Generator:
    """The generator for one file: seeded with ``seed`` and the CRC32 of its name, same everywhere."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def optional_import(module: str, method: str, hint: str) -> Any:
    """``module`` imported, or the error that says which method needs it (ModelError for ours)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        error_type = ModelError if module.startswith("aecodec") else Unavailable
        raise error_type(f"method {method} is not available ({error}); {hint}") from None


def resolve_methods(methods: Methods, builtins: Mapping[str, Callable[[], Method]],
                    skipped: dict[str, str] | None = None) -> dict[str, Method]:
    """Callables by name: a mapping as given, or built-in names built (imported) now.

    With ``skipped``, a baseline that is not installed is left out with a logged warning and
    its reason recorded there, instead of raising.
    """
    if isinstance(methods, Mapping):
        resolved = dict(methods)
    else:
        names = list(dict.fromkeys(methods))
        unknown = [name for name in names if name not in builtins]
        if unknown:
            raise InputError(f"unknown method {', '.join(unknown)}; choose from {', '.join(builtins)}")
        resolved = {}
        for name in names:
            try:
                resolved[name] = builtins[name]()
            except Unavailable as error:
                if skipped is None:
                    raise
                log.warning("%s skipped: %s", name, error)
                skipped[name] = str(error)
    if not resolved:
        raise InputError("no methods to run; name at least one")
    return resolved


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")


def protocol_id(params: dict[str, Any]) -> str:
    """A hash of the parameters that make the inputs: rows of another protocol are kept apart."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def open_rows(out_dir: Path, fields: Mapping[str, bool] | None = None) -> RestoreRows:
    """The output folder's rows; ``fields`` as ``RowLog``'s (rows lacking one are measured again)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot use '{out_dir}' as the output folder: {error.strerror}; check --out") from None
    return RestoreRows(out_dir / "points.jsonl", fields=fields)


def mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _fingerprint(args: tuple[Any, ...]) -> str:
    """CRC32 of a case's input arrays: rows are reused only for the very same inputs."""
    crc = 0
    for value in args:
        if isinstance(value, np.ndarray):
            crc = zlib.crc32(np.ascontiguousarray(value).tobytes(), crc)
    return f"{crc:08x}"


CaseSpec = tuple[str, str, Callable[[], Case]]  # (file key, protocol id, builds the case)


def run_cases(label: str, cases: Sequence[CaseSpec], methods: dict[str, Method], rows: RestoreRows) -> dict:
    """Call every method on every case not yet in ``rows``, appending one scored row per call.

    Returns each (file, protocol id)'s input fingerprint. Inputs are rebuilt (cheap) even when
    every row is there, so that rows made from other inputs (changed degradation code) are not
    reused.
    """
    fingerprints: dict[tuple[str, str], str] = {}
    warmed: set[str] = set()
    with tqdm(total=len(cases) * len(methods), desc=label, unit="run", file=sys.stderr, disable=None) as progress:
        for key, protocol, prepare in cases:
            case = prepare()
            fingerprint = fingerprints[(key, protocol)] = _fingerprint(case.args)
            for name, method in methods.items():
                model = getattr(method, "model", "")
                if (key, name, protocol, fingerprint, model) not in rows.done:
                    if name not in warmed:
                        method(*case.warm_args)
                        warmed.add(name)
                    start = time.perf_counter()
                    output = method(*case.args)
                    seconds = time.perf_counter() - start
                    rows.append({"file": key, "method": name, "protocol": protocol, "input": fingerprint,
                                 **({"model": model} if model else {}), **case.fields, **case.score(output), "seconds": seconds})
                progress.update()
    return fingerprints


def current_rows(rows: RestoreRows, fingerprints: dict[tuple[str, str], str], method: str,
                 model: str = "") -> list[dict[str, Any]]:
    """``method``'s rows of this run's cases (files, protocols and inputs) and ``model``."""
    return [r for r in rows.rows if r["method"] == method and r.get("model", "") == model
            and fingerprints.get((r["file"], r["protocol"])) == r["input"]]


def summarise_methods(task: Task, rows: RestoreRows, fingerprints: dict, methods: Mapping[str, Method]) -> dict:
    """Per method: ``task.summarise`` of its rows, seconds per item and the item count."""
    summary = {}
    for name in methods:
        chosen = current_rows(rows, fingerprints, name, getattr(methods[name], "model", ""))
        summary[name] = {**task.summarise(chosen), "seconds_per_item": mean([r["seconds"] for r in chosen]),
                         "items": len(chosen)}
    return summary


def write_results(task: Task, summary: dict[str, Any], device: str, extra_markdown: Sequence[str] = ()) -> dict:
    """Write results.json and results.md (``task.columns`` per method, then ``extra_markdown``)."""
    results = {"task": task.name, "dataset": str(task.dataset), "protocol": task.protocol,
               "versions": library_versions(task.packages, {}), "device": device, "methods": summary}
    atomic_write(task.out_dir / "results.json", (json.dumps(results, indent=2, allow_nan=False) + "\n").encode(),
                 force=True)
    shown = {k: v for k, v in task.protocol.items() if k not in ("id", "ids")}
    lines = [f"# {task.name}: {task.dataset}", "", ", ".join(f"{k}: {v}" for k, v in shown.items()), "",
             *table(["method", *(label for _, label, _ in task.columns)],
                    [[name, *cells(entry, task.columns)] for name, entry in summary.items()]),
             *extra_markdown, "", "Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()), ""]
    atomic_write(task.out_dir / "results.md", "\n".join(lines).encode(), force=True)
    return results


def cells(entry: Mapping[str, Any], columns: Columns) -> list[str]:
    return ["n/a" if entry.get(key) is None else format(entry[key], spec) for key, _, spec in columns]


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in body)]


def run_task(task: Task, cases: Sequence[CaseSpec], methods: dict[str, Method], rows: RestoreRows,
             device: str) -> dict[str, Any]:
    """Run (or resume) ``cases`` with ``methods`` and write the results; returns results.json's dict."""
    fingerprints = run_cases(task.command, cases, methods, rows)
    return write_results(task, summarise_methods(task, rows, fingerprints, methods), device)
