"""Benchmark results on disk, all derived from per-measurement rows.

``points.jsonl`` holds one JSON object per (file, codec, quality) and is appended as a run goes,
so an interrupted run resumes where it stopped. Rows do not record codec settings: after changing
a codec (or the data), start a new output folder. ``results.json`` (schema below), ``results.md``
and the RD plots are recomputed from the rows at the end of every run::

    {"kind": "image" | "audio", "dataset": str, "versions": {library: version},
     "reference": codec name, "codecs": {name: {"points": [{"quality": q, <rate>, <metrics>,
     "encode_s", "decode_s"}, ...]}}, "bd_rate": {name: percent}, <bd quality>: {name: value}}

Points are means over the files; BD values compare each codec with the reference codec.
"""

from __future__ import annotations

import io
import json
import logging
import platform
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from aecodec import __version__
from aecodec.errors import InputError
from aecodec.media.atomic import atomic_write
from aecodec.metrics.bd import bd_psnr, bd_rate

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass(frozen=True)
class Layout:
    """What a benchmark kind measures and how its results are named and drawn."""

    kind: Literal["image", "audio"]
    rate_key: str  # "bpp" or "kbps"
    rate_label: str
    metrics: tuple[str, ...]  # per-point fields besides quality and rate
    quality_key: str  # the metric BD values are computed on
    quality_sign: int  # +1 if higher is better, -1 for distortions
    bd_quality_key: str  # results key of the BD quality delta, in the metric's own unit
    bd_quality_label: str
    plots: tuple[tuple[str, str, str], ...]  # (file name, metric, axis label)


class RowLog:
    """The append-only ``points.jsonl`` of one output folder; ``done`` has the measured keys.

    Each row records the identity of the codec that made it (for aecodec, the model's name,
    version and weights hash). Rows made by another identity of a codec this run uses (a
    retrained model) are stale: they are dropped from the file and measured again.
    """

    def __init__(self, path: Path, identities: dict[str, str] | None = None) -> None:
        self.path = path
        self.identities = identities or {}
        self.rows: list[Row] = []
        if path.exists():
            text = path.read_text(encoding="utf-8")
            complete, _, torn = text.rpartition("\n")
            for number, line in enumerate(complete.splitlines(), 1):
                try:
                    row = json.loads(line)
                    self._key(row)
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise InputError(f"{path}:{number} is not a benchmark row; delete the file to start over") from None
                self.rows.append(row)
            fresh = [row for row in self.rows if self._current(row)]
            # A killed run can leave half a line; rewriting drops it (and stale rows), so appends stay valid.
            if torn or len(fresh) < len(self.rows):
                self.rows = fresh
                atomic_write(path, "".join(json.dumps(row, allow_nan=False) + "\n" for row in fresh).encode(), force=True)
        self.done = {self._key(row) for row in self.rows}

    def _current(self, row: Row) -> bool:
        codec = row.get("codec")
        return codec not in self.identities or row.get("codec_id", "") == self.identities[codec]

    @staticmethod
    def _key(row: Row) -> tuple[str, str, int]:
        return row["file"], row["codec"], row["quality"]

    def append(self, row: Row) -> None:
        identity = self.identities.get(row.get("codec"), "")
        if identity:
            row = {**row, "codec_id": identity}
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(row, allow_nan=False) + "\n")
        self.rows.append(row)
        self.done.add(self._key(row))


def _mean(values: Sequence[float | None]) -> float | None:
    """Mean, or None if a value is missing (e.g. MS-SSIM of an image under 11 px)."""
    if not values or any(value is None for value in values):
        return None
    return sum(values) / len(values)  # type: ignore[arg-type]


def mean_points(
    layout: Layout, rows: Iterable[Row], files: set[str], qualities: dict[str, tuple[int, ...]]
) -> dict[str, list[Row]]:
    """Per codec, one point per quality: the mean of each field over the rows of ``files``."""
    groups: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for row in rows:
        if row["file"] in files:
            groups[(row["codec"], row["quality"])].append(row)
    fields = (layout.rate_key, *layout.metrics, "encode_s", "decode_s")
    points: dict[str, list[Row]] = {}
    for codec, codec_qualities in qualities.items():
        points[codec] = [
            {"quality": quality, **{field: _mean([row[field] for row in groups[(codec, quality)]]) for field in fields}}
            for quality in codec_qualities
            if groups[(codec, quality)]
        ]
    return points


def bd_tables(layout: Layout, points: dict[str, list[Row]], reference: str) -> tuple[dict, dict]:
    """BD-rate (percent) and BD-quality (metric units) of every codec against ``reference``.

    A codec whose curve cannot be fitted (fewer than 4 points, not monotone, no overlap) gets None
    and a logged warning.
    """
    rates: dict[str, float | None] = {}
    qualities: dict[str, float | None] = {}
    if reference not in points:
        return rates, qualities

    def curve(codec: str) -> tuple[list[float], list[float]]:
        usable = [p for p in points[codec] if p[layout.quality_key] is not None]
        return [p[layout.rate_key] for p in usable], [layout.quality_sign * p[layout.quality_key] for p in usable]

    reference_curve = curve(reference)
    for codec in points:
        if codec == reference:
            continue
        # Each needs its own overlap (of qualities for BD-rate, of rates for BD-quality): a codec
        # far cheaper than the reference at equal quality has a BD-rate but no BD-quality.
        for table, measure, sign in ((rates, bd_rate, 1), (qualities, bd_psnr, layout.quality_sign)):
            try:
                table[codec] = sign * measure(*reference_curve, *curve(codec))
            except ValueError as error:
                log.warning("no %s for %s against %s: %s", measure.__name__, codec, reference, error)
                table[codec] = None
    return rates, qualities


def library_versions(packages: Sequence[str], extra: dict[str, str]) -> dict[str, str]:
    """Versions of aecodec, Python and installed ``packages``, plus ``extra``; the git commit if any."""
    versions = {"aecodec": __version__, "python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions.update(extra)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
        if commit.returncode == 0:
            versions["git_commit"] = commit.stdout.strip()
    except OSError:  # no git here: the aecodec version has to do
        pass
    return versions


def _number(value: float | None, digits: int, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}{suffix}"


def markdown(layout: Layout, results: dict[str, Any], file_count: int) -> str:
    """The BD and speed table of ``results`` as Markdown."""
    reference = results["reference"]
    lines = [
        f"# {layout.kind.capitalize()} benchmark: {results['dataset']}",
        "",
        f"{file_count} files. BD values against {reference} (cubic fits over the shared range); "
        f"negative BD-rate is better. Speed: mean seconds per file over all points.",
        "",
        f"| codec | BD-rate vs {reference} | {layout.bd_quality_label} | points | encode s | decode s |",
        "|---|---|---|---|---|---|",
    ]
    for codec, entry in results["codecs"].items():
        points = entry["points"]
        if codec == reference:
            bd_cells = ["reference", "reference"]
        else:
            bd_cells = [
                _number(results["bd_rate"].get(codec), 1, " %"),
                _number(results[layout.bd_quality_key].get(codec), 3),
            ]
        speed = [_mean([p[key] for p in points]) for key in ("encode_s", "decode_s")]
        speed_cells = ["n/a" if s is None else f"{s:.4f}" for s in speed]
        lines.append(f"| {codec} | {' | '.join(bd_cells)} | {len(points)} | {' | '.join(speed_cells)} |")
    lines += ["", "Versions: " + ", ".join(f"{name} {version}" for name, version in results["versions"].items()), ""]
    return "\n".join(lines)


def plot_png(layout: Layout, results: dict[str, Any], metric: str, label: str) -> bytes:
    """An RD plot (rate on x, ``metric`` on y) as PNG bytes; aecodec is drawn thicker."""
    from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch

    figure = Figure(figsize=(7, 5), dpi=110)
    axes = figure.subplots()
    palette = ("tab:red", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:gray")
    for index, (codec, entry) in enumerate(results["codecs"].items()):
        usable = [p for p in entry["points"] if p[metric] is not None]
        learned = codec == "aecodec"
        axes.plot(
            [p[layout.rate_key] for p in usable],
            [p[metric] for p in usable],
            marker="o",
            markersize=5 if learned else 3,
            linewidth=3.0 if learned else 1.3,
            zorder=3 if learned else 2,
            color=palette[index % len(palette)],
            label=codec,
        )
    axes.set_xlabel(layout.rate_label)
    axes.set_ylabel(label)
    axes.set_title(f"{label} vs rate, {results['dataset']}")
    axes.grid(True, alpha=0.3)
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_outputs(layout: Layout, out_dir: Path, results: dict[str, Any], file_count: int) -> None:
    """Write results.json, results.md and the layout's plots into ``out_dir``, each atomically."""
    text = json.dumps(results, indent=2, allow_nan=False) + "\n"
    atomic_write(out_dir / "results.json", text.encode(), force=True)
    atomic_write(out_dir / "results.md", markdown(layout, results, file_count).encode(), force=True)
    for file_name, metric, label in layout.plots:
        atomic_write(out_dir / file_name, plot_png(layout, results, metric, label), force=True)
