"""Audio benchmark: kbps and seven quality metrics of codecs x bitrates over a folder of audio.

Rates are measured from the file size over the input duration. A decode at another sample rate
(a format that cannot store the input's) is resampled back and cut or zero-padded to the input
length before measuring. Every clip gets every metric (definitions in ``aecodec.metrics.audio``):
``pesq_wb`` (P.862.2 at 16 kHz; None where PESQ finds no utterance, e.g. on some music),
``stoi``, ``si_snr`` (dB), ``lsd`` and ``lsd_4k`` (log-spectral distance in dB, all bins and
bins up to 4 kHz), ``mel_distance`` and ``visqol`` (ViSQOL v3 audio mode at 48 kHz through
``visqol-python``: pure Python, its model ships in the wheel, about 5 s per 8 s clip on one
core). PESQ-WB and STOI are speech metrics; on music read LSD and ViSQOL. A metric whose package
(pesq, pystoi, visqol-python: ``pip install 'aecodec[bench]'``) is missing is None, with one
warning; rows measured so are kept on a re-run, so start a new ``--out`` after installing it.
A point's mean is None if one of its clips has None.

BD values are against mp3: ``bd_rate`` and ``bd_mel_distance`` on mel distance, and one
``bd_rate_<metric>`` per other metric (distortions negated for the fit). A cubic fit needs four
points, so codec2 (three modes) gets none. Plots, one per metric, on a log rate axis:
rd_pesq_wb.png, rd_stoi.png, rd_si_snr.png, rd_lsd.png, rd_lsd_4k.png, rd_mel.png, rd_visqol.png.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from aecodec.bench.report import Layout
from aecodec.bench.sweep import MediaBench, run_benchmark
from aecodec.errors import InputError
from aecodec.media.audio import read_audio
from aecodec.media.kinds import AUDIO_SUFFIXES
from aecodec.media.resample import resample
from aecodec.media.types import Audio
from aecodec.metrics.audio import lsd, mel_distance, pesq_wb, si_snr, stoi, visqol

log = logging.getLogger(__name__)

DEFAULT_CODECS = ("aecodec", "mp3", "opus", "codec2")
"""What ``bench_audio`` runs by default; codec2 only where pycodec2 is installed."""
DEFAULT_KBPS = {
    "aecodec": (1.5, 3, 6, 12, 24),
    "aecodec-music": (1.5, 3, 6, 12, 24),  # the music model (encode --model audio-mdct-music)
    "mp3": (8, 16, 24, 32, 48),
    "opus": (6, 8, 12, 16, 24),
    "codec2": (0.7, 1.3, 3.2),
}
BENCH_EXTRA = "pip install 'aecodec[bench]'"
OPTIONAL = {"pesq_wb": "pesq", "stoi": "pystoi", "visqol": "visqol", "codec2": "pycodec2"}
"""Metric or codec -> the module it needs (packages pesq, pystoi, visqol-python, pycodec2)."""

LAYOUT = Layout(
    kind="audio",
    rate_key="kbps",
    rate_label="kbit/s",
    metrics=("pesq_wb", "stoi", "si_snr", "lsd", "lsd_4k", "mel_distance", "visqol"),
    quality_key="mel_distance",
    quality_sign=-1,
    bd_quality_key="bd_mel_distance",
    bd_quality_label="BD-mel distance",
    plots=(
        ("rd_pesq_wb.png", "pesq_wb", "PESQ-WB (MOS-LQO)"),
        ("rd_stoi.png", "stoi", "STOI"),
        ("rd_si_snr.png", "si_snr", "SI-SNR (dB)"),
        ("rd_lsd.png", "lsd", "log-spectral distance (dB, lower is better)"),
        ("rd_lsd_4k.png", "lsd_4k", "log-spectral distance below 4 kHz (dB, lower is better)"),
        ("rd_mel.png", "mel_distance", "mel distance (lower is better)"),
        ("rd_visqol.png", "visqol", "ViSQOL audio (MOS-LQO)"),
    ),
    extra_bd_rates=tuple((f"bd_rate_{metric}", metric, f"BD-rate on {label}") for metric, label in (
        ("pesq_wb", "PESQ-WB"), ("stoi", "STOI"), ("si_snr", "SI-SNR"), ("lsd", "LSD"), ("lsd_4k", "LSD < 4 kHz"),
        ("visqol", "ViSQOL"))),
    lower_is_better=("lsd", "lsd_4k"),
    note="BD-rate (first column) and BD-mel distance are fitted on mel distance, each other BD-rate on its "
    "own metric; n/a where a curve has under 4 points, is not monotone or shares no range with mp3's.",
    log_rate=True,
)


def default_kbps(codec: str) -> tuple[float, ...]:
    return DEFAULT_KBPS[codec]


@functools.lru_cache(maxsize=None)
def installed(name: str) -> bool:
    """Whether the module that metric or codec ``name`` needs can be imported; warns once if not."""
    if importlib.util.find_spec(OPTIONAL[name]) is not None:
        return True
    log.warning("%s not measured: the %s module is not installed; %s", name, OPTIONAL[name], BENCH_EXTRA)
    return False


def load_audio(path: Path) -> Audio:
    """A file as float32 (frames, channels), clipped to [-1, 1] (Vorbis overshoots)."""
    audio = read_audio(path)
    return Audio(np.clip(audio.samples, -1.0, 1.0), audio.sample_rate)


def measure_audio(item: Audio, decoded: Audio, n_bytes: int) -> dict[str, Any]:
    """kbps and every metric of one decode against its input (None where a package is missing)."""
    samples = resample(decoded.samples, decoded.sample_rate, item.sample_rate)
    if samples.shape[0] != item.frames:
        log.debug("decoded %d frames for %d; cutting or padding", samples.shape[0], item.frames)
        samples = np.pad(samples[: item.frames], ((0, max(0, item.frames - samples.shape[0])), (0, 0)))
    ref, rate = item.samples, item.sample_rate
    return {
        "kbps": n_bytes * 8.0 / (item.frames / rate) / 1000.0,
        "pesq_wb": pesq_wb(ref, samples, rate) if installed("pesq_wb") else None,
        "stoi": stoi(ref, samples, rate) if installed("stoi") else None,
        "si_snr": si_snr(ref, samples),
        "lsd": lsd(ref, samples, rate),
        "lsd_4k": lsd(ref, samples, rate, max_hz=4000),
        "mel_distance": mel_distance(ref, samples, rate),
        "visqol": visqol(ref, samples, rate) if installed("visqol") else None,
    }


def bench_audio(
    data_dir: Path,
    out_dir: Path,
    codecs: Sequence[str] | None = None,
    kbps: Sequence[float] | None = None,
    limit: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Benchmark audio ``codecs`` over the audio files in ``data_dir`` (recursively) into ``out_dir``.

    Args:
        codecs: names for ``get_codec`` (aecodec, mp3, opus, codec2); default ``DEFAULT_CODECS``
            (codec2 left out, with a warning, when pycodec2 is not installed). BD values are
            against mp3 (see the module docstring).
        kbps: the same bitrates for every codec; default ``DEFAULT_KBPS``.
        limit: use only the first ``limit`` files (sorted by path).
        device: where aecodec's learned codec runs (auto, cpu, cuda).

    Returns:
        The dict written to results.json. Rows already in ``out_dir/points.jsonl`` are reused.

    Raises:
        InputError: bad folder, codec, bitrate or limit, or an unreadable file.
        ModelError: ``aecodec`` requested but not available.
    """
    if codecs is None:
        codecs = tuple(name for name in DEFAULT_CODECS if name not in OPTIONAL or installed(name))
    unknown = [name for name in codecs if name not in DEFAULT_KBPS]
    if kbps is None and unknown:
        raise InputError(f"no default bitrates for {', '.join(unknown)}; audio codecs are {', '.join(DEFAULT_KBPS)}")
    return run_benchmark(AUDIO, Path(data_dir), Path(out_dir), codecs, kbps, limit,
                         {"libsndfile": soundfile.__libsndfile_version__}, device)


AUDIO = MediaBench(LAYOUT, AUDIO_SUFFIXES, default_kbps, load_audio, measure_audio, reference="mp3",
                   packages=("numpy", "scipy", "soundfile", "lameenc", "torch", "torchaudio", "pesq", "pystoi",
                             "visqol-python", "pycodec2"))
