"""Blocks shared by several models."""

from __future__ import annotations

import torch
from torch import nn


class SimplifiedGDN(nn.Module):
    """Simplified GDN (Johnston et al. 2019): y_i = x_i / (beta_i + sum_j gamma_ij |x_j|).

    As good as GDN for compression at a fraction of its cost (no square, no square root).
    ``inverse=True`` multiplies instead (IGDN). Parameters are kept non-negative by squaring
    a reparametrised value, with a floor on beta so the division is always safe.
    """

    def __init__(self, channels: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels).view(channels, channels, 1, 1).sqrt())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta.square() + 1e-6
        gamma = self.gamma.square()
        norm = nn.functional.conv2d(x.abs(), gamma, beta)
        return x * norm if self.inverse else x / norm


def conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def deconv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        cin, cout, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1
    )
