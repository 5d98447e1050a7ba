"""Audio quality metrics on float arrays of shape (frames,) or (frames, channels).

SI-SNR is numpy; the mel distance uses torchaudio and imports torch only when called.
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
