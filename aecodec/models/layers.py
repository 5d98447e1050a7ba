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
        # Off-diagonal entries start tiny but not at zero: gamma = param^2 has zero gradient at 0,
        # and exact zeros would never learn cross-channel normalisation.
        gamma = 0.1 * torch.eye(channels) + 1e-6
        self.gamma = nn.Parameter(gamma.sqrt().view(channels, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta.square() + 1e-6
        gamma = self.gamma.square()[:, :, 0, 0]
        # A matrix product over channels, not a 1x1 convolution: oneDNN's 1x1 convolution sums
        # in an order that depends on the thread count, which changed decoded pixels between
        # 1 and 2 threads; the small-K matrix product gives the same bits with any thread count.
        b, c, h, w = x.shape
        norm = (gamma @ x.abs().reshape(b, c, h * w)).reshape(b, c, h, w) + beta.view(1, -1, 1, 1)
        return x * norm if self.inverse else x / norm


def conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def deconv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        cin, cout, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1
    )


# --- gain units (Cui et al. 2021): one model, a continuum of rates ---------------------------
QUALITY_MIN, QUALITY_MAX = 1.0, 100.0


def quality_to_position(quality: float, levels: int) -> float:
    """Map quality 1..100 to a continuous position 0..levels-1 among the gain anchors."""
    q = min(max(float(quality), QUALITY_MIN), QUALITY_MAX)
    return (q - QUALITY_MIN) / (QUALITY_MAX - QUALITY_MIN) * (levels - 1)


def interpolate_gains(log_gains: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """Gains [B, C] at positions [B] in [0, levels-1]: log-gains [levels, C] interpolated linearly
    between the two nearest anchors, so the gains themselves are interpolated geometrically."""
    levels = log_gains.shape[0]
    pos = position.clamp(0, levels - 1)
    lo = pos.floor().long().clamp(max=levels - 2)
    t = (pos - lo.to(pos.dtype))[:, None]
    return ((1 - t) * log_gains[lo] + t * log_gains[lo + 1]).exp()
