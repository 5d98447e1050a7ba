"""The shipped restoration models do their job on bundled samples (pretrained/, no stand-ins)."""

from __future__ import annotations

import numpy as np

from aecodec.media.types import Audio, Image
from aecodec.metrics.audio import si_snr
from aecodec.metrics.image import psnr_rgb


def test_shipped_denoiser_removes_most_of_the_noise(sample_rgb):
    from aecodec.restore.degrade import add_awgn_uint8
    from aecodec.restore.image import denoise_image

    clean = sample_rgb[:, :, :3]
    noisy = add_awgn_uint8(clean, 25, np.random.default_rng(0))
    out = denoise_image(Image(noisy), device="cpu").pixels
    assert psnr_rgb(clean, out) > psnr_rgb(clean, noisy) + 8


def test_shipped_inpainter_does_better_than_its_smooth_starting_fill(sample_rgb):
    import torch

    from aecodec.bench.restore_image import hole_psnr
    from aecodec.models.image.restore_unet import pull_push
    from aecodec.restore.image import inpaint_image
    from aecodec.restore.masks import brush_stroke_mask

    clean = sample_rgb[:, :, :3]
    mask = brush_stroke_mask(*clean.shape[:2], np.random.default_rng(1))
    holed = np.where(mask[:, :, None], np.uint8(0), clean)
    out = inpaint_image(Image(holed), mask, device="cpu").pixels
    assert np.array_equal(out[~mask], clean[~mask])
    x = torch.from_numpy(holed).permute(2, 0, 1)[None].float() / 255
    fill = pull_push(x, torch.from_numpy(mask)[None, None].float())[0].permute(1, 2, 0).numpy() * 255
    smooth = np.clip(np.rint(fill), 0, 255).astype(np.uint8)
    assert hole_psnr(clean, out, mask) > hole_psnr(clean, smooth, mask)


def test_shipped_audio_denoiser_improves_noisy_speech_and_keeps_clean_tones():
    from aecodec.restore.audio import denoise_audio

    rate = 24000
    t = np.arange(3 * rate) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(0.2 / k * np.sin(k * phase) for k in range(1, 12)) * (np.sin(2 * np.pi * 3 * t) > -0.3)
    noise = np.random.default_rng(2).standard_normal(t.size) * np.sqrt(np.mean(voice**2))
    noisy = (voice + noise).astype(np.float32)[:, None]
    out = denoise_audio(Audio(noisy, rate), device="cpu").samples
    assert si_snr(voice, out[:, 0]) > si_snr(voice, noisy[:, 0]) + 3
    chord = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 554 * t)).astype(np.float32)[:, None]
    kept = denoise_audio(Audio(chord, rate), device="cpu").samples
    assert si_snr(chord[:, 0], kept[:, 0]) > 15
