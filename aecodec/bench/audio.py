"""Audio benchmark: kbps, mel distance and SI-SNR of codecs x bitrates over a folder of audio.

Rates are measured from the file size over the input duration. A decode at another sample rate
(a format that cannot store the input's) is resampled back and cut or zero-padded to the input
length before measuring. ViSQOL is not available offline here, so ``visqol`` is always None.
Plots: rd_mel.png and rd_si_snr.png.
"""

from __future__ import annotations

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
from aecodec.metrics.audio import mel_distance, si_snr

log = logging.getLogger(__name__)

DEFAULT_CODECS = ("aecodec", "mp3", "opus")
DEFAULT_KBPS = {
    "mp3": (16, 24, 32, 48, 64, 96, 128),
    "opus": (6, 8, 12, 16, 24, 32, 48, 64),
    "aecodec": (1.5, 3, 6, 12),
}

LAYOUT = Layout(
    kind="audio",
    rate_key="kbps",
    rate_label="kbit/s",
    metrics=("mel_distance", "si_snr", "visqol"),
    quality_key="mel_distance",
    quality_sign=-1,
    bd_quality_key="bd_mel_distance",
    bd_quality_label="BD-mel distance",
    plots=(
        ("rd_mel.png", "mel_distance", "mel distance (lower is better)"),
        ("rd_si_snr.png", "si_snr", "SI-SNR (dB)"),
    ),
)


def default_kbps(codec: str) -> tuple[float, ...]:
    return DEFAULT_KBPS[codec]


def load_audio(path: Path) -> Audio:
    """A file as float32 (frames, channels), clipped to [-1, 1] (Vorbis overshoots)."""
    audio = read_audio(path)
    return Audio(np.clip(audio.samples, -1.0, 1.0), audio.sample_rate)


def measure_audio(item: Audio, decoded: Audio, n_bytes: int) -> dict[str, Any]:
    """kbps, mel distance and SI-SNR of one decode against its input."""
    samples = resample(decoded.samples, decoded.sample_rate, item.sample_rate)
    if samples.shape[0] != item.frames:
        log.debug("decoded %d frames for %d; cutting or padding", samples.shape[0], item.frames)
        samples = np.pad(samples[: item.frames], ((0, max(0, item.frames - samples.shape[0])), (0, 0)))
    return {
        "kbps": n_bytes * 8.0 / (item.frames / item.sample_rate) / 1000.0,
        "mel_distance": mel_distance(item.samples, samples, item.sample_rate),
        "si_snr": si_snr(item.samples, samples),
        "visqol": None,
    }


def bench_audio(
    data_dir: Path,
    out_dir: Path,
    codecs: Sequence[str] = DEFAULT_CODECS,
    kbps: Sequence[float] | None = None,
    limit: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Benchmark audio ``codecs`` over the audio files in ``data_dir`` (recursively) into ``out_dir``.

    Args:
        codecs: names for ``get_codec`` (mp3, opus or ``aecodec``); BD values are against mp3,
            on mel distance (BD-mel distance: mean change at equal rate, negative is better).
        kbps: the same bitrates for every codec; default ``DEFAULT_KBPS``.
        limit: use only the first ``limit`` files (sorted by path).
        device: where aecodec's learned codec runs (auto, cpu, cuda).

    Returns:
        The dict written to results.json. Rows already in ``out_dir/points.jsonl`` are reused.

    Raises:
        InputError: bad folder, codec, bitrate or limit, or an unreadable file.
        ModelError: ``aecodec`` requested but not available.
    """
    unknown = [name for name in codecs if name not in DEFAULT_KBPS]
    if kbps is None and unknown:
        raise InputError(f"no default bitrates for {', '.join(unknown)}; audio codecs are {', '.join(DEFAULT_KBPS)}")
    return run_benchmark(AUDIO, Path(data_dir), Path(out_dir), codecs, kbps, limit,
                         {"libsndfile": soundfile.__libsndfile_version__}, device)


AUDIO = MediaBench(LAYOUT, AUDIO_SUFFIXES, default_kbps, load_audio, measure_audio, reference="mp3",
                   packages=("numpy", "scipy", "soundfile", "lameenc", "torch", "torchaudio"))
