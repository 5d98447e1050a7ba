"""The audio denoiser: a recurrent spectral mask estimator (RNNoise / DeepFilterNet lineage).

Log-magnitude STFT frames go through a small frequency encoder and a GRU, which predicts a gain
in [0, 1] per frequency bin; the gain multiplies the noisy STFT (its phase is kept) and the
inverse STFT gives the waveform back. The CLI runs it on 30 s chunks (``restore.audio``), so
within a chunk it may look both ways:

- ``bidirectional``: the GRU also reads the chunk backwards (v3): a noise burst is told from
  speech by what follows it, not only by what came before.
- ``normalise``: the features are log magnitudes relative to the level around each frame (a
  one-second centred mean), so a quiet recording and a loud one look alike to the network and
  training does not spend itself on levels.
- ``floor_features``: besides those, each bin's level above its own noise floor (the minimum of
  its smoothed log magnitude over about a second around the frame: minimum statistics, Martin
  2001), an a-posteriori SNR per bin that reads the same under any steady noise, heard or not.
- ``conv_channels``: the features first pass two 3x3 convolutions over time and frequency (the
  second halving the bins) before the dense encoder. The same small filters read every band, so
  a pattern learnt at one frequency (a chirp, a crackle's onset) is recognised at another, where
  the dense encoder alone learns each bin on its own (CRN, Tan & Wang 2018; DeepFilterNet's
  encoder).
- ``conv_from_hz``: the convolutional front reads only the bins from this frequency up; the bins
  below go to the dense encoder as they are. A front reading a voice's fundamental and first
  harmonics with the filters it learnt on tones and chirps higher up took some clean voices for
  noise (stop 28: they came back once their band under 300 Hz was gone, and no network without
  the front removed them).
- ``df_order`` and ``df_hz``: deep filtering (DeepFilterNet, Schröter et al. 2022) under
  ``df_hz``: besides the gain, each of those bins gets ``df_order`` complex coefficients over the
  frames centred on its own, and their sum with the noisy STFT there is added to the masked
  bin. A real gain per 47 Hz bin cannot take noise out between a voice's harmonics or set their
  phase; a short complex filter across frames can. The coefficients are bounded (tanh) and
  start at zero, so a new network begins as the plain mask.

All default off, which is the v1/v2 network exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from aecodec.models.layers import StateDictModel


@dataclass(frozen=True)
class MaskConfig:
    sample_rate: int = 24000
    n_fft: int = 512
    hop: int = 128
    hidden: int = 256
    layers: int = 2
    bidirectional: bool = False
    normalise: bool = False
    floor_features: bool = False
    conv_channels: int = 0
    conv_from_hz: float = 0.0
    df_order: int = 0
    df_hz: float = 0.0

    def __post_init__(self):
        # An option that needs another one would otherwise be read and silently do nothing.
        if self.conv_from_hz and not self.conv_channels:
            raise ValueError("conv_from_hz needs conv_channels (the convolutional front it narrows)")
        if bool(self.df_order) != bool(self.df_hz):
            raise ValueError("df_order and df_hz go together: deep filtering needs both")

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def conv_from_bin(self) -> int:
        """The first bin the convolutional front reads (0 without ``conv_from_hz``)."""
        return min(self.bins - 1, math.ceil(self.conv_from_hz * self.n_fft / self.sample_rate))

    @property
    def df_bins(self) -> int:
        """How many of the lowest bins are deep-filtered (0 without ``df_order``)."""
        if not self.df_order:
            return 0
        return min(self.bins, math.ceil(self.df_hz * self.n_fft / self.sample_rate))

    def to_dict(self) -> dict:
        """The card's config; options left off are left out, as cards before them did."""
        out = asdict(self)
        for key in ("floor_features", "conv_channels", "conv_from_hz", "df_order", "df_hz"):
            if not out[key]:
                del out[key]
        return out


class SpectralMaskNet(StateDictModel):
    config_class = MaskConfig

    def __init__(self, config: MaskConfig):
        super().__init__()
        self.config = c = config
        planes = 2 if c.floor_features else 1
        inputs = c.bins * planes
        if c.conv_channels:
            k = c.conv_channels
            self.front = nn.Sequential(nn.Conv2d(planes, k, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(k, k, 3, stride=(1, 2), padding=1), nn.ReLU())
            low = c.conv_from_bin
            inputs = planes * low + k * ((c.bins - low + 1) // 2)
        self.encoder = nn.Sequential(nn.Linear(inputs, c.hidden), nn.LayerNorm(c.hidden), nn.ReLU())
        self.gru = nn.GRU(c.hidden, c.hidden, num_layers=c.layers, batch_first=True, bidirectional=c.bidirectional)
        width = c.hidden * (2 if c.bidirectional else 1)  # the GRU's output per frame
        self.decoder = nn.Linear(width, c.bins)
        nn.init.constant_(self.decoder.bias, 2.0)  # start near pass-through (gain 0.88), not at 0.5
        if c.df_bins:
            self.df_head = nn.Linear(width, c.df_bins * c.df_order * 2)
            nn.init.zeros_(self.df_head.weight)  # begin as the plain mask
            nn.init.zeros_(self.df_head.bias)
        self.register_buffer("window", torch.hann_window(c.n_fft), persistent=False)

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] -> complex [B, bins, frames]; centred, so frames = T // hop + 1."""
        return torch.stft(x, self.config.n_fft, self.config.hop, window=self.window, return_complex=True)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        return torch.istft(spec, self.config.n_fft, self.config.hop, window=self.window, length=length)

    def gains(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex [B, bins, frames] -> gains [B, bins, frames] in [0, 1]."""
        return self.gains_of(self.hidden(spec))

    def gains_of(self, h: torch.Tensor) -> torch.Tensor:
        """The GRU's output [B, frames, width] -> gains [B, bins, frames] in [0, 1]."""
        return torch.sigmoid(self.decoder(h)).transpose(1, 2)

    def enhance(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex [B, bins, frames] -> the denoised spectrum, the same shape: the gains, plus the
        deep filter's term under ``df_hz``. Each call starts from a zero GRU state: chunks are
        joined by overlap and crossfade, not by carrying state (which a backward pass could not
        do anyway)."""
        h = self.hidden(spec)
        out = spec * self.gains_of(h)
        n = self.config.df_bins
        if not n:
            return out
        order = self.config.df_order
        b, _, t = spec.shape
        coef = torch.tanh(self.df_head(h).float()).view(b, t, n, order, 2)  # complex needs float32 (bf16 autocast)
        coef = torch.complex(coef[..., 0], coef[..., 1]).permute(0, 2, 1, 3)  # [B, n, frames, order]
        low = nn.functional.pad(torch.view_as_real(spec[:, :n]), (0, 0, order // 2, (order - 1) // 2))
        taps = torch.view_as_complex(low.unfold(2, order, 1).transpose(-1, -2).contiguous())  # [B, n, frames, order]
        filtered = (coef * taps).sum(-1)
        return torch.cat([out[:, :n] + filtered, out[:, n:]], dim=1)

    def hidden(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex [B, bins, frames] -> the GRU's output [B, frames, hidden (x2 if bidirectional)]."""
        log_magnitude = torch.log(spec.abs() + 1e-4).transpose(1, 2)  # [B, frames, bins]
        features = log_magnitude - self.local_level(log_magnitude) if self.config.normalise else log_magnitude
        if self.config.floor_features:
            features = torch.cat([features, log_magnitude - self.noise_floor(log_magnitude)], dim=2)
        if self.config.conv_channels:  # [B, frames, planes * bins] -> [B, planes, frames, bins] -> flat again
            b, t, _ = features.shape
            planes = features.view(b, t, -1, self.config.bins).transpose(1, 2)
            low = self.config.conv_from_bin
            features = self.front(planes[..., low:]).transpose(1, 2).reshape(b, t, -1)
            if low:  # the bins under the front, as they are
                features = torch.cat([planes[..., :low].transpose(1, 2).reshape(b, t, -1), features], dim=2)
        h, _ = self.gru(self.encoder(features))
        return h

    def local_level(self, features: torch.Tensor) -> torch.Tensor:
        """[B, frames, bins] log magnitudes -> [B, frames, 1]: the mean over bins, averaged over
        about a second around each frame (fewer frames at the edges, none made up)."""
        frames_per_second = self.config.sample_rate / self.config.hop
        half = int(frames_per_second // 2)
        level = features.mean(2, keepdim=True).transpose(1, 2)  # [B, 1, frames]
        level = nn.functional.avg_pool1d(level, 2 * half + 1, stride=1, padding=half, count_include_pad=False)
        return level.transpose(1, 2)

    def noise_floor(self, features: torch.Tensor) -> torch.Tensor:
        """[B, frames, bins] log magnitudes -> the same shape: each bin's minimum, over about a
        second around each frame, of its log magnitude smoothed over 5 frames (~50 ms)."""
        frames_per_second = self.config.sample_rate / self.config.hop
        half = int(frames_per_second // 2)
        x = features.transpose(1, 2)  # [B, bins, frames]
        x = nn.functional.avg_pool1d(x, 5, stride=1, padding=2, count_include_pad=False)
        floor = -nn.functional.max_pool1d(-x, 2 * half + 1, stride=1, padding=half)
        return floor.transpose(1, 2)

    def forward(self, x: torch.Tensor, spins: int = 1) -> torch.Tensor:
        """Noisy waveforms [B, T] at ``sample_rate`` -> denoised waveforms [B, T].

        ``spins`` > 1 is cycle spinning (Coifman and Donoho 1995): the STFT grid is laid at that
        many offsets within a hop and the outputs are averaged, so no sample's result hangs on
        where one frame grid happened to fall (stop 30: 2 lifted v3 by 0.1 dB SI-SNR on the
        held-out dev kinds, at twice the cost; training uses 1)."""
        if spins > 1:
            outs = [self(x)]
            for k in range(1, spins):
                delay = k * self.config.hop // spins
                outs.append(self(nn.functional.pad(x, (delay, 0)))[..., delay:])
            return torch.stack(outs).mean(0)
        length = x.shape[-1]
        if length < self.config.n_fft:  # the centred STFT reflects half a window: pad tiny inputs
            x = nn.functional.pad(x, (0, self.config.n_fft - length))
        return self.istft(self.enhance(self.stft(x)), x.shape[-1])[..., :length]
