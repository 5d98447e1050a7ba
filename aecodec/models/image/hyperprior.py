"""Mean-scale hyperprior image codec with gain units for continuous rate control.

Transforms after Minnen et al. 2018 (mean-scale hyperprior, no context model: decoding is
fully parallel), with simplified GDN. One model serves every rate through gain units
(Cui et al. 2021): per-channel gains on the latent at ``levels`` anchor rates, interpolated
geometrically in between, so ``quality`` is continuous. Entropy models live elsewhere:
training wraps this module with CompressAI's, inference uses frozen integer tables.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from aecodec.models.layers import SimplifiedGDN, conv, deconv, interpolate_gains

@dataclass(frozen=True)
class HyperpriorConfig:
    N: int = 96  # channels of the transforms and of the hyper-latent z
    M: int = 128  # channels of the latent y
    levels: int = 6  # gain-unit anchors from lowest to highest rate
    lambda_min: float = 0.0018  # RD trade-off (MSE on [0, 1] * 255^2) at quality 1
    lambda_max: float = 0.13  # ... and at quality 100

    def to_dict(self) -> dict:
        return asdict(self)


class HyperpriorTransforms(nn.Module):
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
        # log-gains; start as a geometric ramp so low qualities quantise coarsely from step 0
        ramp = torch.linspace(math.log(0.5), math.log(2.0), config.levels)
        self.log_gain_enc = nn.Parameter(ramp[:, None].repeat(1, M).clone())
        self.log_gain_dec = nn.Parameter(-ramp[:, None].repeat(1, M).clone())

    def gains(self, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder and decoder gains, shape [B, M, 1, 1], for positions in [0, levels-1]."""
        enc = interpolate_gains(self.log_gain_enc, position)
        dec = interpolate_gains(self.log_gain_dec, position)
        return enc[:, :, None, None], dec[:, :, None, None]

    def lmbda(self, position: torch.Tensor) -> torch.Tensor:
        """The RD trade-off this position is trained for (geometric between the extremes)."""
        c = self.config
        frac = position / (c.levels - 1)
        return torch.exp(math.log(c.lambda_min) + frac * (math.log(c.lambda_max) - math.log(c.lambda_min)))

    def entropy_parameters(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float h_s (training only): means and scales of the latent."""
        means, scales = self.h_s(z_hat).chunk(2, dim=1)
        return means, scales
