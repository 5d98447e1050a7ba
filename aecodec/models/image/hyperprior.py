"""Mean-scale hyperprior image codec with gain units for continuous rate control.

Transforms after Minnen et al. 2018 (mean-scale hyperprior, no context model: decoding is
fully parallel), with simplified GDN. One model serves every rate through gain units
(Cui et al. 2021, ``layers.GainUnits``): per-channel gains on the latent at ``levels`` anchor
rates, interpolated geometrically in between, so ``quality`` is continuous. Entropy models live
elsewhere: training wraps this module with CompressAI's, inference uses frozen integer tables.

Optionally (``slices``), a channel-conditional context (Minnen & Singh 2020; uneven groups as
ELIC, He et al. 2022): the latent's channels are coded in slices, and a small network per slice
refines the hyperprior's means and scales of that slice from the slices already decoded. Each
network is a residual on the hyperprior's parameters whose last layer starts at zero, so a model
warm-started from a plain hyperprior starts exactly where it was. Decoding stays parallel over
pixels; only the slices (a handful) run one after another.

Optionally (``high_levels``), gain anchors past the last for a high-fidelity range: qualities
96-100 run over them (``HyperpriorConfig.position``), their lambdas continuing the ladder.

Optionally (``refine_channels``), latent residual prediction (LRP, Minnen & Singh 2020): before
synthesis, a small network sees the decoded latent and the means it was coded against and adds
a correction within half a quantisation bin, recovering part of what rounding lost. It is part
of the decoder only (the entropy path does not see it), and its last layer starts at zero, so a
model warm-started without it starts exactly where it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from aecodec.models.layers import GainUnits, SimplifiedGDN, conv, deconv, quality_to_position

HIGH_FROM = 95.0  # with high_levels, the qualities above this one reach the extra anchors


@dataclass(frozen=True)
class HyperpriorConfig:
    N: int = 96  # channels of the transforms and of the hyper-latent z
    M: int = 128  # channels of the latent y
    levels: int = 6  # gain-unit anchors from lowest to highest rate
    lambda_q1: float = 0.0018  # RD trade-off (MSE on [0, 1] * 255^2) at quality 1
    lambda_q100: float = 0.13  # ... and at quality 100
    slices: tuple[int, ...] = ()  # channel-conditional slices of y (summing to M); () is the plain hyperprior
    context_channels: int = 48  # width of each slice's context network
    refine_channels: int = 0  # width of the latent residual prediction network; 0: none
    high_levels: int = 0  # anchors past the last, for qualities above HIGH_FROM (high fidelity)

    def __post_init__(self):
        object.__setattr__(self, "slices", tuple(int(s) for s in self.slices))  # JSON gives a list
        if self.slices and (sum(self.slices) != self.M or min(self.slices) < 1):
            raise ValueError(f"slices {list(self.slices)} must be positive and sum to M = {self.M}")

    def to_dict(self) -> dict:
        """The card's config; without slices or refinement their keys are left out, as cards before them did."""
        out = asdict(self)
        if self.slices:
            out["slices"] = list(self.slices)
        else:
            del out["slices"], out["context_channels"]
        for key in ("refine_channels", "high_levels"):
            if not out[key]:
                del out[key]
        return out

    @property
    def top_position(self) -> float:
        """The position of quality 100: the last gain anchor."""
        return float(self.levels - 1 + self.high_levels)

    def position(self, quality: float) -> float:
        """Quality 1..100 -> the rate position among the gain anchors: linear over the first
        ``levels`` anchors, and with ``high_levels``, qualities above HIGH_FROM run on, linearly,
        over the anchors past them, so every quality up to HIGH_FROM keeps its rate."""
        position = quality_to_position(quality, self.levels)
        if not self.high_levels or quality <= HIGH_FROM:
            return position
        start = quality_to_position(HIGH_FROM, self.levels)
        return start + (min(quality, 100.0) - HIGH_FROM) / (100.0 - HIGH_FROM) * (self.top_position - start)

    def slice_bounds(self) -> list[tuple[int, int]]:
        """(first, end) channel of every slice, in coding order; the plain hyperprior is one slice."""
        sizes, bounds, start = self.slices or (self.M,), [], 0
        for size in sizes:
            bounds.append((start, start + size))
            start += size
        return bounds


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
        self.add_gain_units(M, config.levels, config.lambda_q1, config.lambda_q100, latent_dims=2,
                            extra_levels=config.high_levels)
        # Like h_s, these run as integer networks at inference: 1x1 and 3x3 convolutions, ReLU.
        self.context = nn.ModuleList(
            context_network(first, end - first, config.context_channels)
            for first, end in config.slice_bounds()) if config.slices else None
        self.refine = refine_network(M, config.refine_channels) if config.refine_channels else None

    def entropy_parameters(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float h_s (training only): means and scales of the latent."""
        means, scales = self.h_s(z_hat).chunk(2, dim=1)
        return means, scales

    def slice_parameters(self, index: int, decoded: list[torch.Tensor], means: torch.Tensor,
                         scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float context (training only): slice ``index``'s means and scales from the hyperprior's
        (``means``, ``scales``: that slice's channels) and the slices before it (``decoded``,
        their quantised latents in order; empty for the first slice)."""
        if self.context is None:
            return means, scales
        d_means, d_scales = self.context[index](torch.cat([*decoded, means, scales], dim=1)).chunk(2, dim=1)
        return means + d_means, scales + d_scales

    def refined(self, y_hat: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
        """The latent synthesis sees: the quantised (gained) ``y_hat`` plus the residual predicted
        from it and the ``means`` it was coded against, within half a bin (y_hat itself without
        ``refine``)."""
        if self.refine is None:
            return y_hat
        return y_hat + 0.5 * torch.tanh(self.refine(torch.cat([y_hat, means], dim=1)))


def refine_network(M: int, width: int) -> nn.Sequential:
    """LRP: the latent and its means in, a residual per latent channel out (before the tanh). The
    last layer starts at zero: no correction until trained. Reach: one latent cell each side."""
    last = nn.Conv2d(width, M, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(nn.Conv2d(2 * M, width, 1), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), last)


def context_network(before: int, size: int, width: int) -> nn.Sequential:
    """A slice's context: the ``before`` decoded channels and the slice's ``size`` hyperprior means and
    scales in, corrections to those means and scales out. The last layer starts at zero."""
    last = nn.Conv2d(width, 2 * size, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(nn.Conv2d(before + 2 * size, width, 1), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), last)
