"""The resumable files x codecs x qualities loop shared by the image and audio benchmarks."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from aecodec.bench.report import (Layout, RowLog, bd_tables, extra_bd_rates, library_versions, mean_points,
                                  write_outputs)
from aecodec.codecs.base import Codec, Media
from aecodec.codecs.baselines import get_codec
from aecodec.errors import InputError

Measure = Callable[[Any, Any, int], dict[str, Any]]
"""(input, decoded, file bytes) -> the row's rate and metric fields; input and decoded are both
``Image`` or both ``Audio``."""


@dataclass(frozen=True)
class MediaBench:
    """A benchmark kind's inputs and measurements, beside how its results are reported."""

    layout: Layout
    suffixes: Sequence[str]  # the files it reads
    defaults: Callable[[str], tuple[float, ...]]  # codec name -> its default qualities
    load: Callable[[Path], Media]
    measure: Measure
    reference: str  # the codec BD values are against
    packages: tuple[str, ...]  # whose versions results.json reports


def list_files(data_dir: Path, suffixes: Sequence[str], limit: int | None, exclude: Path | None = None) -> list[Path]:
    """Media files under ``data_dir`` (recursively, sorted by path), the first ``limit`` of them,
    leaving out anything under ``exclude`` (the output folder, when it lies inside the data:
    a re-run must not benchmark its own plots).

    Raises:
        InputError: the folder is missing or holds no file with one of ``suffixes``.
    """
    if not data_dir.is_dir():
        raise InputError(f"data folder '{data_dir}' does not exist; check --data")
    skip = exclude.resolve() if exclude is not None else None
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                   and not (skip is not None and skip in p.resolve().parents))
    if not files:
        raise InputError(f"no {', '.join(suffixes)} files in '{data_dir}'; check --data")
    return files[:limit]


def plan_qualities(
    codec_names: Sequence[str], qualities: Sequence[float] | None, defaults: Callable[[str], tuple[float, ...]]
) -> dict[str, tuple[float, ...]]:
    """Per codec, the sorted qualities to run: ``qualities`` for all, or each codec's defaults.

    Raises:
        InputError: no codecs, or an empty or non-positive quality list.
    """
    names = list(dict.fromkeys(codec_names))
    if not names:
        raise InputError("no codecs to run; name at least one")
    if qualities is not None and (not qualities or min(qualities) <= 0):  # kbps may be fractions (codec2 0.7)
        raise InputError(f"qualities must be positive, got {list(qualities)}; e.g. 10,50,90")
    return {name: tuple(sorted(set(qualities))) if qualities else defaults(name) for name in names}


def run_sweep(
    data_dir: Path,
    files: Sequence[Path],
    codecs: dict[str, Codec],
    qualities: dict[str, tuple[float, ...]],
    rows: RowLog,
    load: Callable[[Path], Media],
    measure: Measure,
) -> None:
    """Encode and decode every file with every codec at every quality not yet in ``rows``.

    Each measurement is appended to ``rows`` as soon as it is done. A codec's first use is an
    untimed warm-up (model loading, lazy imports) so that the times are per-file costs.
    """
    jobs = [
        (path, name, quality)
        for path in files
        for name in codecs
        for quality in qualities[name]
        if (path.relative_to(data_dir).as_posix(), name, quality) not in rows.done
    ]
    warmed: set[str] = set()
    loaded: tuple[Path | None, Any] = (None, None)
    with tqdm(total=len(jobs), desc="bench", unit="run", file=sys.stderr, disable=None) as progress:
        for path, name, quality in jobs:
            if loaded[0] != path:
                loaded = (path, load(path))
            item, codec = loaded[1], codecs[name]
            if name not in warmed:
                codec.decode(codec.encode(item, quality))
                warmed.add(name)
            start = time.perf_counter()
            data = codec.encode(item, quality)
            encoded = time.perf_counter()
            decoded = codec.decode(data)
            finished = time.perf_counter()
            rows.append(
                {
                    "file": path.relative_to(data_dir).as_posix(),
                    "codec": name,
                    "quality": quality,
                    "bytes": len(data),
                    **measure(item, decoded, len(data)),
                    "encode_s": encoded - start,
                    "decode_s": finished - encoded,
                }
            )
            progress.update()


def codec_identity(codec: Codec) -> str:
    """What makes a codec's measurements reusable: for aecodec, its model (name, version, hash);
    "" for the classic codecs, whose library versions go into results.json."""
    identity = getattr(codec, "model_identity", None)
    return identity() if identity else ""


def run_benchmark(
    bench: MediaBench,
    data_dir: Path,
    out_dir: Path,
    codec_names: Sequence[str],
    qualities: Sequence[float] | None,
    limit: int | None,
    libraries: dict[str, str],
    device: str = "auto",
) -> dict[str, Any]:
    """Run (or resume) a benchmark into ``out_dir`` and write its results; returns results.json's dict.

    ``libraries`` are versions reported beside those of ``bench.packages`` (C libraries).

    Raises:
        InputError: bad folder, codec name, quality list or limit.
        ModelError: ``aecodec`` requested but not available.
    """
    layout, reference = bench.layout, bench.reference
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    plan = plan_qualities(codec_names, qualities, bench.defaults)
    codecs = {name: get_codec(name, layout.kind, device) for name in plan}
    files = list_files(data_dir, bench.suffixes, limit, exclude=out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot use '{out_dir}' as the output folder: {error.strerror}; check --out") from None
    identities = {name: codec_identity(codec) for name, codec in codecs.items()}
    # The fields mean_points reads: a cached row without them is measured again.
    fields = {layout.rate_key: False, **dict.fromkeys(layout.metrics, True), "encode_s": False, "decode_s": False}
    rows = RowLog(out_dir / "points.jsonl", identities, fields, outputs=[name for name, _, _ in layout.plots])
    run_sweep(data_dir, files, codecs, plan, rows, bench.load, bench.measure)
    points = mean_points(layout, rows.rows, {p.relative_to(data_dir).as_posix() for p in files}, plan)
    bd_rate, bd_quality = bd_tables(layout, points, reference)
    results = {
        "kind": layout.kind,
        "dataset": str(data_dir),
        "versions": {**library_versions(bench.packages, libraries),
                     **{f"{name} model": i for name, i in identities.items() if i}},
        "reference": reference,
        "codecs": {name: {"points": codec_points} for name, codec_points in points.items()},
        "bd_rate": bd_rate,
        layout.bd_quality_key: bd_quality,
        **extra_bd_rates(layout, points, reference),
    }
    write_outputs(layout, out_dir, results, len(files))
    return results
