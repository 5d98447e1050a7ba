"""Training of the restoration models: image denoiser, image inpainter, audio denoiser.

Each is a ``loop.Task``: it supplies the model, the degraded batches (made on the fly from clean
data with each step's own generator, so every step sees new noise and new holes), the loss and
the validation; ``loop.train`` runs them alone or under torchrun (DDP), resumes exactly, and
compounds across runs via ``init``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aecodec.errors import InputError
from aecodec.models.image.restore_unet import denoise, inpaint
from aecodec.train.denoise_losses import compressed_spectrum_db, snr_db, target_band
from aecodec.train.loop import RunConfig, Task, train as train_task
from aecodec.train.music_detector import MusicDetectorTask
from aecodec.train.noise_synth import (DEFAULT_WEIGHTS, NoiseBank, at_speed, random_eq, reverberate, room_impulse,
                                       speed_range)
from aecodec.train.recipe import read_recipe

SUPPRESSION_FLOOR_DB = 15.0  # audio-denoise: the over-suppression term's cap (denoise_losses.compressed_spectrum_db)


@dataclass
class RestoreTrainConfig(RunConfig):
    task: str = "image-denoise"
    data: list[str] = field(default_factory=list)  # images, or clean audio folders (speech, music)
    noise_data: str | None = None  # audio-denoise: folder of noise recordings
    val_data: str | None = None  # images, or a folder with speech/ and noise/ inside
    out: str = "runs/restore"
    steps: int = 4000
    batch_size: int = 16
    crop: int = 96  # images: training crop side
    segment_seconds: float = 2.0  # audio: training segment length
    lr: float = 1e-3
    warmup: int = 100
    decay_from: float = 0.5
    checkpoint_every: int = 250
    degrade: dict = field(default_factory=dict)  # the task's degradation settings
    spectral_loss: float = 0.0  # audio-denoise: weight of the compressed-spectrum term (dB) beside -SNR
    suppression_loss: float = 0.0  # audio-denoise: weight of the over-suppression term (dB): speech removed
    band_limited_loss: bool = False  # audio-denoise: score each row only within its clean target's band
    model: dict = field(default_factory=dict)  # the architecture's config


# --- tasks ----------------------------------------------------------------------------------

class ImageRestoreTask(Task):
    """A U-Net task on random crops of one folder of images, validated on the 256x256 centre
    crops of the first ``val_images`` held-out images, degraded once with a fixed seed."""

    architecture = "restore-unet"
    unet: dict  # the task's UNetConfig settings under the recipe's "model"
    defaults: dict  # the degradation settings a recipe's "degrade" may change
    val_seed: int
    val_images: int

    def __init__(self, cfg: RestoreTrainConfig, main: bool):
        from aecodec.train.data import RandomCrops, list_images, read_rgb_tensors

        super().__init__(cfg, main)
        self.opts = {**self.defaults, **cfg.degrade}
        self.crops = RandomCrops(read_rgb_tensors(list_images(cfg.data[0]), cfg.crop), cfg.crop)
        if cfg.val_data and main:
            rng = np.random.default_rng(self.val_seed)
            for img in read_rgb_tensors(list_images(cfg.val_data), 256)[: self.val_images]:
                clean = centre_crop(img, 256).permute(1, 2, 0).numpy()
                self.val.append((clean, self.degrade_for_validation(clean, rng)))

    def degrade_for_validation(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The validation input paired with ``clean`` (HxWx3 uint8), drawn from ``rng``."""
        raise NotImplementedError

    @classmethod
    def model_config(cls, model: dict):
        from aecodec.models.image.restore_unet import UNetConfig

        return UNetConfig(**{"in_channels": 4, "out_channels": 3, **cls.unet, **model})

    def build_model(self) -> nn.Module:
        from aecodec.models.image.restore_unet import RestorationUNet

        return RestorationUNet(self.model_config(self.cfg.model))


class ImageDenoiseTask(ImageRestoreTask):
    """Blind colour denoising with a noise-level map (FFDNet): AWGN over a range of sigma,
    signal-dependent Poisson-Gaussian noise, and noise that went through JPEG afterwards. The
    noisy input is rounded and clipped to 8 bits, as real noisy files are; the map carries the
    noise's overall standard deviation, which inference estimates (or takes from --sigma)."""

    keys = ("loss", "psnr")
    unet = {}
    defaults = {"sigma": [0.0, 55.0], "p_poisson": 0.2, "p_jpeg": 0.1, "jpeg_quality": [60, 95]}
    val_seed, val_images = 1234, 4

    def degrade_for_validation(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """AWGN at sigma 25, in 8 bits."""
        return np.clip(np.round(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        size = self.cfg.batch_size
        clean = self.crops.batch(size, gen)
        noisy, sigma = torch.empty_like(clean), torch.empty(size)
        lo, hi = self.opts["sigma"]
        for i in range(size):
            s = (lo + (hi - lo) * float(torch.rand(1, generator=gen))) / 255
            kind = float(torch.rand(1, generator=gen))
            if kind < self.opts["p_poisson"]:
                # variance a*x + b with a share of the total picked at random; sigma = its RMS
                share = float(torch.rand(1, generator=gen))
                mean = float(clean[i].mean().clamp_min(0.05))
                var = share * s * s * clean[i] / mean + (1 - share) * s * s
                x = clean[i] + var.sqrt() * torch.randn(clean[i].shape, generator=gen)
            else:
                x = clean[i] + s * torch.randn(clean[i].shape, generator=gen)
            x = torch.round(x.clamp(0, 1) * 255) / 255
            if kind > 1 - self.opts["p_jpeg"]:
                qlo, qhi = self.opts["jpeg_quality"]
                x = jpeg_roundtrip(x, int(qlo + (qhi - qlo) * float(torch.rand(1, generator=gen))))
            noisy[i], sigma[i] = x, s * 255
        return noisy, sigma, clean

    def loss(self, model: nn.Module, forward: Callable[..., torch.Tensor], batch) -> dict:
        noisy, sigma, clean = batch
        out = denoise(forward, noisy, sigma)
        mse = (out - clean).square().mean()
        return {"loss": mse, "psnr": -10 * torch.log10(mse.detach().clamp_min(1e-10))}

    def validate(self, model: nn.Module) -> dict:
        """PSNR on 256x256 dev crops at sigma 25, given the true sigma and estimated blind."""
        from aecodec.metrics.image import psnr_rgb
        from aecodec.restore.image import estimate_sigma

        device = next(model.parameters()).device
        known, blind = [], []
        for clean, noisy in self.val:
            x = torch.from_numpy(noisy).permute(2, 0, 1)[None].float().div(255).to(device)
            for sigma, scores in ((25.0, known), (estimate_sigma(noisy), blind)):
                out = denoise(model, x, torch.tensor([sigma], device=device))
                pixels = (out[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
                scores.append(psnr_rgb(clean, pixels))
        return {"psnr_sigma25": float(np.mean(known)), "psnr_blind25": float(np.mean(blind))}


class ImageInpaintTask(ImageRestoreTask):
    """Free-form brush strokes and boxes; the loss is the MSE inside the holes (the pixels
    outside are pasted back unchanged, so only the holes matter)."""

    keys = ("loss", "psnr_hole")
    unet = {"gated": True}
    defaults = {"strokes": [1, 7], "width": [6, 28], "fraction": [0.03, 0.2], "p_box": 0.1}
    val_seed, val_images = 4321, 6

    def degrade_for_validation(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The mask of the evaluation protocol."""
        return self.mask(256, 256, rng, protocol=True)

    def mask(self, h: int, w: int, rng: np.random.Generator, protocol: bool = False) -> np.ndarray:
        from aecodec.restore.masks import box_mask, brush_stroke_mask

        if protocol:
            return brush_stroke_mask(h, w, rng)
        o = self.opts
        m = brush_stroke_mask(h, w, rng, strokes=tuple(o["strokes"]), width_px=tuple(o["width"]),
                              fraction=tuple(o["fraction"]))
        if rng.random() < o["p_box"]:
            m |= box_mask(h, w, rng)
        return m

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        size, c = self.cfg.batch_size, self.cfg.crop
        clean = self.crops.batch(size, gen)
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen)))  # the masks' numpy RNG
        mask = torch.from_numpy(np.stack([self.mask(c, c, rng) for _ in range(size)]))[:, None].float()
        return clean, mask

    def loss(self, model: nn.Module, forward: Callable[..., torch.Tensor], batch) -> dict:
        clean, mask = batch
        out = inpaint(forward, clean, mask)
        mse = ((out - clean).square() * mask).sum() / (3 * mask.sum()).clamp_min(1)
        return {"loss": mse, "psnr_hole": -10 * torch.log10(mse.detach().clamp_min(1e-10))}

    def validate(self, model: nn.Module) -> dict:
        device = next(model.parameters()).device
        scores = []
        for clean, mask in self.val:
            x = torch.from_numpy(clean).permute(2, 0, 1)[None].float().div(255).to(device)
            m = torch.from_numpy(mask)[None, None].float().to(device)
            out = (inpaint(model, x, m)[0].clamp(0, 1) * 255).round().permute(1, 2, 0).cpu().numpy()
            err = (out - clean.astype(np.float64))[mask]
            scores.append(10 * math.log10(255**2 / max(float(np.mean(err**2)), 1e-10)))
        return {"psnr_hole": float(np.mean(scores))}


def held_in(files: list[Path], folder: str | Path, exclude: list[str]) -> list[Path]:
    """The noise recordings left after dropping those whose path under ``folder`` matches one of
    the ``exclude`` glob patterns: how a recipe holds a noise *kind* out of training so that dev
    can score it as unseen. A pattern that matches nothing is an error (a typo would silently
    hold nothing out), and so is excluding every file."""
    from fnmatch import fnmatchcase

    from aecodec.errors import InputError

    names = [f.relative_to(folder).as_posix() for f in files]
    for pattern in exclude:
        if not any(fnmatchcase(n, pattern) for n in names):
            raise InputError(f"degrade.exclude_noise pattern '{pattern}' matches no file in '{folder}'")
    kept = [f for f, n in zip(files, names) if not any(fnmatchcase(n, p) for p in exclude)]
    if not kept:
        raise InputError(f"degrade.exclude_noise leaves no noise recording in '{folder}'")
    return kept


class AudioDenoiseTask(Task):
    """Clean speech (and some music, to be kept intact) plus noise at a random SNR; some
    segments are clean and must pass unchanged. The loss is the negative SNR of the output,
    which unlike SI-SNR also keeps the level right, plus ``spectral_loss`` times the
    compressed-spectrum error (dB) and ``suppression_loss`` times its over-suppressed part (dB)
    when the recipe asks for them."""

    architecture = "audio-mask-gru"
    keys = ("loss", "snr_in", "snr_out")
    defaults = {"snr_db": [-5.0, 20.0], "p_clean": 0.1, "gain_db": [-25.0, 0.0],
                "noise_kinds": list(DEFAULT_WEIGHTS), "p_reverb": 0.25, "p_speech_eq": 0.2,
                "exclude_noise": [], "noise_speed": [1.0, 1.0], "babble_talkers": [3, 8],
                "babble_spread_db": 6.0, "speech_speed": [1.0, 1.0], "patterns_from_hz": 100.0,
                "patterns_repeat": 0.5, "patterns_octaves": [0.03, 2.0], "p_music": 0.25, "p_music_noisy": 1.0}

    def __init__(self, cfg: RestoreTrainConfig, main: bool):
        from aecodec.train.audio_data import RandomSegments, list_audio, load_mono

        super().__init__(cfg, main)
        self.opts = {**self.defaults, **cfg.degrade}
        self.speech_speed = speed_range(self.opts["speech_speed"], "speech_speed", 0.5, 2.0)
        for key, what in (("p_music", "the share of clean segments that are music"),
                          ("p_music_noisy", "the share of music segments that get noise")):
            if not 0.0 <= self.opts[key] <= 1.0:
                raise InputError(f"degrade.{key} must be 0..1 ({what}), got {self.opts[key]!r}")
        if cfg.spectral_loss:
            self.keys = (*self.keys, "spectral_db")
        if cfg.suppression_loss:
            self.keys = (*self.keys, "suppressed_db")
        self.model_cfg = self.model_config(cfg.model)
        sr = self.model_cfg.sample_rate
        if not cfg.noise_data:
            raise InputError("audio-denoise needs --noise-data DIR (recordings of noise to mix in)")
        self.speech = RandomSegments([load_mono(list_audio(cfg.data[0]), sr)], (0.0, 0.0))
        self.others = RandomSegments([load_mono(list_audio(d), sr) for d in cfg.data[1:]], (0.0, 0.0)) \
            if len(cfg.data) > 1 else None
        noise_files = held_in(list_audio(cfg.noise_data), cfg.noise_data, self.opts["exclude_noise"])
        recorded = RandomSegments([load_mono(noise_files, sr)], (0.0, 0.0))
        self.noise = NoiseBank(sr, recorded, self.speech, self.others, self.opts["noise_kinds"],
                               self.opts["noise_speed"], self.opts["babble_talkers"],
                               self.opts["babble_spread_db"], self.opts["patterns_from_hz"],
                               self.opts["patterns_repeat"], self.opts["patterns_octaves"])
        if cfg.val_data and main:
            from aecodec.restore.degrade import mix_at_snr

            speech = load_mono(list_audio(Path(cfg.val_data) / "speech"), sr)[:6]
            noise = load_mono(list_audio(Path(cfg.val_data) / "noise"), sr)
            rng = np.random.default_rng(99)
            for i, s in enumerate(speech):
                s = s[: 5 * sr].float().numpy()
                noisy, _ = mix_at_snr(s, noise[i % len(noise)].float().numpy(), 0.0, rng)
                self.val.append((s, noisy.astype(np.float32)))

    @staticmethod
    def model_config(model: dict):
        from aecodec.models.audio.mask_gru import MaskConfig

        return MaskConfig(**model)

    def build_model(self) -> nn.Module:
        from aecodec.models.audio.mask_gru import SpectralMaskNet

        return SpectralMaskNet(self.model_cfg)

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        size, frames = self.cfg.batch_size, int(self.cfg.segment_seconds * self.model_cfg.sample_rate)
        o = self.opts
        # 24 minutes of speech: a network learns those voices, and took some unheard clean voices
        # for noise (stop 27). Played at other speeds (when the recipe asks), each voice is many.
        clean = torch.stack([at_speed(self.speech, frames, self.speech_speed, gen) for _ in range(size)])
        pick = torch.zeros(size, dtype=torch.bool)
        if self.others is not None:  # a share of the clean signals are music (p_music: a quarter unless asked)
            pick = torch.rand(size, generator=gen) < o["p_music"]
            clean[pick] = self.others.batch(int(pick.sum()), frames, gen)
        clean = self.colour_and_reverberate(clean, gen)
        noise = self.noise.batch(size, frames, gen)
        snr = o["snr_db"][0] + (o["snr_db"][1] - o["snr_db"][0]) * torch.rand(size, generator=gen)
        p_clean = clean.square().mean(1).clamp_min(1e-10)
        p_noise = noise.square().mean(1).clamp_min(1e-10)
        noise = noise * (p_clean / p_noise / 10 ** (snr / 10)).sqrt()[:, None]
        noise[torch.rand(size, generator=gen) < o["p_clean"]] = 0
        if o["p_music_noisy"] < 1.0:  # drawn only when asked, so older recipes draw as before
            # Music under music-like noise teaches that music-like sounds go, clean music with them.
            noise[pick & (torch.rand(size, generator=gen) >= o["p_music_noisy"])] = 0
        gain = 10 ** ((o["gain_db"][0] + (o["gain_db"][1] - o["gain_db"][0]) * torch.rand(size, generator=gen)) / 20)
        noisy = (clean + noise) * gain[:, None]
        peak = noisy.abs().amax(1).clamp_min(1.0)  # never clip
        return noisy / peak[:, None], clean * gain[:, None] / peak[:, None]

    def colour_and_reverberate(self, clean: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Some targets get a random equaliser or a room: the denoiser must keep both."""
        sr, o = self.model_cfg.sample_rate, self.opts
        for i in range(clean.shape[0]):
            x = y = clean[i]
            if torch.rand(1, generator=gen) < o["p_speech_eq"]:
                y = random_eq(y, sr, gen)
            if torch.rand(1, generator=gen) < o["p_reverb"]:
                y = reverberate(y, room_impulse(sr, gen))
            if y is not x:  # back to the drawn peak level
                clean[i] = y * (float(x.abs().max()) / max(float(y.abs().max()), 1e-9))
        return clean

    def loss(self, model: nn.Module, forward: Callable[..., torch.Tensor], batch) -> dict:
        noisy, clean = batch
        out = forward(noisy)
        snr_out = snr_db(clean, out, target_band(clean) if self.cfg.band_limited_loss else None)
        terms = {"snr_in": snr_db(clean, noisy).mean().detach(), "snr_out": snr_out.mean().detach()}
        loss = -snr_out.mean()
        if self.cfg.spectral_loss:
            spectral = compressed_spectrum_db(clean, out).mean()
            loss = loss + self.cfg.spectral_loss * spectral
            terms["spectral_db"] = spectral.detach()
        if self.cfg.suppression_loss:
            # One resolution at half overlap: a fifteenth of the three-resolution term's cost.
            # Capped 15 dB under the target: a denoiser that keeps speech (v3: -6..-23 dB on
            # training mixtures) pays little, one that removes it pays much, and passing
            # the input through (-25..-35 dB uncapped) earns nothing more.
            suppressed = compressed_spectrum_db(clean, out, ffts=(512,), overlap=2, missing_only=True,
                                                floor_db=SUPPRESSION_FLOOR_DB).mean()
            loss = loss + self.cfg.suppression_loss * suppressed
            terms["suppressed_db"] = suppressed.detach()
        return {"loss": loss, **terms}

    def validate(self, model: nn.Module) -> dict:
        from aecodec.metrics.audio import si_snr

        device = next(model.parameters()).device
        gains = []
        for clean, noisy in self.val:
            out = model(torch.from_numpy(noisy)[None].to(device))[0].cpu().numpy()
            gains.append(si_snr(clean, out) - si_snr(clean, noisy))
        return {"si_snr_improvement_0db": float(np.mean(gains))}


TASK_CLASSES = {"image-denoise": ImageDenoiseTask, "image-inpaint": ImageInpaintTask, "audio-denoise": AudioDenoiseTask,
                "audio-music-detector": MusicDetectorTask}


# --- helpers ----------------------------------------------------------------------------------

def centre_crop(img: torch.Tensor, side: int) -> torch.Tensor:
    _, h, w = img.shape
    top, left = (h - side) // 2, (w - side) // 2
    return img[:, top : top + side, left : left + side]


def jpeg_roundtrip(x: torch.Tensor, quality: int) -> torch.Tensor:
    from PIL import Image

    pixels = (x.permute(1, 2, 0) * 255).round().byte().numpy()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return torch.from_numpy(out.copy()).permute(2, 0, 1).float() / 255


def load_recipe(path: str | None, **overrides) -> RestoreTrainConfig:
    """The run's config; its model settings are built once here too, so that options that need
    one another are refused (ValueError) before any data is read."""
    cfg = RestoreTrainConfig(**read_recipe(path, overrides))
    if cfg.task in TASK_CLASSES:
        TASK_CLASSES[cfg.task].model_config(cfg.model)
    return cfg


def train(cfg: RestoreTrainConfig, resume: bool = False, log=print) -> Path:
    """Train (or resume) a run of ``cfg.task``; works alone or under torchrun (``loop.train``)."""
    if cfg.task not in TASK_CLASSES:
        from aecodec.errors import InputError

        raise InputError(f"unknown restoration task '{cfg.task}'; use one of {', '.join(TASK_CLASSES)}")
    return train_task(cfg, TASK_CLASSES[cfg.task], resume, log)
