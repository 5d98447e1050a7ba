"""Convolutional + recurrent waveform autoencoder with gain units (SEANet / EnCodec style).

Legend: ``x`` waveform [B, 1, L] at ``sample_rate``, ``y`` latent [B, C, T] with
T = L / hop (hop = product of ``strides``, 320 = 75 latent frames a second at 24 kHz),
``g_a`` analysis (encoder), ``g_s`` synthesis (decoder). Transforms after SoundStream
(Zeghidour et al. 2021) and EnCodec (Defossez et al. 2022): strided 1-D convolutions with
ELU residual units and one LSTM layer at the bottleneck of each side, non-causal padding::

    x -> conv7 -> [res, ELU, conv(2s, stride s)] x 4 -> LSTM(+skip) -> ELU, conv7 -> y
    y_hat -> conv7 -> LSTM(+skip) -> [ELU, deconv(2s, stride s), res] x 4 -> ELU, conv7 -> x_hat

Instead of residual vector quantisation, ``y`` is scalar quantised and entropy coded with a
factorized prior per channel (CompressAI's EntropyBottleneck; Balle et al. 2018), one prior
per gain anchor. One model serves every rate through gain units (Cui et al. 2021,
``layers.GainUnits``): per-channel gains on the latent at ``levels`` anchors, interpolated
geometrically, so quality is continuous.
Entropy models live elsewhere: training wraps this module with CompressAI's, inference uses
frozen integer tables (models/audio/model.py).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from aecodec.models.layers import GainUnits, quality_to_position


@dataclass(frozen=True)
class ConvLstmConfig:
    sample_rate: int = 24000  # the model's rate; other rates are resampled to it
    channels: tuple[int, ...] = (32, 32, 64, 128, 256)  # width before each stride, then at the bottleneck
    strides: tuple[int, ...] = (2, 4, 5, 8)  # hop = 320 samples
    latent: int = 64  # channels of y
    kernel: int = 7  # first and last convolutions
    dilations: tuple[int, ...] = (1,)  # one residual unit per dilation in every block
    lstm_layers: int = 1
    levels: int = 6  # gain-unit anchors (and entropy priors) from lowest to highest rate
    lambda_q1: float = 0.5  # rate weight in the loss (distortion units per kbps) at quality 1
    lambda_q100: float = 0.005  # ... and at quality 100

    def __post_init__(self):
        for f in ("channels", "strides", "dilations"):  # JSON cards hold lists
            object.__setattr__(self, f, tuple(int(v) for v in getattr(self, f)))
        if len(self.channels) != len(self.strides) + 1:
            raise ValueError("channels needs one entry per stride plus one for the bottleneck")
        if self.levels < 2:
            raise ValueError("levels must be at least 2")

    @classmethod
    def from_dict(cls, d: dict) -> ConvLstmConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown audio model config keys: {', '.join(sorted(unknown))}")
        return cls(**d)

    @property
    def hop(self) -> int:
        return math.prod(self.strides)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def prior_level(quality: float, levels: int) -> int:
    """Which anchor's entropy prior codes a quality: the nearest one (ties round up)."""
    return int(math.floor(quality_to_position(quality, levels) + 0.5))


def positions_to_levels(position: torch.Tensor) -> torch.Tensor:
    """The same rule as ``prior_level`` for training's per-sample positions."""
    return torch.floor(position + 0.5).long()


class ResidualUnit(nn.Module):
    """x + conv1x1(ELU(conv3_dilated(ELU(x)))), halving the width inside (SEANet)."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        hidden = max(1, channels // 2)
        self.block = nn.Sequential(
            nn.ELU(), nn.Conv1d(channels, hidden, 3, dilation=dilation, padding=dilation),
            nn.ELU(), nn.Conv1d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class SkipLSTM(nn.Module):
    """An LSTM over time on [B, C, T] with a residual connection (EnCodec's SLSTM).

    With ``serial`` set (inference does), the recurrence runs on one CPU thread: its T small
    matrix products gain nothing from threads, and when the cores are busy every step's thread
    barrier waits for a time slice (10 s of audio: 0.03 s on one thread, 6 s on two loaded cores).
    """

    serial = False

    def __init__(self, channels: int, layers: int):
        super().__init__()
        self.lstm = nn.LSTM(channels, channels, layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.transpose(1, 2)
        if self.serial and seq.device.type == "cpu" and torch.get_num_threads() > 1:
            with one_thread():
                out, _ = self.lstm(seq)
        else:
            out, _ = self.lstm(seq)
        return (out + seq).transpose(1, 2)


@contextmanager
def one_thread():
    """Run torch's CPU ops on one thread for the block; the caller's setting comes back after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def down(cin: int, cout: int, stride: int) -> nn.Conv1d:
    """Strided conv: exactly L / stride outputs for L a multiple of stride."""
    return nn.Conv1d(cin, cout, 2 * stride, stride=stride, padding=(stride + 1) // 2)


def up(cin: int, cout: int, stride: int) -> nn.ConvTranspose1d:
    """The inverse geometry of ``down``: exactly T * stride outputs."""
    pad = (stride + 1) // 2
    return nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride, padding=pad, output_padding=2 * pad - stride)


class ConvLstmTransforms(GainUnits):
    """Analysis and synthesis transforms and gain units; inputs are padded to a multiple of ``hop``."""

    def __init__(self, config: ConvLstmConfig):
        super().__init__()
        self.config = config
        c, k = config.channels, config.kernel
        enc: list[nn.Module] = [nn.Conv1d(1, c[0], k, padding=k // 2)]
        for i, s in enumerate(config.strides):
            enc += [ResidualUnit(c[i], d) for d in config.dilations]
            enc += [nn.ELU(), down(c[i], c[i + 1], s)]
        enc += [SkipLSTM(c[-1], config.lstm_layers), nn.ELU(), nn.Conv1d(c[-1], config.latent, k, padding=k // 2)]
        self.g_a = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv1d(config.latent, c[-1], k, padding=k // 2), SkipLSTM(c[-1], config.lstm_layers)]
        for i in reversed(range(len(config.strides))):
            dec += [nn.ELU(), up(c[i + 1], c[i], config.strides[i])]
            dec += [ResidualUnit(c[i], d) for d in config.dilations]
        dec += [nn.ELU(), nn.Conv1d(c[0], 1, k, padding=k // 2)]
        self.g_s = nn.Sequential(*dec)
        self.add_gain_units(config.latent, config.levels, config.lambda_q1, config.lambda_q100, latent_dims=1)

    @property
    def hop(self) -> int:
        return self.config.hop
