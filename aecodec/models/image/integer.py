"""The entropy path's networks (h_s, the slice contexts) as integer networks, so entropy
parameters are bit-exact everywhere.

The scales that pick a CDF table must be identical on encoder and decoder, on any device
and thread count, or a file decodes to garbage (CompressAI #279, TFC #44). Float
convolutions do not guarantee that. Here weights are integers (units of 2^-W_BITS),
activations are integers (units of 2^-A_BITS), and every sum is evaluated in float64
where all intermediates are integers below 2^53: such sums are exact whatever the
summation order, so any BLAS, thread count or CPU gives the same result. Requantisation
divides by a power of two and rounds half up, also exact.
"""

from __future__ import annotations

import torch
from torch import nn

W_BITS = 16  # weights in units of 2^-16
A_BITS = 8  # activations, means and scales in units of 2^-8
ACT_LIMIT = 2.0**20  # activations are clamped to +-4096.0, which bounds every sum (below)
EXACT_LIMIT = 2.0**53  # float64 holds every integer below this exactly


def _round_half_up(x: torch.Tensor) -> torch.Tensor:
    return torch.floor(x + 0.5)


class IntegerNetwork:
    """Evaluates a Sequential of convolutions and transposed convolutions with ReLU between them
    (h_s, a slice's context) exactly on the CPU in float64."""

    def __init__(self, layers: list[dict]):
        self.layers = layers

    @classmethod
    def from_float(cls, h_s: nn.Sequential) -> IntegerNetwork:
        mods = [m for m in h_s if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        layers = []
        for i, m in enumerate(mods):
            w = _round_half_up(m.weight.detach().double() * 2.0**W_BITS)
            b = _round_half_up(m.bias.detach().double() * 2.0 ** (W_BITS + A_BITS))
            layers.append(_layer_dict(i, m, w, b, relu=i < len(mods) - 1))
        return cls(layers)

    def tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """Integer weights for safetensors (int32); geometry is fixed by the architecture."""
        out = {}
        for i, layer in enumerate(self.layers):
            out[f"{prefix}{i}.weight"] = layer["weight"].to(torch.int32)
            out[f"{prefix}{i}.bias"] = layer["bias"].to(torch.int64)
        return out

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str, h_s: nn.Sequential) -> IntegerNetwork:
        mods = [m for m in h_s if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        layers = []
        for i, m in enumerate(mods):
            w = tensors[f"{prefix}{i}.weight"].double()
            b = tensors[f"{prefix}{i}.bias"].double()
            if w.shape != m.weight.shape or b.shape != m.bias.shape:
                raise ValueError(f"integer network layer {i} has shape {tuple(w.shape)}, expected {tuple(m.weight.shape)}")
            layers.append(_layer_dict(i, m, w, b, relu=i < len(mods) - 1))
        return cls(layers)

    def __call__(self, z_fixed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Input in units of 2^-A_BITS (integer-valued float64) -> the output's two halves (means,
        scales) as float64 reals on the 2^-A_BITS grid."""
        x = z_fixed.double().cpu().clamp(-ACT_LIMIT, ACT_LIMIT)
        for layer in self.layers:
            if layer["transposed"]:
                acc = nn.functional.conv_transpose2d(
                    x, layer["weight"], None, layer["stride"], layer["padding"], layer["output_padding"]
                )
            else:
                acc = nn.functional.conv2d(x, layer["weight"], None, layer["stride"], layer["padding"])
            acc = acc + layer["bias"].view(1, -1, 1, 1)
            x = _round_half_up(acc * 2.0**-W_BITS)
            if layer["relu"]:
                x = x.clamp(0, ACT_LIMIT)
            else:
                x = x.clamp(-ACT_LIMIT, ACT_LIMIT)
        means, scales = (x * 2.0**-A_BITS).chunk(2, dim=1)
        return means, scales


def _check_exact(index: int, layer: dict) -> None:
    """Refuse a layer whose sums could leave float64's exact integers.

    An output sums |w| * |a| over its inputs, with |a| <= ACT_LIMIT, then adds the bias; every
    partial sum is bounded by ACT_LIMIT times the output channel's L1 weight norm (over all taps,
    more than a transposed convolution's output ever uses) plus |bias|. Below 2^53 every product
    and partial sum is an exactly represented integer, so any summation order gives the same bits.
    """
    w = layer["weight"].abs()
    l1 = w.sum(dim=(0, 2, 3)) if layer["transposed"] else w.sum(dim=(1, 2, 3))  # per output channel
    bound = float((l1 * ACT_LIMIT + layer["bias"].abs()).max())
    if bound >= EXACT_LIMIT:
        raise ValueError(f"layer {index} could sum to {bound:.3g} >= 2^53: it cannot be evaluated exactly")


def _layer_dict(index: int, m: nn.Module, w: torch.Tensor, b: torch.Tensor, relu: bool) -> dict:
    """Layer ``index`` of h_s with integer weights ``w`` and bias ``b``, checked to be exact."""
    transposed = isinstance(m, nn.ConvTranspose2d)
    layer = {
        "weight": w,
        "bias": b,
        "transposed": transposed,
        "stride": m.stride,
        "padding": m.padding,
        "output_padding": m.output_padding if transposed else 0,
        "relu": relu,
    }
    _check_exact(index, layer)
    return layer
