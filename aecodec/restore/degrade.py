"""Synthetic degradations for restoration benchmarks and training: 8-bit AWGN, noise at an SNR.

numpy only. All randomness comes from the ``rng`` passed in, so a generator seeded per file
gives every method (and every rerun) the same noisy input.
"""

from __future__ import annotations

import math

import numpy as np


def add_awgn_uint8(pixels: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise to an 8-bit image the way denoising benchmarks do.

    Each value gets N(0, sigma^2) noise in 0..255 units, then is rounded to the nearest integer
    and clipped to 0..255 (so the noisy file is an ordinary 8-bit image, as in CBSD68 tests).

    Args:
        pixels: uint8 array of any shape, e.g. (H, W, C).
        sigma: noise standard deviation in 0..255 units (25 is the usual benchmark level).
        rng: the noise source.

    Returns:
        uint8 array of the same shape.

    Raises:
        ValueError: ``pixels`` is not uint8, or ``sigma`` is negative or not finite.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError(f"add_awgn_uint8 needs uint8 pixels, got {pixels.dtype}")
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    noisy = pixels.astype(np.float64) + rng.standard_normal(pixels.shape) * sigma
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def mix_at_snr(
    clean: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Add ``noise`` to ``clean`` scaled so that the mixture's SNR is exactly ``snr_db``.

    The noise is looped (or cut) to the length of ``clean``, starting at a random offset drawn
    from ``rng`` (at sample 0 without one), then scaled so that
    10 * log10(sum(clean^2) / sum(scaled_noise^2)) == snr_db. Nothing is clipped: at low SNRs the
    mixture can exceed [-1, 1], and rescaling it is up to the caller.

    Args:
        clean: float (frames,) signal.
        noise: float (frames,) signal of any non-zero length.
        snr_db: the target SNR in dB.
        rng: picks the offset into the noise.

    Returns:
        (noisy, scaled_noise), both float32 (frames,), noisy = clean + scaled_noise.

    Raises:
        ValueError: not 1-D, empty, silent clean or noise (no SNR is defined), or a non-finite SNR.
    """
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if clean.ndim != 1 or noise.ndim != 1 or clean.size == 0 or noise.size == 0:
        raise ValueError(f"need non-empty 1-D signals, got shapes {clean.shape} and {noise.shape}")
    if not math.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, got {snr_db}")
    offset = 0 if rng is None else int(rng.integers(0, noise.size))
    segment = noise[(offset + np.arange(clean.size)) % noise.size]
    clean_energy = float(np.sum(clean**2))
    noise_energy = float(np.sum(segment**2))
    if clean_energy == 0.0:
        raise ValueError("the clean signal is silent; an SNR needs some signal")
    if noise_energy == 0.0:
        raise ValueError("the noise is silent over the mixed span; choose another noise or offset")
    scaled = segment * math.sqrt(clean_energy / (noise_energy * 10.0 ** (snr_db / 10.0)))
    return (clean + scaled).astype(np.float32), scaled.astype(np.float32)
