"""Blocks shared by several models."""

from __future__ import annotations

import torch
from torch import nn

GDN_BLOCK_ROWS = 8192  # pixels per block of SimplifiedGDN at inference: 3 MiB at 96 channels


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
        # Pixels as rows: a view, no copy, for the channels_last tensors the models run on.
        b, c, h, w = x.shape
        pixels = x.permute(0, 2, 3, 1).reshape(-1, c)
        beta, gamma_t = beta.to(pixels.dtype), gamma.T.to(pixels.dtype)
        if torch.is_grad_enabled():
            norm = torch.addmm(beta, pixels.abs(), gamma_t).view(b, h, w, c).permute(0, 3, 1, 2)
            return x * norm if self.inverse else x / norm
        # Inference: blocks of rows that stay in cache through |x|, the product and the
        # multiply (a third faster than whole-tensor passes at 768x512), written into one output.
        out = torch.empty_like(pixels)
        scratch = pixels.new_empty(min(GDN_BLOCK_ROWS, len(pixels)), c)
        for start in range(0, len(pixels), GDN_BLOCK_ROWS):
            rows, dst = pixels[start : start + GDN_BLOCK_ROWS], out[start : start + GDN_BLOCK_ROWS]
            torch.addmm(beta, torch.abs(rows, out=scratch[: len(rows)]), gamma_t, out=dst)
            dst.mul_(rows) if self.inverse else torch.div(rows, dst, out=dst)
        return out.view(b, h, w, c).permute(0, 3, 1, 2)


def conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def deconv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        cin, cout, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1
    )


class SubpixelConv(nn.Module):
    """A stride-2, 5x5 transposed convolution rewritten exactly as a 3x3 convolution to four
    times the channels followed by a pixel shuffle (Shi et al. 2016), for inference.

    Output pixel 2q+a of the transposed convolution sums input q+d (d in -1..1) times kernel tap
    a+2-2d; the four phases (a, b) become output channel groups of an ordinary convolution.
    oneDNN runs that 4x faster than its transposed convolution for the 96 -> 3 output layer
    of the image synthesis (768x512, channels_last, 2 cores), at the same values up to float
    rounding.
    """

    def __init__(self, deconv: nn.ConvTranspose2d):
        super().__init__()
        if (deconv.kernel_size, deconv.stride, deconv.padding, deconv.output_padding) != ((5, 5), (2, 2), (2, 2), (1, 1)):
            raise ValueError("SubpixelConv rewrites 5x5 stride-2 transposed convolutions (padding 2, output padding 1)")
        w = deconv.weight.detach()  # [in, out, 5, 5]
        cin, cout = w.shape[:2]
        weight = w.new_zeros(cout, 2, 2, cin, 3, 3)
        for a in range(2):
            for b in range(2):
                for di in range(3):
                    for dj in range(3):
                        ki, kj = a + 4 - 2 * di, b + 4 - 2 * dj  # tap a+2-2d with d = di-1
                        if ki < 5 and kj < 5:
                            weight[:, a, b, :, di, dj] = w[:, :, ki, kj].T
        self.weight = nn.Parameter(weight.reshape(cout * 4, cin, 3, 3), requires_grad=False)
        self.bias = nn.Parameter(deconv.bias.detach().repeat_interleave(4), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pixel_shuffle(nn.functional.conv2d(x, self.weight, self.bias, padding=1), 2)


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
