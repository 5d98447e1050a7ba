"""Mean-scale hyperprior image codec with gain units for continuous rate control.

Transforms after Minnen et al. 2018 (mean-scale hyperprior, no context model: decoding is
fully parallel), with simplified GDN. One model serves every rate through gain units
(Cui et al. 2021, ``layers.GainUnits``): per-channel gains on the latent at ``levels`` anchor
rates, interpolated geometrically in between, so ``quality`` is continuous. Entropy models live
elsewhere: training wraps this module with CompressAI's, inference uses frozen integer tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from aecodec.models.layers import GainUnits, SimplifiedGDN, conv, deconv


@dataclass(frozen=True)
class HyperpriorConfig:
    N: int = 96  # channels of the transforms and of the hyper-latent z
    M: int = 128  # channels of the latent y
    levels: int = 6  # gain-unit anchors from lowest to highest rate
    lambda_q1: float = 0.0018  # RD trade-off (MSE on [0, 1] * 255^2) at quality 1
    lambda_q100: float = 0.13  # ... and at quality 100

    def to_dict(self) -> dict:
        return asdict(self)


class HyperpriorTransforms(GainUnits):
    """Analysis/synthesis transforms, hyper-transforms and gain units. Stride 16 (y), 64 (z)."""

    stride = 64  # images are padded to a multiple of this

    def __init__(self, config: HyperpriorConfig):
        super().__init__()
        self.config = config
        N, M = config.N, config.M
        self.g_a = nn.Sequential(
            conv(3, N), SimplifiedGDN(N),
            conv(N, N), SimplifiedGDN(N),
            conv(N, N), SimplifiedGDN(N),
            conv(N, M),
        )
        self.g_s = nn.Sequential(
            deconv(M, N), SimplifiedGDN(N, inverse=True),
            deconv(N, N), SimplifiedGDN(N, inverse=True),
            deconv(N, N), SimplifiedGDN(N, inverse=True),
            deconv(N, 3),
        )
        self.h_a = nn.Sequential(
            conv(M, N, 3, 1), nn.ReLU(),
            conv(N, N), nn.ReLU(),
            conv(N, N),
        )
        # h_s runs as an integer network at inference (see integer.py): ReLU only, no GDN.
        self.h_s = nn.Sequential(
            deconv(N, N), nn.ReLU(),
            deconv(N, N * 3 // 2), nn.ReLU(),
            conv(N * 3 // 2, 2 * M, 3, 1),
        )
        self.add_gain_units(M, config.levels, config.lambda_q1, config.lambda_q100, latent_dims=2)

    def entropy_parameters(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float h_s (training only): means and scales of the latent."""
        means, scales = self.h_s(z_hat).chunk(2, dim=1)
        return means, scales
