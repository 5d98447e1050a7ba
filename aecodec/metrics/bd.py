"""Bjøntegaard delta rate and quality between two rate-quality curves (VCEG-M33), numpy only.

Both fit a cubic polynomial per curve and average the gap between the two fits over the range
the curves share: BD-rate fits log(rate) as a function of quality, BD-quality (BD-PSNR) fits
quality as a function of log(rate). Rates may be in any unit (bpp, kbps, bytes) as long as both
curves use the same one; quality must grow with rate (use -distortion for distortions). Fit
MS-SSIM in dB (``aecodec.metrics.image.ms_ssim_db``), as is usual: on the raw 0..1 scale the
high-rate points crowd against 1 and the cubic fit of log rate against them is poorly conditioned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_POINTS = 4
"""A cubic fit needs at least four points per curve."""


def _curve(rates: Sequence[float], qualities: Sequence[float], which: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one curve and return (log rate, quality) sorted by rate."""
    rate = np.asarray(rates, dtype=np.float64)
    quality = np.asarray(qualities, dtype=np.float64)
    if rate.ndim != 1 or rate.shape != quality.shape:
        raise ValueError(f"{which} curve: rates and qualities must be 1-D of one length")
    if rate.size < MIN_POINTS:
        raise ValueError(f"{which} curve: needs at least {MIN_POINTS} points, got {rate.size}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(quality)) and np.all(rate > 0)):
        raise ValueError(f"{which} curve: rates must be finite and positive, qualities finite")
    order = np.argsort(rate)
    rate, quality = rate[order], quality[order]
    if np.any(np.diff(rate) <= 0) or np.any(np.diff(quality) <= 0):
        raise ValueError(f"{which} curve: quality must rise strictly with rate")
    return np.log(rate), quality


def _mean_gap(x_ref: np.ndarray, y_ref: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Mean of (cubic fit of test - cubic fit of ref) over the x range both curves cover."""
    low = max(x_ref.min(), x_test.min())
    high = min(x_ref.max(), x_test.max())
    if high <= low:
        raise ValueError("the two curves do not overlap; measure them over a common range")
    areas = []
    for x, y in ((x_ref, y_ref), (x_test, y_test)):
        integral = np.polyint(np.polyfit(x, y, 3))
        areas.append(np.polyval(integral, high) - np.polyval(integral, low))
    return float((areas[1] - areas[0]) / (high - low))


def bd_rate(
    rates_ref: Sequence[float],
    qualities_ref: Sequence[float],
    rates_test: Sequence[float],
    qualities_test: Sequence[float],
) -> float:
    """Average rate change of the test curve against the reference at equal quality, in percent.

    Negative is better: -30.0 means the test codec needs 30 % fewer bits for the same quality.

    Raises:
        ValueError: a curve has fewer than 4 points, non-finite or non-positive values, quality
            not strictly rising with rate, or the curves share no quality range.
    """
    log_ref, q_ref = _curve(rates_ref, qualities_ref, "reference")
    log_test, q_test = _curve(rates_test, qualities_test, "test")
    return (float(np.exp(_mean_gap(q_ref, log_ref, q_test, log_test))) - 1.0) * 100.0


def bd_psnr(
    rates_ref: Sequence[float],
    qualities_ref: Sequence[float],
    rates_test: Sequence[float],
    qualities_test: Sequence[float],
) -> float:
    """Average quality gain of the test curve over the reference at equal rate (dB for PSNR).

    Works for any quality measure; positive is better.

    Raises:
        ValueError: as ``bd_rate``, with the shared range taken over log rate.
    """
    log_ref, q_ref = _curve(rates_ref, qualities_ref, "reference")
    log_test, q_test = _curve(rates_test, qualities_test, "test")
    return _mean_gap(log_ref, q_ref, log_test, q_test)
