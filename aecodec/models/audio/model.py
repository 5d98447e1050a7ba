"""The shipped conv + LSTM audio codec at inference: float transforms, frozen integer priors.

The entropy parameters are trivially device-independent: every latent channel has a fixed
integer CDF per gain anchor (a factorized prior), chosen by its channel index and the file's
quality, so no network output ever selects a table. Only the transforms run in float32 (CPU or
CUDA); they change samples by rounding noise at most, never the decodability of a file.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from aecodec.device import to_device
from aecodec.entropy.tables import CdfTables
from aecodec.models.audio.conv_lstm import ConvLstmConfig, ConvLstmTransforms, SkipLSTM, prior_level
from aecodec.models.layers import quality_to_position
from aecodec.models.weights import (load_transforms, tables_from_tensors, tables_to_tensors, transforms_to_tensors,
                                     with_prefix)

TRAINING = "entropy_bottlenecks."  # the priors' float densities, one per anchor, for training only


class ConvLstmAudioCodec:
    """Tensor-level codec: mono 24 kHz waveforms in, integer symbols out, and back.

    No files, resampling, chunking or byte framing here (codecs/audio.py does those). Batches
    hold independent signals (e.g. mid and side), each with its own quality. Weights file:
    ``transforms.*`` (float16; log-gains float32), ``tables.y.*`` (one integer CDF per anchor and
    channel, row level * latent + channel, and float32 medians [levels, latent]) and the
    training-only ``entropy_bottlenecks.<level>.*``.
    """

    weights_dtype = "float16 transforms, int32 entropy tables"
    about = {"task": "compress", "media": "audio",  # the card's fields beside the config (export)
             "quality": {"min": 1, "max": 100,
                         "method": "gain units, geometric interpolation; prior of the nearest anchor"}}

    def __init__(self, config: ConvLstmConfig, transforms: ConvLstmTransforms, tables: CdfTables, medians: np.ndarray,
                 training_tensors: dict[str, torch.Tensor]):
        self.config = config
        self.training_tensors = training_tensors  # carried unread, so training can resume from the shipped weights
        self.transforms = transforms.eval().requires_grad_(False)
        for module in self.transforms.modules():
            if isinstance(module, SkipLSTM):
                module.serial = True
        self.tables = tables  # levels * latent tables: row level * latent + channel
        self.medians = medians  # float32 [levels, latent]
        self.device = torch.device("cpu")

    @classmethod
    def from_pretrained(cls, card: dict, tensors: dict[str, torch.Tensor]) -> ConvLstmAudioCodec:
        config = ConvLstmConfig.from_dict(card["config"])
        transforms = ConvLstmTransforms(config)
        load_transforms(transforms, tensors)
        tables = tables_from_tensors("y", tensors)
        medians = tensors["tables.y.medians"].float().numpy()
        if tables.size != config.levels * config.latent or medians.shape != (config.levels, config.latent):
            raise ValueError(f"entropy tables for {tables.size} channels, the config needs {config.levels * config.latent}")
        return cls(config, transforms, tables, medians, with_prefix(tensors, TRAINING))

    def to_tensors(self) -> dict[str, torch.Tensor]:
        tensors = transforms_to_tensors(self.transforms)
        tensors.update(self.training_tensors)
        tensors.update(tables_to_tensors("y", self.tables))
        tensors["tables.y.medians"] = torch.from_numpy(self.medians.astype(np.float32))
        return tensors

    def to(self, device: torch.device) -> ConvLstmAudioCodec:
        self.transforms.to(device)
        self.device = device
        return self

    @property
    def hop(self) -> int:
        return self.config.hop

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    # --- encoder side -------------------------------------------------------------------
    @torch.inference_mode()
    def analyse(self, x: torch.Tensor) -> torch.Tensor:
        """float32 [B, L] waveforms -> latent y [B, C, ceil(L / hop)] on the CPU (zero-padded at the end)."""
        pad = -x.shape[-1] % self.hop
        x = to_device(torch.nn.functional.pad(x.float(), (0, pad))[:, None], self.device)
        return self.transforms.g_a(x).float().cpu()

    def quantise(self, y: torch.Tensor, qualities: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Latent [B, C, T] -> (int32 symbols, int32 table indexes), row b at ``qualities[b]``."""
        g_enc, _ = self.gains(qualities)
        medians = torch.from_numpy(self.medians[self.prior_levels(qualities)])[:, :, None]
        symbols = torch.round(y * g_enc - medians).to(torch.int32)
        return symbols.numpy(), self.indexes(qualities, tuple(y.shape))

    # --- shared by both sides -------------------------------------------------------------
    def prior_levels(self, qualities: Sequence[float]) -> np.ndarray:
        """The anchor whose prior codes each quality (``prior_level``)."""
        return np.array([prior_level(q, self.config.levels) for q in qualities], dtype=np.int64)

    def indexes(self, qualities: Sequence[float], shape: tuple[int, int, int]) -> np.ndarray:
        """Table index of every symbol: level * C + channel (integers only: exact everywhere)."""
        batch, channels, frames = shape
        rows = self.prior_levels(qualities)[:, None] * self.config.latent + np.arange(channels)[None, :]
        return np.ascontiguousarray(np.broadcast_to(rows[:, :, None], (batch, channels, frames)).astype(np.int32))

    def gains(self, qualities: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.tensor([quality_to_position(q, self.config.levels) for q in qualities], dtype=torch.float32)
        g_enc, g_dec = self.transforms.gains(pos.to(self.transforms.log_gain_enc.device))
        return g_enc.cpu(), g_dec.cpu()

    # --- decoder side ---------------------------------------------------------------------
    @torch.inference_mode()
    def synthesise(self, symbols: np.ndarray, qualities: Sequence[float]) -> torch.Tensor:
        """int symbols [B, C, T] -> float32 waveforms [B, T * hop] on the CPU."""
        _, g_dec = self.gains(qualities)
        medians = torch.from_numpy(self.medians[self.prior_levels(qualities)])[:, :, None]
        y_hat = (torch.from_numpy(symbols).float() + medians) * g_dec
        return self.transforms.g_s(to_device(y_hat, self.device))[:, 0].float().cpu()
