"""Speech or music? The small network that picks the MDCT codec's model for a file.

Log-mel features (16 kHz, 40 bands, 10 ms hop, the window's mean removed, so level and a fixed
EQ do not matter) -> two 1-D convolutions over time -> a bidirectional GRU -> the mean over time
-> one logit, p(music) after a sigmoid, per 4-second window. A file's score is the mean logit of
windows spread over it (``windows_of``), so one loud passage decides nothing alone.
Trained by ``aecodec train audio-music-detector`` (train/music_detector.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from aecodec.models.layers import StateDictModel


@dataclass(frozen=True)
class DetectorConfig:
    sample_rate: int = 16000
    n_fft: int = 512
    hop: int = 160
    n_mels: int = 40
    channels: int = 48
    hidden: int = 32
    window_seconds: float = 4.0
    max_windows: int = 32  # a file's score averages at most this many windows, spread over it
    threshold: float = 0.5  # p(music) at or above it: music

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def window(self) -> int:
        return int(round(self.window_seconds * self.sample_rate))


class MusicDetector(StateDictModel):
    config_class = DetectorConfig

    def __init__(self, config: DetectorConfig):
        super().__init__()
        import torchaudio

        self.config = c = config
        self.conv = nn.Sequential(nn.Conv1d(c.n_mels, c.channels, 5, padding=2), nn.ReLU(),
                                  nn.Conv1d(c.channels, c.channels, 5, stride=2, padding=2), nn.ReLU())
        self.gru = nn.GRU(c.channels, c.hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * c.hidden, 1)
        fb = torchaudio.functional.melscale_fbanks(c.n_fft // 2 + 1, 0.0, c.sample_rate / 2, c.n_mels, c.sample_rate)
        self.register_buffer("mel_fb", fb, persistent=False)  # fixed: not part of the weights
        self.register_buffer("stft_window", torch.hann_window(c.n_fft), persistent=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, samples) at the model rate -> (batch, n_mels, frames) log-mel, mean removed."""
        c = self.config
        spec = torch.stft(x, c.n_fft, c.hop, window=self.stft_window, center=True, pad_mode="reflect",
                          return_complex=True).abs().square()
        m = torch.log(torch.einsum("bft,fm->bmt", spec, self.mel_fb) + 1e-6)
        return m - m.mean(dim=(-1, -2), keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> a music logit per row."""
        h, _ = self.gru(self.conv(self.features(x)).transpose(1, 2))
        return self.out(h.mean(1))[:, 0]

    @torch.no_grad()
    def p_music(self, windows: Iterable[np.ndarray]) -> float:
        """p(music) of a file from its windows (``windows_of``): the sigmoid of the mean logit."""
        rows = [np.pad(w, (0, max(0, self.config.window - len(w))))[: self.config.window] for w in windows]
        if not rows:
            return 0.0
        dev = self.out.weight.device
        logits = self(torch.from_numpy(np.stack(rows).astype(np.float32)).to(dev))
        return float(torch.sigmoid(logits.float().mean()))


def windows_of(blocks: Iterable[np.ndarray], window: int, max_windows: int) -> list[np.ndarray]:
    """Up to ``max_windows`` windows of ``window`` samples spread evenly over a mono stream of
    unknown length, kept in bounded memory: every window at first, then every second, fourth...
    as the stream grows (a file shorter than one window gives one, shorter)."""
    kept: list[np.ndarray] = []
    stride, index = 1, 0
    for w in _cut(blocks, window):
        if index % stride == 0:
            kept.append(w)
            if len(kept) > max_windows:
                kept, stride = kept[::2], stride * 2
        index += 1
    return kept


def _cut(blocks: Iterable[np.ndarray], window: int) -> Iterator[np.ndarray]:
    """Consecutive windows of a stream; the tail too when it is at least a quarter window long,
    or when it is all there is."""
    pending, have, cut = [], 0, 0
    for block in blocks:
        pending.append(np.asarray(block, np.float32).reshape(-1))
        have += pending[-1].shape[0]
        while have >= window:
            joined = np.concatenate(pending)
            yield joined[:window]
            pending, have, cut = [joined[window:]], have - window, cut + 1
    if have and (have >= window // 4 or not cut):
        yield np.concatenate(pending)
