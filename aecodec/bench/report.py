"""Benchmark results on disk, all derived from per-measurement rows.

``points.jsonl`` holds one JSON object per (file, codec, quality) and is appended as a run goes,
so an interrupted run resumes where it stopped. Rows do not record codec settings: after changing
a codec (or the data), start a new output folder. ``results.json`` (schema below), ``results.md``
and the RD plots are recomputed from the rows at the end of every run::

    {"kind": "image" | "audio", "dataset": str, "versions": {library: version},
     "reference": codec name, "codecs": {name: {"points": [{"quality": q, <rate>, <metrics>,
     "encode_s", "decode_s"}, ...]}}, "bd_rate": {name: percent}, <bd quality>: {name: value},
     <each extra BD-rate, e.g. "bd_rate_ms_ssim">: {name: percent}}

Points are means over the files; BD values compare each codec with the reference codec.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import platform
import re
import stat
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    # More BD-rates, each fitted on its own metric, in results.json and a results.md column beside
    # "bd_rate" (image: MS-SSIM beside PSNR); scales are applied to a metric's mean for those fits
    # and the plots (MS-SSIM in dB); the fits negate the metrics in lower_is_better (distortions,
    # plotted as they are) so that every fitted quality rises with rate; note is a line in results.md.
    extra_bd_rates: tuple[tuple[str, str, str], ...] = ()  # (results key, metric, results.md column)
    scales: tuple[tuple[str, Callable[[float], float]], ...] = ()  # (metric, function)
    lower_is_better: tuple[str, ...] = ()
    note: str = ""
    log_rate: bool = False  # plots draw the rate axis on a log scale (audio: 0.7 to 128 kbps)


RESULT_FILES = ("results.json", "results.md")
# What the first line of a results.md written by a benchmark looks like (image, audio, restoration).
_OUR_MARKDOWN = re.compile(r"# (Image benchmark|Audio benchmark|image-denoise|image-inpaint|audio-denoise): ")
_MAX_OURS_BYTES = 64 << 20  # none of our results files is anywhere near this


class RowLog:
    """The append-only ``points.jsonl`` of one output folder; ``done`` has the measured keys.

    Each row records the identity of the codec that made it (for aecodec, the model's name,
    version and weights hash). Rows made by another identity of a codec this run uses (a
    retrained model) are stale: they are dropped from the file and measured again. So are rows
    that lack one of ``fields`` or hold a non-number there (name -> whether None is allowed):
    a hand-edited or foreign row is measured again rather than failing the summary at the end.

    Opening it also checks the folder (``check_outputs``): a benchmark writes only files it
    wrote before, never through a symlink, so ``--out`` cannot overwrite or append to
    anything else, there or elsewhere.
    """

    def __init__(self, path: Path, identities: dict[str, str] | None = None,
                 fields: Mapping[str, bool] | None = None, outputs: Sequence[str] = ()) -> None:
        self.path = path
        self.identities = identities or {}
        self.fields = dict(fields or {})
        self.rows: list[Row] = []
        check_outputs(path.parent, outputs)
        if _lexists(path):
            _check_regular(path)
            text = path.read_text(encoding="utf-8")
            complete, _, torn = text.rpartition("\n")
            for number, line in enumerate(complete.splitlines(), 1):
                try:
                    row = json.loads(line)
                    hash(self._key(row))
                except (json.JSONDecodeError, KeyError, TypeError, IndexError):
                    raise InputError(f"{path}:{number} is not a benchmark row; delete the file to start over") from None
                self.rows.append(row)
            fresh = [row for row in self.rows if self._current(row) and self._complete(row)]
            # A killed run can leave half a line; rewriting drops it (and stale rows), so appends stay valid.
            if torn or len(fresh) < len(self.rows):
                if len(fresh) < len(self.rows):
                    log.warning("%s: %d stale or incomplete rows are measured again", path, len(self.rows) - len(fresh))
                self.rows = fresh
                atomic_write(path, "".join(json.dumps(row, allow_nan=False) + "\n" for row in fresh).encode(), force=True)
        self.done = {self._key(row) for row in self.rows}

    def _current(self, row: Row) -> bool:
        codec = row.get("codec")
        return codec not in self.identities or row.get("codec_id", "") == self.identities[codec]

    def _complete(self, row: Row) -> bool:
        """Whether ``row`` has every field the summary reads, each a finite number (or None where allowed)."""
        if not isinstance(row, dict):
            return False
        for name, nullable in self.fields.items():
            value = row.get(name)
            if value is None:
                if not nullable or name not in row:
                    return False
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return False
        return True

    @staticmethod
    def _key(row: Row) -> tuple[str, str, int]:
        return row["file"], row["codec"], row["quality"]

    def append(self, row: Row) -> None:
        identity = self.identities.get(row.get("codec"), "")
        if identity:
            row = {**row, "codec_id": identity}
        # O_NOFOLLOW: a symlink put there since opening is refused (ELOOP), never appended through.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as error:
            raise InputError(f"cannot append to '{self.path}': {(error.strerror or 'failed').lower()}; "
                             "check --out") from None
        with open(fd, "a", encoding="utf-8") as file:
            file.write(json.dumps(row, allow_nan=False) + "\n")
        self.rows.append(row)
        self.done.add(self._key(row))


def check_outputs(folder: Path, outputs: Sequence[str] = ()) -> None:
    """Refuse an output folder holding a results file (results.json, results.md or one of
    ``outputs``) that a benchmark did not write, or a symlink in the place of any of them or
    of points.jsonl: re-running into a benchmark's own folder stays possible, writing over a
    user's files (or through a link, outside the folder) does not.

    Raises:
        InputError: naming the first such file.
    """
    for name in ("points.jsonl", *RESULT_FILES, *outputs):
        path = folder / name
        if not _lexists(path):
            continue
        _check_regular(path)
        if name != "points.jsonl" and not _written_by_us(path):
            raise InputError(f"'{path}' exists and was not written by 'aecodec bench'; "
                             "move it away or choose another --out")


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def _check_regular(path: Path) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"'{path}' is a symlink; a benchmark writes only into --out itself, "
                         "remove the link or choose another --out")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"'{path}' is not a regular file; move it away or choose another --out")


def _written_by_us(path: Path) -> bool:
    """Whether a results file looks like one a benchmark writes (by content, never by name)."""
    if path.stat().st_size > _MAX_OURS_BYTES:
        return False
    data = path.read_bytes()
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG\r\n\x1a\n") and b"Matplotlib" in data[:4096]
    if path.suffix == ".md":
        return _OUR_MARKDOWN.match(data[:200].decode("utf-8", "replace")) is not None
    try:
        results = json.loads(data)
    except ValueError:
        return False
    return isinstance(results, dict) and (
        {"kind", "reference", "codecs"} <= set(results) or {"task", "protocol", "methods"} <= set(results))


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


def _scaled(layout: Layout, metric: str, values: Iterable[float]) -> list[float]:
    scale = dict(layout.scales).get(metric)
    return [value if scale is None else scale(value) for value in values]


def extra_bd_rates(layout: Layout, points: dict[str, list[Row]], reference: str) -> dict[str, dict]:
    """Each of ``layout.extra_bd_rates`` against ``reference``: results key -> {codec: percent},
    fitted on the metric's scale; None and a logged warning where a curve cannot be fitted."""
    tables: dict[str, dict[str, float | None]] = {}
    for key, metric, _ in layout.extra_bd_rates:
        table = tables[key] = {}
        if reference not in points:
            continue

        sign = -1.0 if metric in layout.lower_is_better else 1.0

        def curve(codec: str) -> tuple[list[float], list[float]]:
            usable = [p for p in points[codec] if p[metric] is not None]
            return ([p[layout.rate_key] for p in usable],
                    [sign * value for value in _scaled(layout, metric, [p[metric] for p in usable])])

        for codec in points:
            if codec != reference:
                try:
                    table[codec] = bd_rate(*curve(reference), *curve(codec))
                except ValueError as error:
                    log.warning("no BD-rate on %s for %s against %s: %s", metric, codec, reference, error)
                    table[codec] = None
    return tables


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
        *([layout.note] if layout.note else []),
        "",
        f"| codec | BD-rate vs {reference} | {''.join(f'{c} | ' for _, _, c in layout.extra_bd_rates)}"
        f"{layout.bd_quality_label} | points | encode s | decode s |",
        "|---|---|---|---|---|---|" + "---|" * len(layout.extra_bd_rates),
    ]
    for codec, entry in results["codecs"].items():
        points = entry["points"]
        if codec == reference:
            bd_cells = ["reference"] * (2 + len(layout.extra_bd_rates))
        else:
            bd_cells = [
                _number(results["bd_rate"].get(codec), 1, " %"),
                *(_number(results.get(key, {}).get(codec), 1, " %") for key, _, _ in layout.extra_bd_rates),
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
            _scaled(layout, metric, [p[metric] for p in usable]),
            marker="o",
            markersize=5 if learned else 3,
            linewidth=3.0 if learned else 1.3,
            zorder=3 if learned else 2,
            color=palette[index % len(palette)],
            label=codec,
        )
    if layout.log_rate:
        from matplotlib.ticker import ScalarFormatter

        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(ScalarFormatter())  # 1, 10, 100 rather than 10^0, 10^1, 10^2
    axes.set_xlabel(layout.rate_label + (" (log scale)" if layout.log_rate else ""))
    axes.set_ylabel(label)
    axes.set_title(f"{label} vs rate, {results['dataset']}")
    axes.grid(True, alpha=0.3)
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_outputs(layout: Layout, out_dir: Path, results: dict[str, Any], file_count: int) -> None:
    """Write results.json, results.md and the layout's plots into ``out_dir``, each atomically
    (replacing only files a benchmark wrote, see ``check_outputs``)."""
    check_outputs(out_dir, [name for name, _, _ in layout.plots])  # again: the run took a while
    text = json.dumps(results, indent=2, allow_nan=False) + "\n"
    atomic_write(out_dir / "results.json", text.encode(), force=True)
    atomic_write(out_dir / "results.md", markdown(layout, results, file_count).encode(), force=True)
    for file_name, metric, label in layout.plots:
        atomic_write(out_dir / file_name, plot_png(layout, results, metric, label), force=True)
