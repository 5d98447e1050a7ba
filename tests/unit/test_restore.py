"""Restoration: the U-Net and mask networks, the image and audio pipelines, and their trainer."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from aecodec.errors import InputError
from aecodec.media.types import Audio, Image
from aecodec.models.image.restore_unet import RestorationUNet, UNetConfig, denoise, inpaint


@pytest.fixture
def models(restore_models, monkeypatch):
    import aecodec.models.registry as registry

    monkeypatch.setenv("AECODEC_MODELS", str(restore_models))
    monkeypatch.setattr(registry, "_LOADED", {})
    return restore_models


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("size", [(1, 1), (7, 13), (40, 33)])
def test_unet_keeps_any_size(gated, size):
    net = RestorationUNet(UNetConfig(widths=(4, 8, 8), blocks=1, gated=gated))
    x = torch.rand(2, 4, *size)
    assert net(x).shape == (2, 3, *size)


def test_fresh_denoiser_is_the_identity_and_inpaint_keeps_known_pixels():
    net = RestorationUNet(UNetConfig(widths=(4, 8, 8), blocks=1))
    x = torch.rand(1, 3, 24, 24)
    assert torch.equal(denoise(net, x, torch.tensor([25.0])), x)  # zero-initialised output layer
    torch.nn.init.normal_(net.tail.weight)
    mask = (torch.rand(1, 1, 24, 24) < 0.2).float()
    out = inpaint(net, x, mask)
    keep = mask.expand_as(x) == 0
    assert torch.equal(out[keep], x[keep]) and not torch.equal(out, x)


@pytest.mark.parametrize("sigma", [10.0, 25.0, 50.0])
def test_estimate_sigma_on_a_textured_image(sample_rgb, sigma):
    from aecodec.restore.degrade import add_awgn_uint8
    from aecodec.restore.image import estimate_sigma

    noisy = add_awgn_uint8(sample_rgb[:, :, :3], sigma, np.random.default_rng(0))
    assert abs(estimate_sigma(noisy) - sigma) < 0.15 * sigma + 1


def test_denoise_image_modes_strength_and_alpha(models, sample_rgb):
    from aecodec.restore.image import denoise_image

    rgb = Image(sample_rgb[:40, :50, :3].copy())
    out = denoise_image(rgb, device="cpu")
    assert out.pixels.shape == rgb.pixels.shape and out.pixels.dtype == np.uint8
    assert np.array_equal(denoise_image(rgb, strength=0.0, device="cpu").pixels, rgb.pixels)
    alpha = np.full((40, 50, 1), 7, np.uint8)
    rgba = denoise_image(Image(np.concatenate([rgb.pixels, alpha], 2)), sigma=20, device="cpu")
    assert rgba.channels == 4 and np.array_equal(rgba.pixels[:, :, 3:], alpha)
    assert denoise_image(Image(rgb.pixels[:, :, :1].copy()), device="cpu").channels == 1
    with pytest.raises(InputError):
        denoise_image(rgb, strength=1.5)


def test_inpaint_image_changes_only_the_holes(models, sample_rgb):
    from aecodec.restore.image import inpaint_image
    from aecodec.restore.masks import brush_stroke_mask

    image = Image(sample_rgb[:64, :80].copy())
    mask = brush_stroke_mask(64, 80, np.random.default_rng(3))
    out = inpaint_image(image, mask, device="cpu")
    assert np.array_equal(out.pixels[~mask], image.pixels[~mask])
    assert inpaint_image(image, np.zeros((64, 80), bool), device="cpu") is image
    with pytest.raises(InputError):
        inpaint_image(image, np.zeros((10, 10), bool))


def test_tiled_denoising_matches_untiled(models, sample_rgb, monkeypatch):
    import aecodec.restore.image as restore_image

    image = Image(np.tile(sample_rgb[:, :, :3], (2, 2, 1))[:150, :170].copy())
    whole = restore_image.denoise_image(image, sigma=15, device="cpu").pixels.astype(int)
    monkeypatch.setattr(restore_image, "TILE", 64)
    monkeypatch.setattr(restore_image, "MARGIN", 32)
    monkeypatch.setattr(restore_image, "_tile_for", lambda h, w: 64)
    tiled = restore_image.denoise_image(image, sigma=15, device="cpu").pixels.astype(int)
    assert np.abs(whole - tiled).max() <= 1


@pytest.mark.parametrize("rate,channels", [(24000, 1), (44100, 2), (8000, 1)])
def test_denoise_blocks_streams_any_rate_to_the_exact_length(models, rate, channels, monkeypatch):
    import aecodec.restore.audio as restore_audio

    monkeypatch.setattr(restore_audio, "CHUNK_SECONDS", 0.5)
    monkeypatch.setattr(restore_audio, "OVERLAP_SECONDS", 0.1)
    x = (0.1 * np.random.default_rng(1).standard_normal((int(1.7 * rate) + 3, channels))).astype(np.float32)
    whole = restore_audio.denoise_audio(Audio(x, rate), device="cpu")
    assert whole.samples.shape == x.shape and whole.sample_rate == rate
    blocks = [x[i : i + 999] for i in range(0, x.shape[0], 999)]
    streamed = np.concatenate(list(restore_audio.denoise_blocks(blocks, rate, channels, device="cpu")))
    assert np.abs(streamed - whole.samples).max() < 1e-5
    same = restore_audio.denoise_audio(Audio(x, rate), strength=0.0, device="cpu")
    assert np.array_equal(same.samples, x)


def test_very_short_audio(models):
    from aecodec.restore.audio import denoise_audio

    x = np.zeros((5, 1), np.float32)
    assert denoise_audio(Audio(x, 16000), device="cpu").samples.shape == (5, 1)


def test_inpaint_audio_continues_a_tone_through_the_gap():
    from aecodec.restore.audio import inpaint_audio

    rate = 16000
    t = np.arange(2 * rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 660 * t + 1)).astype(np.float32)[:, None]
    holed = x.copy()
    holed[rate : rate + 3200] = 0  # 200 ms
    out = inpaint_audio(Audio(holed, rate), [(rate, rate + 3200)]).samples
    assert np.abs(out - x)[rate : rate + 3200].max() < 0.01
    assert np.array_equal(out[: rate], holed[: rate]) and np.array_equal(out[rate + 3200 :], holed[rate + 3200 :])


def test_parse_gaps():
    from aecodec.restore.audio import gap_spans, parse_gaps

    def spans(text):
        return gap_spans(parse_gaps(text), 1000, 5000)

    assert spans("0.5-0.6, 0.1+0.1,0.55-0.7") == [(100, 200), (500, 700)]
    assert spans("4.9-5.5") == [(4900, 5000)]  # cut at the end
    assert spans("0:00:02.1+0.1,0:03-0:03.5") == [(2100, 2200), (3000, 3500)]
    assert spans("6-7") == []  # wholly past the end: a warning, not an error
    for bad in ("", "1", "a-b", "0.6-0.5", "0-3", "0.5:0.6", "1:75-2", "1-2-3"):
        with pytest.raises(InputError):
            spans(bad)


def tiny_run(tmp_path, task: str, steps: int, name: str):
    from pathlib import Path

    from aecodec.train.restore import RestoreTrainConfig

    images = Path(__file__).parents[1] / "data" / "images"
    return RestoreTrainConfig(task=task, data=[str(images)], crop=32, steps=steps, batch_size=2, warmup=1,
                              log_every=1, checkpoint_every=2, threads=1, device="cpu",
                              model={"widths": [4, 8, 8], "blocks": 1}, out=str(tmp_path / name))


@pytest.mark.parametrize("task", ["image-denoise", "image-inpaint"])
def test_restore_training_resumes_exactly(tmp_path, task):
    from aecodec.train.restore import train

    quiet = lambda _: None  # noqa: E731
    whole = torch.load(train(tiny_run(tmp_path, task, 4, "a"), log=quiet), weights_only=True)
    train(tiny_run(tmp_path, task, 2, "b"), log=quiet)
    resumed = torch.load(train(tiny_run(tmp_path, task, 4, "b"), resume=True, log=quiet), weights_only=True)
    assert resumed["step"] == whole["step"] == 4
    for key, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    losses = [json.loads(line)["loss"] for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 4 and all(np.isfinite(losses))


def test_exported_cards_record_training_and_compound(restore_models):
    from aecodec.models.registry import load_model
    from aecodec.train.checkpoint import load_weights

    card = json.loads((restore_models / "image-denoise-unet.v1000.json").read_text())
    assert card["architecture"] == "restore-unet" and card["trained"]["steps"] == 1
    assert card["trained"]["command"] == "test fixture" and card["config"]["widths"] == [8, 16, 32]
    net = RestorationUNet(UNetConfig(**card["config"]))
    assert load_weights(net, str(restore_models / "image-denoise-unet.v1000.safetensors")) == 1
    import os

    os.environ["AECODEC_MODELS"] = str(restore_models)
    try:
        _, audio_net = load_model("audio-denoise-gru")
    finally:
        del os.environ["AECODEC_MODELS"]
    assert audio_net.config.hidden == 16 and not any(p.requires_grad for p in audio_net.parameters())


def test_inpaint_batches_do_not_depend_on_the_workers_or_where_the_run_starts(tmp_path, batch_stream):
    from aecodec.train.restore import ImageInpaintTask

    task = ImageInpaintTask(tiny_run(tmp_path, "image-inpaint", 4, "a"), main=False)
    make = task.batch
    whole = batch_stream(make, 0, 0, 4)  # 4 steps x (clean, mask)
    assert len(whole) == 8 and not torch.equal(whole[1], whole[3])  # new holes every step
    part = batch_stream(make, 2, 1, 4)
    assert len(part) == 6 and all(map(torch.equal, part, whole[2:]))


@pytest.mark.parametrize("task", ["image-denoise", "image-inpaint", "audio-denoise"])
def test_restore_training_under_amp(tmp_path, task, tone_folder):
    from aecodec.train.restore import train

    cfg = replace(tiny_run(tmp_path, task, 1, "run"), amp="on")
    if task == "audio-denoise":
        cfg = replace(cfg, data=[str(tone_folder(tmp_path / "speech", "speech"))], segment_seconds=0.5,
                      noise_data=str(tone_folder(tmp_path / "noise", "noise")), model={"hidden": 16, "layers": 1})
    train(cfg, log=lambda _: None)
    assert np.isfinite(json.loads((tmp_path / "run" / "log.jsonl").read_text())["loss"])


def test_compressed_spectrum_loss_hears_quiet_residual_noise():
    from aecodec.train.denoise_losses import compressed_spectrum_db, snr_db

    gen = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000
    clean = (torch.sin(2 * math.pi * 200 * t) + 0.5 * torch.sin(2 * math.pi * 400 * t))[None]
    hiss = 0.003 * torch.randn(1, 16000, generator=gen)  # 50 dB below the tone: SNR hardly sees it
    scaled = 0.9 * clean  # a level error: SNR and the spectrum both see it
    assert float(compressed_spectrum_db(clean, clean)) < -40
    # The waveform SNR ranks the faint hiss far better than a 10 % level error; the compressed
    # spectrum ranks it far worse, as listeners (and PESQ) do.
    assert float(snr_db(clean, clean + hiss)) > float(snr_db(clean, scaled)) + 5
    assert float(compressed_spectrum_db(clean, clean + hiss)) > float(compressed_spectrum_db(clean, scaled)) + 10
    estimate = (clean + hiss).requires_grad_()
    compressed_spectrum_db(clean, estimate).sum().backward()
    assert torch.isfinite(estimate.grad).all()


def test_over_suppression_loss_charges_removed_speech_and_not_left_noise():
    from aecodec.train.denoise_losses import compressed_spectrum_db

    gen = torch.Generator().manual_seed(1)
    clean = torch.sin(2 * torch.pi * 440 * torch.arange(24000) / 24000)[None]  # a harmonic
    hiss = 0.1 * torch.randn(1, 24000, generator=gen)  # noise left between its cells
    removed = 0.3 * clean  # most of it suppressed, no noise left

    def missing(estimate):
        return float(compressed_spectrum_db(clean, estimate, missing_only=True))

    # The full loss ranks the left hiss worst; the one-sided one charges the removed harmonic.
    assert float(compressed_spectrum_db(clean, clean + hiss)) > float(compressed_spectrum_db(clean, removed)) + 10
    assert missing(removed) > missing(clean + hiss) + 15
    assert missing(clean) < -50
    # Capped, a perfect output scores no better than one that loses a little.
    capped = float(compressed_spectrum_db(clean, clean, missing_only=True, floor_db=15))
    assert -15.1 < capped < -14.9
    assert float(compressed_spectrum_db(clean, removed, missing_only=True, floor_db=15)) > capped + 4
    estimate = removed.clone().requires_grad_()
    compressed_spectrum_db(clean, estimate, missing_only=True).sum().backward()
    assert torch.isfinite(estimate.grad).all() and estimate.grad.abs().sum() > 0


def test_band_limited_loss_scores_a_narrow_band_target_only_within_its_band():
    from aecodec.train.denoise_losses import snr_db, target_band

    gen = torch.Generator().manual_seed(0)
    sr, n = 24000, 24000
    white = torch.randn(3, n, generator=gen)
    freqs = torch.fft.rfftfreq(n, 1 / sr)
    narrow = torch.fft.irfft(torch.fft.rfft(white[0]) * (freqs < 8000), n)  # speech sampled at 16 kHz
    clean = torch.stack([narrow, white[1], torch.zeros(n)])
    band = target_band(clean)
    edge = freqs[band[0].bool()].max()
    assert 7900 < edge < 8000 and band[1].mean() > 0.99 and band[2].all()
    # With every bin kept, the spectral sums are the waveform's (Parseval).
    estimate = clean + 0.1 * torch.randn(3, n, generator=gen)
    assert torch.allclose(snr_db(clean, estimate, torch.ones_like(band)), snr_db(clean, estimate), atol=1e-3)
    # Noise left above 8 kHz costs the narrow-band row nothing within its band, and everything without.
    hiss = torch.fft.irfft(torch.fft.rfft(white[2]) * (freqs > 9000), n)
    kept = clean[:1] + hiss
    assert float(snr_db(clean[:1], kept, band[:1])) > 29 > 10 > float(snr_db(clean[:1], kept))


def test_normalised_mask_net_hears_a_quiet_recording_as_a_loud_one():
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    torch.manual_seed(0)
    x = 0.3 * torch.randn(1, 24000)
    config = dict(hop=256, hidden=16, layers=1, bidirectional=True)
    plain, normalised = SpectralMaskNet(MaskConfig(**config)), SpectralMaskNet(MaskConfig(**config, normalise=True))
    normalised.load_state_dict(plain.state_dict())

    def gains(net, signal):
        with torch.no_grad():
            return net.gains(net.stft(signal))

    # 20 dB quieter: the same gains once the features are relative to the local level, not before.
    assert (gains(normalised, x) - gains(normalised, 0.1 * x)).abs().max() < 1e-3
    assert (gains(plain, x) - gains(plain, 0.1 * x)).abs().max() > 1e-2


def test_noise_floor_features_read_a_steady_noise_the_same_whatever_its_colour():
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    gen = torch.Generator().manual_seed(0)
    net = SpectralMaskNet(MaskConfig(hop=256, hidden=16, layers=1, bidirectional=True, normalise=True,
                                     floor_features=True))
    white = 0.1 * torch.randn(1, 3 * 24000, generator=gen)
    freqs = torch.fft.rfftfreq(white.shape[1], 1 / 24000)
    brown = torch.fft.irfft(torch.fft.rfft(white) / (1 + freqs / 100), white.shape[1])  # -20 dB/decade

    def above_floor(signal):
        features = torch.log(net.stft(signal).abs() + 1e-4).transpose(1, 2)
        return features - net.noise_floor(features)

    # Each bin sits a little above its floor under either noise, though their spectra differ by 40 dB.
    inner = slice(10, -10), slice(5, -5)
    means = [float(above_floor(noise)[0][inner].mean()) for noise in (white, brown)]
    assert all(0.3 < m < 2.5 for m in means) and abs(means[0] - means[1]) < 0.3
    # A tone far over the noise: held for the whole clip it is the floor of its bin (steady, like
    # hum), played for a tenth of a second it stands out there (like a syllable), and nowhere else.
    t = torch.arange(white.shape[1]) / 24000
    tone = white + 3 * torch.sin(2 * torch.pi * 1000 * t)
    burst = white + 3 * torch.sin(2 * torch.pi * 1000 * t) * ((t > 1.5) & (t < 1.6))
    k, frames = round(1000 * 512 / 24000), slice(int(1.52 * 24000 / 256), int(1.58 * 24000 / 256))
    assert float(above_floor(tone)[0][inner[0], k].mean()) < 1.5
    assert float(above_floor(burst)[0][frames, k].mean()) > 4
    assert float(above_floor(burst)[0][frames, k + 20].mean()) < 2
    assert net.gains(net.stft(tone)).shape == (1, 257, white.shape[1] // 256 + 1)


def test_the_convolutional_front_reads_every_band_with_the_same_filters():
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    torch.manual_seed(0)
    config = MaskConfig(hop=256, hidden=16, layers=1, bidirectional=True, normalise=True, floor_features=True,
                        conv_channels=4)
    net = SpectralMaskNet(config)
    # A pattern moved up by two bins comes out of the front moved up by one (it halves the bins),
    # away from the edges: the filters do not depend on the frequency.
    planes = torch.zeros(1, 2, 30, config.bins)
    planes[0, :, 10:14, 100:104] = torch.randn(2, 4, 4)
    moved = torch.roll(planes, 2, dims=3)
    with torch.no_grad():
        out, out_moved = net.front(planes), net.front(moved)
    assert out.shape == (1, 4, 30, 129) and float(out[0, :, :, 45:60].abs().max()) > 0
    assert torch.allclose(torch.roll(out, 1, dims=3)[..., 40:70], out_moved[..., 40:70], atol=1e-6)
    # The whole network still maps any clip to gains in [0, 1], one per bin and frame, and its card
    # names the option (and cards without it leave the key out, as before it existed).
    x = 0.1 * torch.randn(1, 24000)
    with torch.no_grad():
        gains = net.gains(net.stft(x))
    assert gains.shape == (1, 257, 24000 // 256 + 1) and 0 <= float(gains.min()) and float(gains.max()) <= 1
    assert config.to_dict()["conv_channels"] == 4 and "conv_channels" not in MaskConfig().to_dict()
    assert MaskConfig(**config.to_dict()) == config


def test_the_convolutional_front_can_leave_the_lowest_bins_to_the_dense_encoder():
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    torch.manual_seed(0)
    config = MaskConfig(hop=256, hidden=16, layers=1, bidirectional=True, normalise=False, conv_channels=4,
                        conv_from_hz=300.0)
    net = SpectralMaskNet(config)
    low = config.conv_from_bin
    assert low == 7  # 300 Hz is bin 6.4 at 24 kHz / 512: the front starts at the next whole bin
    seen = []
    net.encoder.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    spec = net.stft(0.1 * torch.randn(1, 24000))
    louder_low = spec.clone()
    louder_low[:, 2] *= 3  # one bin under 300 Hz
    with torch.no_grad():
        gains = net.gains(spec)
        net.gains(louder_low)
    before, after = seen
    # The encoder reads the low bins as they are, then the front's channels for the rest: the
    # louder low bin changes its own feature and none of the front's outputs.
    assert before.shape[-1] == low + 4 * ((config.bins - low + 1) // 2)
    changed = (after - before).abs().amax(dim=(0, 1)) > 1e-6
    assert changed.nonzero().flatten().tolist() == [2]
    assert gains.shape == (1, 257, 24000 // 256 + 1) and 0 <= float(gains.min()) and float(gains.max()) <= 1
    assert config.to_dict()["conv_from_hz"] == 300.0 and "conv_from_hz" not in MaskConfig().to_dict()
    assert MaskConfig(**config.to_dict()) == config


def test_the_deep_filter_starts_as_the_plain_mask_and_filters_only_the_low_bins_across_centred_frames():
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    torch.manual_seed(0)
    plain_config = MaskConfig(hop=256, hidden=16, layers=1, bidirectional=True, normalise=True)
    config = MaskConfig(**{**plain_config.to_dict(), "df_order": 3, "df_hz": 1000.0})
    assert config.df_bins == 22  # 1 kHz is bin 21.3 at 24 kHz / 512
    plain, net = SpectralMaskNet(plain_config), SpectralMaskNet(config)
    net.load_state_dict(plain.state_dict(), strict=False)  # the same mask; the filter's head starts at zero
    x = 0.1 * torch.randn(1, 12000)
    with torch.no_grad():
        assert torch.equal(net(x), plain(x))
        # A filter of one tap on the next frame (coefficient 0.5): the low bins gain half their next
        # frame, the bins from 1 kHz up are the plain mask's, and the last frame has no next one.
        head = net.df_head.bias.view(config.df_bins, 3, 2)
        head[:, 2, 0] = math.atanh(0.5)
        spec = net.stft(x)
        masked, filtered = plain.enhance(spec), net.enhance(spec)
    low = slice(0, config.df_bins)
    assert torch.allclose(filtered[:, low, :-1], masked[:, low, :-1] + 0.5 * spec[:, low, 1:], atol=1e-5)
    assert torch.allclose(filtered[:, low, -1], masked[:, low, -1], atol=1e-6)
    assert torch.equal(filtered[:, config.df_bins:], masked[:, config.df_bins:])
    assert config.to_dict()["df_order"] == 3 and "df_order" not in MaskConfig().to_dict()
    assert MaskConfig(**config.to_dict()) == config


def test_cycle_spinning_averages_frame_grids_that_line_up_with_the_input():
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    torch.manual_seed(0)
    net = SpectralMaskNet(MaskConfig(hop=256, hidden=16, layers=1, bidirectional=True, normalise=True))
    x = 0.1 * torch.randn(1, 12345)
    with torch.no_grad():
        plain, spun = net(x), net(x, spins=4)
        assert spun.shape == x.shape and float((spun - plain).abs().max()) > 1e-4  # the grids differ
        # With every gain at 1 each grid gives the input back: a delayed grid cropped one sample
        # off (or not at all) would not.
        net.decoder.weight.zero_()
        net.decoder.bias.fill_(30.0)
        assert torch.allclose(net(x, spins=4), x, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_only_the_bidirectional_mask_net_looks_ahead(bidirectional):
    from aecodec.models.audio.mask_gru import MaskConfig, SpectralMaskNet

    torch.manual_seed(0)
    net = SpectralMaskNet(MaskConfig(hop=256, hidden=16, layers=2, bidirectional=bidirectional))
    x = 0.1 * torch.randn(1, 24000)
    later = x.clone()
    later[:, 18000:] += 0.5 * torch.randn(1, 6000)  # a change 0.75 s in
    with torch.no_grad():
        a, b = net.gains(net.stft(x)), net.gains(net.stft(later))
    early = slice(0, 18000 // 256 - 4)  # frames whose STFT window ends before the change
    changed = (a[..., early] - b[..., early]).abs().max()
    assert (changed > 1e-4) if bidirectional else (changed == 0)


def peak_hz(rows: torch.Tensor, rate: int) -> np.ndarray:
    """The strongest frequency of each row."""
    return np.argmax(np.abs(np.fft.rfft(rows.numpy(), axis=1)), axis=1) * rate / rows.shape[1]


def test_a_denoise_recipe_can_play_the_speech_at_other_speeds(tmp_path, tone_folder):
    import soundfile

    from aecodec.errors import InputError
    from aecodec.train.restore import AudioDenoiseTask, RestoreTrainConfig

    rate = 24000
    (tmp_path / "speech").mkdir()
    tone = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(3 * rate) / rate)
    soundfile.write(tmp_path / "speech" / "tone.wav", tone.astype(np.float32), rate)
    degrade = {"p_clean": 1.0, "p_reverb": 0.0, "p_speech_eq": 0.0, "speech_speed": [1.5, 1.5]}
    cfg = RestoreTrainConfig(task="audio-denoise", data=[str(tmp_path / "speech")], batch_size=3, segment_seconds=1.0,
                             noise_data=str(tone_folder(tmp_path / "noise", "noise")), degrade=degrade,
                             model={"sample_rate": rate}, device="cpu", out=str(tmp_path / "run"))
    noisy, clean = AudioDenoiseTask(cfg, main=False).batch(torch.Generator().manual_seed(0))
    assert torch.equal(noisy, clean)  # p_clean 1: nothing mixed in
    assert np.all(np.abs(peak_hz(clean, rate) - 1500) < 5)  # the 1 kHz "voice" played 1.5x
    with pytest.raises(InputError, match="speech_speed"):
        AudioDenoiseTask(replace(cfg, degrade={**degrade, "speech_speed": [0.9, 3.0]}), main=False)


def speech_and_music_run(tmp_path, tone_folder, degrade: dict, batch_size: int):
    """A denoise run whose "speech" is a 1 kHz tone and whose "music" a 3 kHz one."""
    import soundfile

    from aecodec.train.restore import RestoreTrainConfig

    rate = 24000
    t = np.arange(3 * rate) / rate
    for folder, hz in (("speech", 1000), ("music", 3000)):
        (tmp_path / folder).mkdir()
        soundfile.write(tmp_path / folder / "tone.wav", (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)
    return RestoreTrainConfig(task="audio-denoise", data=[str(tmp_path / "speech"), str(tmp_path / "music")],
                              batch_size=batch_size, segment_seconds=1.0,
                              noise_data=str(tone_folder(tmp_path / "noise", "noise")), degrade=degrade,
                              model={"sample_rate": rate}, device="cpu", out=str(tmp_path / "run"))


@pytest.mark.parametrize("p_music", [0.0, 1.0])
def test_a_denoise_recipe_sets_the_share_of_music_among_the_clean_signals(tmp_path, tone_folder, p_music):
    from aecodec.train.restore import AudioDenoiseTask

    degrade = {"p_clean": 1.0, "p_reverb": 0.0, "p_speech_eq": 0.0, "p_music": p_music}
    cfg = speech_and_music_run(tmp_path, tone_folder, degrade, batch_size=8)
    _, clean = AudioDenoiseTask(cfg, main=False).batch(torch.Generator().manual_seed(0))
    assert np.all(np.abs(peak_hz(clean, 24000) - (3000 if p_music else 1000)) < 5)
    with pytest.raises(InputError, match="p_music"):
        AudioDenoiseTask(replace(cfg, degrade={**degrade, "p_music": 1.5}), main=False)


@pytest.mark.parametrize("p_music_noisy", [0.0, 1.0])
def test_a_denoise_recipe_can_keep_music_targets_clean(tmp_path, tone_folder, p_music_noisy):
    from aecodec.train.restore import AudioDenoiseTask

    degrade = {"p_clean": 0.0, "p_reverb": 0.0, "p_speech_eq": 0.0, "p_music": 0.5, "p_music_noisy": p_music_noisy}
    cfg = speech_and_music_run(tmp_path, tone_folder, degrade, batch_size=32)
    noisy, clean = AudioDenoiseTask(cfg, main=False).batch(torch.Generator().manual_seed(0))
    music = np.abs(peak_hz(clean, 24000) - 3000) < 5
    unchanged = torch.isclose(noisy, clean, atol=1e-6).all(1).numpy()
    assert 0 < music.sum() < len(music)
    assert not unchanged[~music].any()  # speech always gets its noise (p_clean 0)
    assert unchanged[music].all() if p_music_noisy == 0 else not unchanged[music].any()
    with pytest.raises(InputError, match="p_music_noisy"):
        AudioDenoiseTask(replace(cfg, degrade={**degrade, "p_music_noisy": -0.1}), main=False)
