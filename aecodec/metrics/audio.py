"""Audio quality metrics on float arrays of shape (frames,) or (frames, channels).

SI-SNR and the log-spectral distance are numpy/scipy; the mel distance uses torchaudio; PESQ-WB
(``pesq``), STOI (``pystoi``) and ViSQOL (``visqol-python``) import their package only when
called. Every metric but SI-SNR averages the channels to mono first.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torchaudio

MEL_RESOLUTIONS = ((512, 64), (1024, 80), (2048, 128))
"""(n_fft, n_mels) pairs the mel distance sums over (issue 3's definition)."""

MEL_FLOOR = 1e-5
"""Magnitudes are clamped here before log10 so silence does not dominate the distance."""

_EPS = 1e-8


def _pair(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as float64 (frames, channels), checked to be the same shape."""
    ref2 = np.asarray(ref, dtype=np.float64)
    est2 = np.asarray(est, dtype=np.float64)
    if ref2.shape != est2.shape or ref2.ndim not in (1, 2):
        raise ValueError(f"need two signals of one shape (frames[, channels]), got {ref2.shape} and {est2.shape}")
    if ref2.ndim == 1:
        return ref2[:, None], est2[:, None]
    return ref2, est2


def si_snr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant SNR in dB (Le Roux et al. 2019), averaged over channels.

    Both signals are made zero-mean; ``est`` is split into its projection on ``ref`` (target) and
    the rest (noise). A tiny epsilon keeps silent or perfect signals finite.

    Raises:
        ValueError: shapes differ or are not (frames,) / (frames, channels).
    """
    ref2, est2 = _pair(ref, est)
    ref2 = ref2 - ref2.mean(axis=0)
    est2 = est2 - est2.mean(axis=0)
    scale = np.sum(est2 * ref2, axis=0) / (np.sum(ref2**2, axis=0) + _EPS)
    target = scale * ref2
    noise = est2 - target
    ratios = (np.sum(target**2, axis=0) + _EPS) / (np.sum(noise**2, axis=0) + _EPS)
    return float(np.mean(10.0 * np.log10(ratios)))


@functools.lru_cache(maxsize=16)
def _mel_transform(sample_rate: int, n_fft: int, n_mels: int) -> torchaudio.transforms.MelSpectrogram:
    import torchaudio

    with warnings.catch_warnings():
        # At low sample rates some of the narrow low bands catch no FFT bin; they are 0 (the
        # floor) in both signals and add nothing to the distance, so the warning is noise.
        warnings.filterwarnings("ignore", "At least one mel filterbank has all zero values", UserWarning)
        return torchaudio.transforms.MelSpectrogram(
            sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, power=1.0
        )


def mel_distance(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> float:
    """Multi-resolution log-mel distance between a reference and a decoded signal; 0 is identical.

    Sum over (n_fft, n_mels) in ``MEL_RESOLUTIONS`` of mean |log10(max(mel_ref, 1e-5)) -
    log10(max(mel_est, 1e-5))|, with torchaudio ``MelSpectrogram(sample_rate, n_fft,
    hop_length=n_fft // 4, n_mels, power=1.0)``. Multi-channel signals are averaged to mono first.

    Args:
        ref, est: (frames,) or (frames, channels) floats in [-1, 1], same shape, at least 1025
            frames (the largest window's centre padding needs that).
        sample_rate: of both signals, in Hz.

    Raises:
        ValueError: shapes differ or the signals are too short.
    """
    ref2, est2 = _pair(ref, est)
    longest = max(n_fft for n_fft, _ in MEL_RESOLUTIONS)
    if ref2.shape[0] <= longest // 2:
        raise ValueError(f"mel distance needs more than {longest // 2} frames, got {ref2.shape[0]}")
    import torch

    signals = torch.from_numpy(np.stack([ref2.mean(axis=1), est2.mean(axis=1)]).astype(np.float32))
    total = 0.0
    with torch.no_grad():
        for n_fft, n_mels in MEL_RESOLUTIONS:
            mel = _mel_transform(sample_rate, n_fft, n_mels)(signals)
            log_mel = torch.log10(torch.clamp(mel, min=MEL_FLOOR))
            total += float(torch.mean(torch.abs(log_mel[0] - log_mel[1])))
    return total


def _mono(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as float32 (frames, 1), the mean of their channels."""
    ref2, est2 = _pair(ref, est)
    return ref2.mean(axis=1, keepdims=True).astype(np.float32), est2.mean(axis=1, keepdims=True).astype(np.float32)


PESQ_RATE_HZ = 16000
"""P.862.2 (wideband PESQ) scores 16 kHz signals."""


def pesq_wb(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> float | None:
    """Wideband PESQ (ITU-T P.862.2, MOS-LQO about 1.0..4.64) of ``est`` against ``ref``.

    Both are averaged to mono and resampled to 16 kHz (``aecodec.media.resample``), then scored
    with ``pesq.pesq(16000, ref, est, "wb")``. Returns None when PESQ cannot score the pair
    (``pesq.PesqError``: e.g. no utterance found in the reference) or both signals are silent.

    Raises:
        ValueError: shapes differ or are not (frames,) / (frames, channels).
        ImportError: the pesq package is not installed.
    """
    from pesq import PesqError, pesq

    from aecodec.media.resample import resample

    ref16, est16 = (resample(x, sample_rate, PESQ_RATE_HZ)[:, 0] for x in _mono(ref, est))
    if not (np.any(ref16) or np.any(est16)):  # pesq would divide by their zero peak
        return None
    try:
        return float(pesq(PESQ_RATE_HZ, ref16, est16, "wb"))
    except PesqError:
        return None


def stoi(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), 0..1, via ``pystoi``.

    Both are averaged to mono and scored with ``pystoi.stoi(ref, est, sample_rate,
    extended=False)``, which resamples to 10 kHz and drops silent frames itself.

    Raises:
        ValueError: shapes differ or are not (frames,) / (frames, channels).
        ImportError: the pystoi package is not installed.
    """
    from pystoi import stoi as _stoi

    ref1, est1 = (x[:, 0] for x in _mono(ref, est))
    return float(_stoi(ref1, est1, sample_rate, extended=False))


LSD_RATE_HZ = 24000
LSD_NPERSEG, LSD_NOVERLAP = 1024, 768  # 42.7 ms Hann windows, hop 256 (10.7 ms) at 24 kHz
LSD_FLOOR = 1e-8
"""Powers are floored 80 dB below the reference's peak bin, so silence does not dominate."""


def lsd(ref: np.ndarray, est: np.ndarray, sample_rate: int, max_hz: float | None = None) -> float:
    """Log-spectral distance in dB between a reference and a decoded signal; 0 is identical.

    Both are averaged to mono and resampled to 24 kHz; R, E = ``scipy.signal.stft(x, 24000,
    nperseg=1024, noverlap=768)`` (Hann, hop 256), keeping the bins at or below ``max_hz`` (all
    when None). Powers are floored at 1e-8 * max |R|^2 over the kept bins (80 dB below the
    reference's peak). The value is the mean over frames of sqrt(mean over bins of
    (10 log10 |R|^2 - 10 log10 |E|^2)^2). ``max_hz=4000`` gives the issue-15 "LSD below 4 kHz"
    (bins 0..170), as ``bench/prototypes/audio_mdct/evalh.py`` measured it.

    Raises:
        ValueError: shapes differ, or fewer than 1024 frames at 24 kHz.
    """
    from scipy.signal import stft as _stft

    from aecodec.media.resample import resample

    ref24, est24 = (resample(x, sample_rate, LSD_RATE_HZ)[:, 0].astype(np.float64) for x in _mono(ref, est))
    if ref24.shape[0] < LSD_NPERSEG:
        raise ValueError(f"log-spectral distance needs {LSD_NPERSEG} frames at 24 kHz, got {ref24.shape[0]}")
    freqs, _, spec_ref = _stft(ref24, LSD_RATE_HZ, nperseg=LSD_NPERSEG, noverlap=LSD_NOVERLAP)
    spec_est = _stft(est24, LSD_RATE_HZ, nperseg=LSD_NPERSEG, noverlap=LSD_NOVERLAP)[2]
    keep = freqs <= max_hz if max_hz is not None else slice(None)
    power_ref, power_est = np.abs(spec_ref[keep]) ** 2, np.abs(spec_est[keep]) ** 2
    # A silent reference has no peak: the smallest normal float keeps the logs finite (both silent -> 0).
    floor = max(LSD_FLOOR * float(power_ref.max()), np.finfo(np.float64).tiny)
    diff = 10.0 * np.log10(np.maximum(power_ref, floor)) - 10.0 * np.log10(np.maximum(power_est, floor))
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))


VISQOL_RATE_HZ = 48000
"""ViSQOL's audio mode works at 48 kHz."""


@functools.lru_cache(maxsize=1)
def _visqol_api():  # type: ignore[no-untyped-def]
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode="audio")  # the bundled SVR model (visqol/model/libsvm_nu_svr_model.txt)
    return api


def visqol(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> float | None:
    """ViSQOL v3 audio mode (MOS-LQO 1..~4.73) via ``visqol-python``, pure Python, offline.

    Both are averaged to mono and resampled to 48 kHz, then scored with ``VisqolApi`` in
    ``mode="audio"`` (32 gammatone bands 50 Hz..15 kHz, the bundled SVR quality mapping), as
    C++ ViSQOL scores general audio. Returns None where ViSQOL cannot score: a NaN (silent
    signals) or a ValueError (too short for one of its patches: under about 1 s).

    Raises:
        ValueError: shapes differ or are not (frames,) / (frames, channels).
        ImportError: the visqol-python package is not installed.
    """
    from aecodec.media.resample import resample

    ref48, est48 = (resample(x, sample_rate, VISQOL_RATE_HZ)[:, 0].astype(np.float64) for x in _mono(ref, est))
    try:
        score = float(_visqol_api().measure_from_arrays(ref48, est48, sample_rate=VISQOL_RATE_HZ).moslqo)
    except ValueError:  # its own "spectrum smaller than minimum patch size"
        return None
    return score if np.isfinite(score) else None
