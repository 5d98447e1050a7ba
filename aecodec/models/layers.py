"""Blocks shared by several models."""

from __future__ import annotations

import math

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


def grown_gains(log_gains: torch.Tensor, anchors: int) -> torch.Tensor:
    """Log-gains [levels, C] continued to ``anchors`` rows, each new one a step past the last as
    large as the last step: a model warm-started with more anchors first extrapolates."""
    step = log_gains[-1] - log_gains[-2]
    extra = torch.arange(1, anchors - log_gains.shape[0] + 1, dtype=log_gains.dtype)[:, None] * step
    return torch.cat([log_gains, log_gains[-1] + extra])


def interpolate_gains(log_gains: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """Gains [B, C] at positions [B] in [0, levels-1]: log-gains [levels, C] interpolated linearly
    between the two nearest anchors, so the gains themselves are interpolated geometrically."""
    levels = log_gains.shape[0]
    pos = position.clamp(0, levels - 1)
    lo = pos.floor().long().clamp(max=levels - 2)
    t = (pos - lo.to(pos.dtype))[:, None]
    return ((1 - t) * log_gains[lo] + t * log_gains[lo + 1]).exp()


class GainUnits(nn.Module):
    """Base of the codecs' transforms: per-channel gains on the latent at ``levels`` anchor rates
    (the encoder multiplies before rounding, the decoder after), interpolated geometrically in
    between, so one model serves every quality; the RD trade-off each rate position trains for
    runs geometrically from ``lambda_q1`` (quality 1) to ``lambda_q100`` (quality 100)."""

    def add_gain_units(self, channels: int, levels: int, lambda_q1: float, lambda_q100: float,
                       latent_dims: int, extra_levels: int = 0) -> None:
        """Called by the subclass's ``__init__``: the log-gains are the subclass's own parameters
        (``log_gain_enc`` / ``log_gain_dec``, as shipped weights and checkpoints name them).
        ``latent_dims``: the latent's dimensions after [B, C] (2 for images, 1 for audio).
        ``extra_levels``: anchors past the ``levels``-th, whose lambdas continue the same
        geometric ladder (positions levels-1 .. levels-1+extra_levels)."""
        # log-gains; a geometric ramp from the start so low qualities quantise coarsely at once
        step = (math.log(2.0) - math.log(0.5)) / (levels - 1)
        ramp = math.log(0.5) + step * torch.arange(levels + extra_levels, dtype=torch.float32)
        self.log_gain_enc = nn.Parameter(ramp[:, None].repeat(1, channels).clone())
        self.log_gain_dec = nn.Parameter(-ramp[:, None].repeat(1, channels).clone())
        self.gain_levels, self.latent_dims = levels, latent_dims
        self.lambda_q1, self.lambda_q100 = lambda_q1, lambda_q100

    def gains(self, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder and decoder gains [B, C, 1, ...] (broadcasting over the latent) at positions
        [B] in [0, levels-1]."""
        ones = (1,) * self.latent_dims
        enc = interpolate_gains(self.log_gain_enc, position)
        dec = interpolate_gains(self.log_gain_dec, position)
        return enc.view(*enc.shape, *ones), dec.view(*dec.shape, *ones)

    def lmbda(self, position: torch.Tensor) -> torch.Tensor:
        """The RD trade-off each position is trained for: geometric, ``lambda_q1`` at position 0
        and ``lambda_q100`` at ``levels - 1``, and on at the same ratio past it."""
        frac = position / (self.gain_levels - 1)
        q1, q100 = math.log(self.lambda_q1), math.log(self.lambda_q100)
        return torch.exp(q1 + frac * (q100 - q1))


# --- weights ---------------------------------------------------------------------------------
class StateDictModel(nn.Module):
    """A network whose weights file is its state dict in float32 (small models with no entropy
    path to keep exact: the restorers). Subclasses set ``config_class``, built from the card's
    config, and take it as their one constructor argument."""

    config_class: type
    weights_dtype = "float32"

    @classmethod
    def from_pretrained(cls, card: dict, tensors: dict[str, torch.Tensor]) -> StateDictModel:
        model = cls(cls.config_class(**card["config"]))
        model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
        return model.eval().requires_grad_(False)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().float() for k, v in self.state_dict().items()}
