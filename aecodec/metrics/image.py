"""Image quality metrics on uint8 arrays of shape (H, W, C).

PSNR is plain numpy; MS-SSIM uses pytorch_msssim and imports torch only when called;
``ms_ssim_db`` puts MS-SSIM on the decibel scale its RD curves and BD-rates use.
"""

from __future__ import annotations

import math

import numpy as np

PSNR_CAP_DB = 100.0
"""PSNR of identical images, and the ceiling of every PSNR, so results stay finite JSON numbers."""

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Per-scale exponents from Wang et al. 2003, the pytorch_msssim defaults."""

_WINDOW = 11


def _check_pair(ref: np.ndarray, test: np.ndarray) -> None:
    if ref.shape != test.shape or ref.ndim != 3:
        raise ValueError(f"need two (H, W, C) arrays of one shape, got {ref.shape} and {test.shape}")


def psnr_rgb(ref: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB over all pixels and channels, peak 255, capped at ``PSNR_CAP_DB``.

    Args:
        ref, test: uint8 arrays of the same shape (H, W, C).

    Raises:
        ValueError: shapes differ or are not (H, W, C).
    """
    _check_pair(ref, test)
    mse = float(np.mean((ref.astype(np.float64) - test.astype(np.float64)) ** 2))
    if mse == 0.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(255.0**2 / mse))


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a decibel scale, ``-10 log10(1 - value)``, capped at ``PSNR_CAP_DB``.

    The usual way to plot and fit MS-SSIM (CompressAI and most learned-codec papers): 0.99 is
    20 dB, 0.999 30 dB, so the high-quality end is not squeezed against 1. BD-rates on MS-SSIM
    are fitted on this scale. Values at or below 0 give 0 dB, 1 (identical images; float
    rounding can give a hair more) the cap.

    Raises:
        ValueError: ``value`` is NaN.
    """
    if math.isnan(value):
        raise ValueError("MS-SSIM is NaN; the image is too small to measure")
    if value >= 1.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, -10.0 * math.log10(1.0 - max(value, 0.0)))


def ms_ssim_scales(short_side: int) -> int:
    """How many MS-SSIM scales fit an image: 5 from 161 px, fewer below, 0 under 11 px.

    Each scale halves the image and the 11-tap window must still fit the smallest one.
    """
    scales = 0
    while scales < len(MS_SSIM_WEIGHTS) and short_side > (_WINDOW - 1) * 2**scales:
        scales += 1
    return scales


def ms_ssim(ref: np.ndarray, test: np.ndarray) -> float:
    """MS-SSIM (Wang et al. 2003) of two uint8 (H, W, C) images, channels averaged.

    Images of 161 px or more on the short side get the standard 5 scales, computed exactly as
    ``pytorch_msssim.ms_ssim(data_range=255)``. Smaller ones (e.g. test images) use as many scales
    as fit, with the first weights renormalised to sum to 1; under 11 px the result is NaN.

    Raises:
        ValueError: shapes differ or are not (H, W, C).
    """
    _check_pair(ref, test)
    scales = ms_ssim_scales(min(ref.shape[:2]))
    if scales == 0:
        return math.nan
    import torch
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=torch.float64)
    if scales < len(MS_SSIM_WEIGHTS):
        weights = weights / weights.sum()
    x = torch.from_numpy(np.ascontiguousarray(ref.transpose(2, 0, 1))).float()[None]
    y = torch.from_numpy(np.ascontiguousarray(test.transpose(2, 0, 1))).float()[None]
    window = _fspecial_gauss_1d(_WINDOW, 1.5).repeat(x.shape[1], 1, 1, 1)
    # pytorch_msssim's public ms_ssim asserts 5 scales; its per-scale _ssim has no such limit.
    factors = []
    with torch.no_grad():
        for scale in range(scales):
            ssim_per_channel, cs = _ssim(x, y, 255, window, size_average=False)
            if scale < scales - 1:
                factors.append(torch.relu(cs))
                padding = [s % 2 for s in x.shape[2:]]
                x = torch.nn.functional.avg_pool2d(x, kernel_size=2, padding=padding)
                y = torch.nn.functional.avg_pool2d(y, kernel_size=2, padding=padding)
        factors.append(torch.relu(ssim_per_channel))
        stacked = torch.stack(factors).double()  # (scale, batch, channel)
        value = torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean()
    return float(value)
