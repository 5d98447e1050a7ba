"""The residual U-Net behind the image denoiser and the image inpainter.

DRUNet's shape (Zhang et al. 2021) scaled for a 2-core CPU: the input is pixel-unshuffled first
(FFDNet's trick, a 4x cheaper first level with a wider receptive field), then three levels of
residual blocks joined by strided convolutions down and transposed convolutions up, with
additive skips. ``gated=True`` turns every block convolution into a gated one (Yu et al. 2019,
DeepFill v2): a learned per-pixel, per-channel gate lets the inpainter ignore the hole's
placeholder values instead of blurring them into the context.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from aecodec.models.layers import StateDictModel


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 4  # e.g. RGB + noise-level map, or RGB + mask
    out_channels: int = 3
    widths: tuple[int, ...] = (64, 128, 192)
    blocks: int = 2  # residual blocks per level (and in the bottleneck)
    unshuffle: int = 2
    gated: bool = False

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))

    @property
    def multiple(self) -> int:
        """Input sides must be a multiple of this (the forward pads to it)."""
        return self.unshuffle * 2 ** (len(self.widths) - 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d


class GatedConv(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).chunk(2, dim=1)
        return feature * torch.sigmoid(gate)


class ResBlock(nn.Module):
    def __init__(self, width: int, gated: bool):
        super().__init__()
        conv = (lambda: GatedConv(width, width)) if gated else (lambda: nn.Conv2d(width, width, 3, padding=1))
        self.conv1, self.conv2 = conv(), conv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class RestorationUNet(StateDictModel):
    config_class = UNetConfig

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = c = config
        s2 = c.unshuffle**2
        w = c.widths

        def stage(width: int) -> nn.Sequential:
            return nn.Sequential(*(ResBlock(width, c.gated) for _ in range(c.blocks)))

        self.head = nn.Conv2d(c.in_channels * s2, w[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Sequential(stage(w[i]), nn.Conv2d(w[i], w[i + 1], 2, stride=2))
                                  for i in range(len(w) - 1))
        self.bottom = stage(w[-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2) for i in range(len(w) - 1))
        self.up_stages = nn.ModuleList(stage(w[i]) for i in range(len(w) - 1))
        self.tail = nn.Conv2d(w[0], c.out_channels * s2, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # start as the identity of residual use: no early blow-up
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        m = self.config.multiple
        x = F.pad(x, (0, -w % m, 0, -h % m), mode="reflect" if min(h, w) > m else "replicate")
        y = self.head(F.pixel_unshuffle(x, self.config.unshuffle))
        skips = []
        for down in self.down:
            skips.append(y)
            y = down(y)
        y = self.bottom(y)
        for i in reversed(range(len(self.up))):
            y = self.up_stages[i](self.up[i](y) + skips[i])
        y = F.pixel_shuffle(self.tail(y), self.config.unshuffle)
        return y[:, :, :h, :w]


def denoise(net: nn.Module, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The denoiser's contract: noisy [B, 3, H, W] in [0, 1] and the noise level sigma [B] in
    8-bit units (a map, FFDNet-style, scaled by 1/50) -> denoised; the net predicts the noise."""
    level = (sigma / 50.0).view(-1, 1, 1, 1).expand(-1, 1, *noisy.shape[2:])
    return noisy - net(torch.cat([noisy, level.to(noisy.dtype)], 1))


def inpaint(net: nn.Module, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The inpainter's contract: image [B, 3, H, W] in [0, 1], mask [B, 1, H, W] (1 = missing)
    -> the holes filled, every other pixel passed through. The holes are first filled smoothly
    (``pull_push``); the net sees that fill with the mask and adds the detail it lacks, so even
    an untrained net (zero output layer) inpaints like a classical diffusion method."""
    fill = pull_push(image, mask)
    return image * (1 - mask) + (fill + net(torch.cat([fill, mask], 1))) * mask


def pull_push(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pull-push interpolation (Gortler et al. 1996): average the known pixels down a pyramid
    until every coarse pixel has some, then blend back up, each level filling its holes from the
    coarser one (bilinear). Smooth, fast, and on thin strokes as good as OpenCV's TELEA."""
    weight = 1 - mask
    colour = image * weight
    pyramid = [(colour, weight)]
    while not bool((weight > 0).all()) and min(colour.shape[2:]) > 1:
        pad = (0, colour.shape[3] % 2, 0, colour.shape[2] % 2)
        total = F.avg_pool2d(F.pad(weight, pad, mode="replicate"), 2)
        colour = F.avg_pool2d(F.pad(colour * weight, pad, mode="replicate"), 2) / total.clamp_min(1e-8)
        weight = (2 * total).clamp(max=1.0)  # a coarse pixel with half its children known is known
        pyramid.append((colour, weight))
    filled = pyramid[-1][0]
    for colour, weight in reversed(pyramid[:-1]):
        up = F.interpolate(filled, size=colour.shape[2:], mode="bilinear", align_corners=False)
        filled = weight * colour + (1 - weight) * up
    return filled
