"""Training of the conv + LSTM audio codec: spectral reconstruction plus rate, over a continuum of rates.

Loss per sample: mel L1 (log10 mel magnitudes at the metric's resolutions) + multi-resolution
STFT loss (spectral convergence + log magnitude, Yamamoto et al. 2020) + a small waveform L1,
plus lambda(position) * kbps. As in the image trainer, every sample of a batch draws its own
rate position, so each step trains the whole quality range through the gain units; its rate is
measured with the entropy prior of the nearest anchor, the one inference codes it with. The
decoder sees the latent rounded (straight-through), the rate term sees additive noise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from aecodec.media.silence import min_run_frames, silence_mask
from aecodec.models.audio.conv_lstm import ConvLstmConfig, ConvLstmTransforms, positions_to_levels
from aecodec.train.codec_task import CodecTask, ste_round
from aecodec.train.loop import RunConfig, float32, train as train_task
from aecodec.train.recipe import read_recipe


@dataclass
class AudioTrainConfig(RunConfig):
    data: list[str] = field(default_factory=lambda: ["../shared/data/audio/speech", "../shared/data/audio/music"])
    val_data: str | None = None
    out: str = "runs/audio-codec"
    steps: int = 50000
    batch_size: int = 16
    segment_seconds: tuple[float, float] = (1.0, 2.0)  # each batch draws its length in this range
    gain_db: tuple[float, float] = (-20.0, 6.0)
    lr: float = 3e-4
    warmup: int = 500
    aux_lr: float = 1e-3
    val_files: int = 8
    val_seconds: float = 5.0
    max_file_seconds: float | None = None  # read at most this much of each training file
    weight_norm: bool = True  # training-time reparametrisation, folded away at export
    # A fresh encoder's latent is ~1e-3 (quiet audio through small default-initialised convs), so
    # every symbol rounds to zero and the decoder learns nothing; gains start this much higher
    # (the decoder's as much lower), putting the latent at a few quantisation steps from step 0.
    latent_gain_init: float = 300.0
    # The gains set each anchor's rate. At the base learning rate they move ~5e-4 nats a step, so
    # finding the rates takes tens of thousands of steps; 10 (as recipes set) makes it thousands.
    gain_lr_scale: float = 1.0
    mel_scales: tuple[tuple[int, int], ...] = ((256, 40), (512, 64), (1024, 80), (2048, 128))
    stft_windows: tuple[int, ...] = (256, 512, 1024, 2048)
    mel_weight: float = 1.0
    stft_weight: float = 1.0
    waveform_weight: float = 0.1
    model: ConvLstmConfig = field(default_factory=ConvLstmConfig)


class TrainableConvLstm(nn.Module):
    """The transforms plus one CompressAI EntropyBottleneck per gain anchor, as used while training."""

    def __init__(self, config: ConvLstmConfig, weight_norm: bool = False):
        super().__init__()
        from compressai.entropy_models import EntropyBottleneck

        self.transforms = ConvLstmTransforms(config)
        self.entropy_bottlenecks = nn.ModuleList(EntropyBottleneck(config.latent) for _ in range(config.levels))
        if weight_norm:
            apply_weight_norm(self.transforms)

    def forward(self, x: torch.Tensor, position: torch.Tensor) -> dict:
        """x [B, L] (L a multiple of the hop), positions [B] -> x_hat [B, L] and bits [B]. Under
        ``loop.autocast`` only g_a and g_s run in bfloat16; the entropy models stay float32."""
        t = self.transforms
        g_enc, g_dec = t.gains(position)
        y = t.g_a(x[:, None])
        with float32(x.device):
            y = y.float() * g_enc
            levels = positions_to_levels(position)
            y_hat = torch.zeros_like(y)
            bits = y.new_zeros(y.shape[0])
            for level in levels.unique().tolist():
                rows = (levels == level).nonzero().squeeze(1)
                eb = self.entropy_bottlenecks[level]
                _, likelihood = eb(y[rows])
                medians = eb.quantiles[:, 0, 1].detach().view(1, -1, 1)
                y_hat = y_hat.index_put((rows,), ste_round(y[rows] - medians) + medians)
                bits = bits.index_put((rows,), -torch.log2(likelihood).flatten(1).sum(1))
            # The quantile (aux) loss is computed here too, so DDP sees it in forward (as in the image trainer).
            aux = self.aux_loss()
        return {"x_hat": t.g_s(y_hat * g_dec)[:, 0].float(), "bits": bits, "aux": aux}

    def aux_loss(self) -> torch.Tensor:
        return sum(eb.loss() for eb in self.entropy_bottlenecks)


def apply_weight_norm(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            nn.utils.parametrizations.weight_norm(m)


def load_checkpoint_model(state: dict) -> TrainableConvLstm:
    """The model of a checkpoint with weight norm folded away (plain weights, as inference has them)."""
    from aecodec.train.checkpoint import deployed_weights, plain_weights

    model = TrainableConvLstm(ConvLstmConfig(**state["config"]["model"]))
    model.load_state_dict(plain_weights(deployed_weights(state)))
    return model


class SpectralLoss(nn.Module):
    """Per-sample mel L1 (the mel distance metric's log10 magnitudes) and multi-resolution STFT loss
    (spectral convergence + L1 of log10 magnitudes floored at 1e-5, as the mel term)."""

    def __init__(self, sample_rate: int, mel_scales, stft_windows):
        super().__init__()
        import torchaudio

        with warnings.catch_warnings():  # narrow low bands of small FFTs catch no bin: harmless
            warnings.filterwarnings("ignore", "At least one mel filterbank has all zero values", UserWarning)
            self.mels = nn.ModuleList(
                torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n, hop_length=n // 4, n_mels=m, power=1.0)
                for n, m in mel_scales
            )
        self.stft_windows = tuple(stft_windows)
        for n in self.stft_windows:
            self.register_buffer(f"window{n}", torch.hann_window(n), persistent=False)

    def mel(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(x.shape[0])
        for mel in self.mels:
            both = torch.log10(mel(torch.cat([x, x_hat])).clamp(min=1e-5))
            total = total + (both[: x.shape[0]] - both[x.shape[0]:]).abs().flatten(1).mean(1)
        return total

    def stft(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(x.shape[0])
        for n in self.stft_windows:
            spec = torch.stft(torch.cat([x, x_hat]), n, n // 4, window=getattr(self, f"window{n}"), return_complex=True)
            mag = spec.abs().clamp(min=1e-5)  # the mel floor: silence must not dominate the log term
            s, s_hat = mag[: x.shape[0]], mag[x.shape[0]:]
            # The floor (a bin RMS of 1e-2, about -60 dBFS noise) keeps near-silent segments from
            # dividing by ~0 and dominating the batch's gradient.
            floor = 1e-2 * s[0].numel() ** 0.5
            convergence = (s - s_hat).flatten(1).norm(dim=1) / s.flatten(1).norm(dim=1).clamp(min=floor)
            total = total + convergence + (s.log10() - s_hat.log10()).abs().flatten(1).mean(1)
        return total


def rd_loss(out: dict, transforms: ConvLstmTransforms, spectral: SpectralLoss, x: torch.Tensor,
            silent: torch.Tensor, position: torch.Tensor, cfg: AudioTrainConfig) -> dict:
    """The loss of the model's output ``out`` (float32, outside autocast: spectra need the precision).
    Samples in digital silence (``silent``) are zeroed first, as the codec's decoder does."""
    x_hat = out["x_hat"].masked_fill(silent, 0.0)
    kbps = out["bits"] / (x.shape[1] / transforms.config.sample_rate) / 1000
    mel = spectral.mel(x, x_hat)
    stft = spectral.stft(x, x_hat)
    wave = (x_hat - x).abs().mean(1)
    distortion = cfg.mel_weight * mel + cfg.stft_weight * stft + cfg.waveform_weight * wave
    loss = (distortion + transforms.lmbda(position) * kbps).mean()
    return {"loss": loss, "kbps": kbps.mean(), "mel": mel.mean(), "stft": stft.mean(), "aux": out["aux"]}


def make_batch(segments, cfg: AudioTrainConfig, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """One step's segments (of a length drawn per step, a multiple of the hop), their digital
    silence mask and a rate position per sample, all drawn from the step's generator."""
    sr, hop = cfg.model.sample_rate, cfg.model.hop
    lo, hi = (int(s * sr) // hop for s in cfg.segment_seconds)
    frames = hop * int(lo + torch.randint(max(1, hi - lo + 1), (1,), generator=gen))
    x = segments.batch(cfg.batch_size, frames, gen)
    silent = torch.from_numpy(silence_mask(x.numpy(), min_run_frames(sr)))
    return x, silent, torch.rand(cfg.batch_size, generator=gen) * (cfg.model.levels - 1)


def load_recipe(path: str | None, **overrides) -> AudioTrainConfig:
    """A recipe JSON (keys of AudioTrainConfig, 'model' for ConvLstmConfig) plus CLI overrides."""
    recipe = read_recipe(path, overrides)
    model = ConvLstmConfig.from_dict(recipe.pop("model", {}))
    return AudioTrainConfig(**recipe, model=model)


class AudioCodecTask(CodecTask):
    """Spectral + rate training on random segments of folders of audio (each folder equally
    often); the validation runs on the centre ``val_seconds`` of up to ``val_files`` held-out files."""

    keys = ("loss", "kbps", "mel", "stft", "aux")
    # Each batch uses the entropy models of the rate anchors its samples drew, not all of them.
    find_unused_parameters = True

    def __init__(self, cfg: AudioTrainConfig, main: bool):
        from aecodec.train.audio_data import RandomSegments, list_audio, load_mono

        super().__init__(cfg, main)
        sr = cfg.model.sample_rate
        folders = [load_mono(list_audio(d), sr, cfg.max_file_seconds) for d in cfg.data]
        self.segments = RandomSegments(folders, tuple(cfg.gain_db))
        if cfg.val_data and main:
            self.val = validation_clips(cfg.val_data, cfg)

    def build_model(self) -> TrainableConvLstm:
        return TrainableConvLstm(self.cfg.model)

    def start_fresh(self, model: TrainableConvLstm) -> None:
        with torch.no_grad():
            model.transforms.log_gain_enc += math.log(self.cfg.latent_gain_init)
            model.transforms.log_gain_dec -= math.log(self.cfg.latent_gain_init)

    def prepare(self, model: TrainableConvLstm, device: torch.device) -> TrainableConvLstm:
        cfg = self.cfg
        if cfg.weight_norm:
            apply_weight_norm(model.transforms)
        # the loss's mel filterbanks and windows live on the model's device
        self.spectral = SpectralLoss(cfg.model.sample_rate, cfg.mel_scales, cfg.stft_windows).to(device)
        return model.to(device)

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        return make_batch(self.segments, self.cfg, gen)

    def loss(self, model: TrainableConvLstm, forward, batch) -> dict:
        x, silent, position = batch
        return rd_loss(forward(x, position), model.transforms, self.spectral, x, silent, position, self.cfg)

    def validate(self, model: TrainableConvLstm, qualities=(1.0, 50.0, 100.0)) -> list[dict]:
        """Mel distance and estimated kbps (rounded latents, likelihood rate) on held-out clips."""
        from aecodec.metrics.audio import mel_distance
        from aecodec.models.layers import quality_to_position

        config = model.transforms.config
        device = next(model.parameters()).device
        rows = []
        for quality in qualities:
            position = torch.tensor([quality_to_position(quality, config.levels)], device=device)
            mel, kbps = [], []
            for clip in self.val:
                x = clip.float()[None].to(device)
                out = model(x, position)
                x_hat = out["x_hat"].clamp(-1, 1)[0].cpu().numpy()
                x_hat[silence_mask(clip.numpy(), min_run_frames(config.sample_rate))] = 0  # as the codec decodes
                mel.append(mel_distance(clip.numpy(), x_hat, config.sample_rate))
                kbps.append(float(out["bits"][0]) / (x.shape[1] / config.sample_rate) / 1000)
            rows.append({"quality": quality, "kbps": sum(kbps) / len(kbps), "mel_distance": sum(mel) / len(mel)})
        return rows


def validation_clips(folder: str, cfg: AudioTrainConfig) -> list[torch.Tensor]:
    """The centre ``val_seconds`` of the first ``val_files`` files (sorted), cut to the hop."""
    from aecodec.train.audio_data import list_audio, load_mono

    clips = []
    frames = int(cfg.val_seconds * cfg.model.sample_rate) // cfg.model.hop * cfg.model.hop
    for clip in load_mono(list_audio(folder)[: cfg.val_files], cfg.model.sample_rate):
        start = max(0, (clip.shape[0] - frames) // 2)
        clip = clip[start : start + frames]
        if clip.shape[0] >= cfg.model.hop * 4:
            clips.append(clip[: clip.shape[0] // cfg.model.hop * cfg.model.hop])
    return clips


def train(cfg: AudioTrainConfig, resume: bool = False, log=print) -> Path:
    """Train (or resume) an audio-codec run; works alone or under torchrun (``loop.train``)."""
    return train_task(cfg, AudioCodecTask, resume, log)
