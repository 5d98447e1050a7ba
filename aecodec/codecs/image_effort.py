"""``--effort``: encode-time optimisation of an image's latents against the shipped decoder.

Stochastic Gumbel annealing (SGA; Yang et al., NeurIPS 2020): starting from the encoder's
latent y (gained) and hyper-latent z, Adam minimises bpp + lambda(quality) * 255^2 * MSE
through the shipped synthesis g_s and entropy model, with each latent replaced by a random
blend of its floor and ceiling whose temperature anneals towards hard rounding. The rate of z
comes from the entropy bottleneck's float density (the weights' training-only tensors), that
of y from a Gaussian with the means and scales of a float copy of the integer h_s (and of the
slice contexts, for a model with slices); a model with latent residual prediction refines the
annealed latent from those means before g_s, as its decoder does. In the last
part z is frozen at its rounded value and y alone is annealed against the exact entropy
parameters. Only the symbols change: they are coded as ``HyperpriorCodec.quantise``'s are,
with the integer h_s, so every file decodes with today's decoder. Randomness comes from a
generator with a fixed seed, so a file is the same on every run.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from aecodec.device import native_bf16
from aecodec.errors import ModelError
from aecodec.models.image.integer import A_BITS, W_BITS
from aecodec.models.image.model import TILE, Z_LIMIT

# Adam steps per effort; effort 1 is the plain encoder (no optimisation, today's files).
EFFORT_STEPS = {1: 0, 2: 10, 3: 20, 4: 35, 5: 50, 6: 80, 7: 150, 8: 300, 9: 600}
# Optimised only while the codec runs its transforms untiled (padded area <= 2 MP): the graph
# of g_s for the gradient stays around 1 GB; larger images get the plain encoder.
MAX_PIXELS = TILE * TILE * 2
SEED = 20201206  # SGA's noise; fixed so files are reproducible
LR = 0.02  # Adam's step size in latent units (one quantisation bin is 1)
TAU_START, TAU_END = 0.5, 0.1  # SGA temperature, annealed geometrically
Y_ONLY = 0.25  # the final fraction of the steps: z frozen at its symbols, y against the exact entropy parameters
SCALE_MIN = 0.11  # the smallest scale of the CDF tables (CompressAI's scale table)
LIKELIHOOD_MIN = 1e-9  # as CompressAI's likelihood bound


def optimisable(height: int, width: int, effort: int) -> bool:
    """Whether ``effort`` optimises an image of this padded size."""
    return EFFORT_STEPS[effort] > 0 and height * width <= MAX_PIXELS


def optimised_symbols(model, image: np.ndarray, y: torch.Tensor, height: int, width: int, quality: float,
                      effort: int, tick: Callable[[], None] | None = None):
    """``model.quantise(y, quality)``'s four arrays for latents optimised at ``effort``.

    ``image``: the padded uint8 [H, W, 3] the encoder analysed into ``y``; only its first
    ``height`` x ``width`` pixels count. ``tick()`` after each step (progress)."""
    steps = EFFORT_STEPS[effort]
    with torch.enable_grad():
        yg, z_sym = _optimise(model, image, y, height, width, quality, steps, tick)
    y_sym, y_idx = model.code_latent(yg, z_sym)
    return z_sym.numpy(), model.z_indexes(z_sym.shape), y_sym, y_idx


def _optimise(model, image, y, height, width, quality, steps, tick):
    """(optimised gained latent y, z symbols); the annealing of the module's docstring."""
    t, dev = model.transforms, model.device
    pos = torch.tensor([model.config.position(quality)], device=t.log_gain_enc.device)
    g_enc, g_dec = (g.detach().to(dev) for g in t.gains(pos))
    lmbda = float(t.lmbda(pos)) * 255**2
    x = torch.from_numpy(np.ascontiguousarray(image[:height, :width])).to(dev).permute(2, 0, 1)[None].float() / 255
    median = torch.from_numpy(model.z_medians).to(dev).view(1, -1, 1, 1).float() * 2.0**-A_BITS
    h_s, density = FloatNetwork(model.h_s.layers).to(dev), BottleneckDensity(model.training_tensors, dev)
    context = [FloatNetwork(net.layers).to(dev) for net in model.context]
    with torch.no_grad():
        yg = y.to(dev) * g_enc
        z = t.h_a(yg.contiguous(memory_format=torch.channels_last)).contiguous()
    yg, z = yg.contiguous().requires_grad_(), z.requires_grad_()
    gen = torch.Generator().manual_seed(SEED)  # on the CPU: the same noise on every device
    opt = Adam([yg, z], LR)
    fixed = None  # (z symbols, exact means, table scales, z bits) once z is frozen; Adam then skips z
    for step in range(steps):
        tau = TAU_START * (TAU_END / TAU_START) ** (step / max(1, steps - 1))
        if step == steps - int(steps * Y_ONLY):
            fixed = _freeze_z(model, z.detach(), median, density)
        if fixed is None:
            z_tilde = median + sga(z - median, tau, gen)
            z_bits = density.bits(z_tilde)
            means, scales = h_s(z_tilde)
        else:
            _, means, scales, z_bits = fixed
        y_tilde, bits, coded_means = _anneal_slices(model, context, yg, means, scales, tau, gen)
        bits = bits + z_bits
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=native_bf16(dev)):  # 2-3x faster g_s
            x_hat = t.g_s((t.refined(y_tilde, coded_means) * g_dec).contiguous(memory_format=torch.channels_last))
        mse = (x_hat[:, :, :height, :width].float().clamp(0, 1) - x).square().mean()
        loss = bits / (height * width) + lmbda * mse
        yg.grad = z.grad = None
        loss.backward()
        opt.step()
        if tick is not None:
            tick()
    if fixed is None:
        fixed = _freeze_z(model, z.detach(), median, density)
    return yg.detach().cpu(), fixed[0]


def _anneal_slices(model, context: list[FloatNetwork], yg: torch.Tensor, means: torch.Tensor, scales: torch.Tensor,
                   tau: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(annealed y, its bits, its means): slice by slice (a model without slices is one), each
    slice's means and scales refined by its context network (float, differentiable) from the
    annealed slices before it."""
    parts, bits, coded_means = [], 0.0, []
    for i, (first, end) in enumerate(model.config.slice_bounds()):
        m, s = means[:, first:end], scales[:, first:end]
        if context:
            d_means, d_scales = context[i](torch.cat([*parts, m, s], dim=1))
            m, s = m + d_means, s + d_scales
        parts.append(m + sga(yg[:, first:end] - m, tau, gen))
        coded_means.append(m)
        bits = bits + gaussian_bits(parts[-1] - m, s)
    return torch.cat(parts, dim=1), bits, torch.cat(coded_means, dim=1)


def _freeze_z(model, z: torch.Tensor, median: torch.Tensor, density: BottleneckDensity):
    """(z symbols, exact means, scales, z bits) for a continuous hyper-latent ``z``. Without slices
    the scales are those of the tables that will code y; with slices, the hyperprior's, which the
    contexts refine."""
    z_sym = torch.round(z.double() - median.double()).clamp(-Z_LIMIT, Z_LIMIT).to(torch.int32).cpu()
    means, scales = model.hyper_parameters(z_sym)
    if not model.context:
        scales = torch.from_numpy(model.scale_table[model.table_indexes(scales)]).float()
    bits = density.bits(z_sym.to(z.device).float() + median)
    return z_sym, means.to(z.device), scales.to(z.device), bits.detach()


class Adam:
    """torch.optim.Adam's update at its defaults (its single-tensor form, same bits), without
    torch.optim: that imports torch._dynamo, which takes seconds and fails under the CLI's deferred
    meta registrations (``runtime.defer_meta_registrations``). A parameter without a gradient is
    skipped, as there."""

    def __init__(self, params: list[torch.Tensor], lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.state = [(p, torch.zeros_like(p), torch.zeros_like(p), [0]) for p in params]

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        for p, m, v, count in self.state:
            if p.grad is None:
                continue
            count[0] += 1
            m.lerp_(p.grad, 1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v.sqrt() / (1 - b2 ** count[0]) ** 0.5).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / (1 - b1 ** count[0]))


def sga(v: torch.Tensor, tau: float, gen: torch.Generator) -> torch.Tensor:
    """A random blend of floor(v) and ceil(v), nearer the nearer one, harder as ``tau`` falls
    (Yang et al. 2020, eq. 5: a two-class Gumbel-softmax on atanh of the distances)."""
    floor = torch.floor(v.detach())
    frac = (v - floor).clamp(1e-5, 1 - 1e-5)
    logit_up = (torch.atanh(frac) - torch.atanh(1 - frac)) / tau  # log-odds of the ceiling
    u = torch.rand(v.shape, generator=gen).clamp(1e-6, 1 - 1e-6).to(v.device)
    noise = torch.log(u) - torch.log1p(-u)  # the difference of two Gumbel variables
    return floor + torch.sigmoid((logit_up + noise) / tau)


def gaussian_bits(residual: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Bits of latents ``residual`` away from their means under N(0, scale), binned by 1."""
    s = scales.clamp(min=SCALE_MIN)
    r = residual.abs()
    lik = _phi((0.5 - r) / s) - _phi((-0.5 - r) / s)
    return -torch.log2(lik.clamp(min=LIKELIHOOD_MIN)).sum()


def _phi(v: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-v * (2**-0.5))


class FloatNetwork:
    """An integer network's (h_s's, a context's) weights as reals, without its roundings: its two
    output halves (means, scales), differentiable."""

    def __init__(self, layers: list[dict]):
        self.layers = [dict(layer, weight=layer["weight"].float() * 2.0**-W_BITS,
                            bias=layer["bias"].float() * 2.0 ** -(W_BITS + A_BITS)) for layer in layers]

    def to(self, device: torch.device) -> FloatNetwork:
        for layer in self.layers:
            layer["weight"], layer["bias"] = layer["weight"].to(device), layer["bias"].to(device)
        return self

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = z
        for layer in self.layers:
            if layer["transposed"]:
                x = nn.functional.conv_transpose2d(x, layer["weight"], layer["bias"], layer["stride"],
                                                   layer["padding"], layer["output_padding"])
            else:
                x = nn.functional.conv2d(x, layer["weight"], layer["bias"], layer["stride"], layer["padding"])
            if layer["relu"]:
                x = torch.relu(x)
        means, scales = x.chunk(2, dim=1)
        return means, scales


class BottleneckDensity:
    """The hyper-latent's factorised density (Ballé et al. 2018; CompressAI's EntropyBottleneck),
    evaluated from the weights' training-only tensors: bits of z values, differentiable."""

    def __init__(self, tensors: dict[str, torch.Tensor], device: torch.device, prefix: str = "entropy_bottleneck."):
        n = sum(1 for k in tensors if k.startswith(prefix + "matrices."))
        if n == 0:
            raise ModelError("the model's weights lack the hyper-latent's density that --effort needs; use --effort 1")

        def get(name: str) -> torch.Tensor:
            return tensors[prefix + name].float().to(device)

        self.matrices = [nn.functional.softplus(get(f"matrices.{i}")) for i in range(n)]
        self.biases = [get(f"biases.{i}") for i in range(n)]
        self.factors = [torch.tanh(get(f"factors.{i}")) for i in range(n - 1)]

    def _logits(self, v: torch.Tensor) -> torch.Tensor:
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            v = torch.matmul(matrix, v) + bias
            if i < len(self.factors):
                v = v + self.factors[i] * torch.tanh(v)
        return v

    def bits(self, z: torch.Tensor) -> torch.Tensor:
        c = z.shape[1]
        v = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower, upper = self._logits(v - 0.5), self._logits(v + 0.5)
        sign = -torch.sign(lower + upper).detach()  # as CompressAI: the numerically stable side
        lik = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return -torch.log2(lik.clamp(min=LIKELIHOOD_MIN)).sum()
