"""Image and audio metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aecodec.metrics.audio import mel_distance, si_snr
from aecodec.metrics.image import PSNR_CAP_DB, ms_ssim, ms_ssim_scales, psnr_rgb

RNG = np.random.default_rng(0)


def image(height: int, width: int, channels: int = 3) -> np.ndarray:
    return RNG.integers(0, 256, (height, width, channels), dtype=np.uint8)


def test_psnr_known_values() -> None:
    ref = np.full((4, 5, 3), 100, np.uint8)
    assert psnr_rgb(ref, ref) == PSNR_CAP_DB
    assert psnr_rgb(ref, ref + 1) == pytest.approx(20 * math.log10(255))  # MSE 1
    assert psnr_rgb(np.zeros_like(ref), np.full_like(ref, 255)) == pytest.approx(0.0)
    half = ref.copy()
    half[:, :, 0] += 3  # one channel off by 3: MSE 9 / 3 = 3 over all channels
    assert psnr_rgb(ref, half) == pytest.approx(10 * math.log10(255**2 / 3))


def test_psnr_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        psnr_rgb(image(4, 4), image(4, 5))


def test_ms_ssim_scales_follow_the_image_size() -> None:
    assert [ms_ssim_scales(side) for side in (10, 11, 21, 64, 160, 161, 4000)] == [0, 1, 2, 3, 4, 5, 5]


def test_ms_ssim_matches_pytorch_msssim_on_full_size_images() -> None:
    import torch
    from pytorch_msssim import ms_ssim as reference

    ref, noisy = image(170, 180), image(170, 180)
    test = ((ref.astype(np.int32) * 3 + noisy) // 4).astype(np.uint8)
    x, y = (torch.from_numpy(a).permute(2, 0, 1)[None].float() for a in (ref, test))
    expected = float(reference(x, y, data_range=255))
    assert ms_ssim(ref, test) == pytest.approx(expected, abs=1e-6)


def test_ms_ssim_on_small_images() -> None:
    ref = image(64, 64)
    assert ms_ssim(ref, ref) == pytest.approx(1.0)
    assert 0.0 < ms_ssim(ref, (ref // 2).astype(np.uint8)) < 0.99
    assert math.isnan(ms_ssim(image(10, 40), image(10, 40)))


def tone(frames: int, cycles: int, channels: int = 1) -> np.ndarray:
    t = np.arange(frames) / frames
    return np.repeat(np.sin(2 * np.pi * cycles * t)[:, None], channels, axis=1)


def test_si_snr_known_values() -> None:
    ref = tone(4800, 5)
    orthogonal = np.cos(2 * np.pi * 5 * np.arange(4800) / 4800)[:, None]  # whole periods: <ref, cos> = 0
    assert si_snr(ref, ref + 0.1 * orthogonal) == pytest.approx(20.0, abs=1e-6)
    assert si_snr(ref, 3.0 * (ref + 0.1 * orthogonal)) == pytest.approx(20.0, abs=1e-6)  # scale-invariant
    assert si_snr(ref, ref + 0.25) == pytest.approx(si_snr(ref, ref))  # offsets removed
    assert si_snr(ref, ref) > 80.0
    assert si_snr(ref[:, 0], ref[:, 0] + orthogonal[:, 0]) == pytest.approx(0.0, abs=1e-6)


def test_si_snr_averages_channels() -> None:
    ref = tone(4800, 5, channels=2)
    orthogonal = np.cos(2 * np.pi * 5 * np.arange(4800) / 4800)
    est = ref.copy()
    est[:, 0] += 0.1 * orthogonal  # 20 dB
    est[:, 1] += 0.01 * orthogonal  # 40 dB
    assert si_snr(ref, est) == pytest.approx(30.0, abs=1e-6)


def test_mel_distance_zero_for_identical_and_positive_otherwise() -> None:
    ref = (0.5 * tone(8000, 220)).astype(np.float32)
    assert mel_distance(ref, ref, 8000) == 0.0
    noisy = ref + 0.05 * RNG.standard_normal(ref.shape).astype(np.float32)
    quieter = 0.5 * ref
    assert mel_distance(ref, noisy, 8000) > 0.1
    # A gain of 1/2 shifts every log10 magnitude by log10(2) ~ 0.301 in each of the 3 resolutions
    # (bands above the floor only, so a little less).
    assert 0.5 < mel_distance(ref, quieter, 8000) <= 3 * math.log10(2) + 1e-6


def test_mel_distance_needs_equal_shapes_and_enough_frames() -> None:
    with pytest.raises(ValueError, match="one shape"):
        mel_distance(np.zeros(2000), np.zeros(2001), 16000)
    with pytest.raises(ValueError, match="more than 1024"):
        mel_distance(np.zeros(1024), np.zeros(1024), 16000)
