"""Training of the hyperprior image codec: RD loss over a continuum of rates.

Each sample of a batch draws its own rate position, so every step trains the whole
quality range through the gain units. The latent the decoder sees is rounded with a
straight-through estimator while the rate term uses additive noise (Minnen & Singh 2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from aecodec.models.image.hyperprior import HyperpriorConfig, HyperpriorTransforms
from aecodec.train.codec_task import CodecTask, ste_round
from aecodec.train.loop import RunConfig, float32, train as train_task
from aecodec.train.recipe import read_recipe


@dataclass
class ImageTrainConfig(RunConfig):
    data: str = "../shared/data/images/train"
    val_data: str | None = None
    out: str = "runs/image-codec"
    lr_final: float = 2e-5
    crop: int = 128
    aux_lr: float = 1e-3
    model: HyperpriorConfig = field(default_factory=HyperpriorConfig)


class TrainableHyperprior(nn.Module):
    """The transforms plus CompressAI's entropy models, as used while training."""

    # Slice contexts and LRP start as built (a zero residual) when initialised from a model without them.
    new_on_init = ("transforms.context.", "transforms.refine.")
    # ... and anchors added past the last (high_levels) start where the ladder of gains pointed.
    grown_on_init = ("transforms.log_gain_enc", "transforms.log_gain_dec")

    def __init__(self, config: HyperpriorConfig):
        super().__init__()
        from compressai.entropy_models import EntropyBottleneck, GaussianConditional

        self.transforms = HyperpriorTransforms(config)
        self.entropy_bottleneck = EntropyBottleneck(config.N)
        self.gaussian_conditional = GaussianConditional(None)

    def forward(self, x: torch.Tensor, position: torch.Tensor) -> dict:
        """Under ``loop.autocast`` only g_a and g_s run in bfloat16; the hyperprior side (small, and
        at inference h_s is an exact integer network) and the likelihoods stay float32."""
        t = self.transforms
        g_enc, g_dec = t.gains(position)
        y = t.g_a(x.contiguous(memory_format=torch.channels_last))
        with float32(x.device):
            y = y.float() * g_enc
            z = t.h_a(y)
            z_hat, z_lik = self.entropy_bottleneck(z)
            means, scales = t.entropy_parameters(z_hat)
            y_hat, y_lik, means = self.code_slices(y, means, scales, training=True)
            # The quantile (aux) loss reaches only `quantiles`, which the RD loss never touches, so
            # one backward of their sum trains both, and DDP sees every parameter used in forward.
            aux = self.entropy_bottleneck.loss()
        x_hat = t.g_s(t.refined(y_hat, means) * g_dec).float()
        return {"x_hat": x_hat, "likelihoods": (y_lik, z_lik), "aux": aux}

    def code_slices(self, y: torch.Tensor, means: torch.Tensor, scales: torch.Tensor,
                    training: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(quantised y, its likelihoods, the means it was coded against), slice by slice (``HyperpriorCodec.latent``'s order): each
        slice's parameters refined by its context from the slices already quantised. Training:
        likelihoods with noise, the decoder's latent rounded straight-through; else both rounded."""
        t, parts, liks, coded_means = self.transforms, [], [], []
        for i, (first, end) in enumerate(t.config.slice_bounds()):
            m, s = t.slice_parameters(i, parts, means[:, first:end], scales[:, first:end])
            coded_means.append(m)
            if training:
                _, lik = self.gaussian_conditional(y[:, first:end], s, m)
                parts.append(ste_round(y[:, first:end] - m) + m)
            else:
                part, lik = self.gaussian_conditional(y[:, first:end], s, m, training=False)
                parts.append(part)
            liks.append(lik)
        return torch.cat(parts, dim=1), torch.cat(liks, dim=1), torch.cat(coded_means, dim=1)


def rd_loss(out: dict, transforms: HyperpriorTransforms, x: torch.Tensor, position: torch.Tensor) -> dict:
    """Per-sample lambda * 255^2 * MSE + bpp of the model's output ``out``, averaged (float32)."""
    num_pixels = x.shape[2] * x.shape[3]
    bits = sum(torch.log(lik).flatten(1).sum(1) for lik in out["likelihoods"]) / (-math.log(2))
    bpp = bits / num_pixels
    mse = (out["x_hat"] - x).square().flatten(1).mean(1)
    loss = (transforms.lmbda(position) * 255**2 * mse + bpp).mean()
    return {"loss": loss, "bpp": bpp.mean(), "mse": mse.mean(), "aux": out["aux"]}


def make_batch(crops, cfg: ImageTrainConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One step's crops and a rate position per sample, all drawn from the step's generator."""
    return crops.batch(cfg.batch_size, gen), torch.rand(cfg.batch_size, generator=gen) * cfg.model.top_position


def load_recipe(path: str | None, **overrides) -> ImageTrainConfig:
    """A recipe JSON (keys of ImageTrainConfig, 'model' for HyperpriorConfig) plus CLI overrides."""
    recipe = read_recipe(path, overrides)
    model = HyperpriorConfig(**recipe.pop("model", {}))
    return ImageTrainConfig(**recipe, model=model)


class ImageCodecTask(CodecTask):
    """RD training on random crops (``crop`` px, flipped at random) of a folder of images; the
    validation runs on centre crops of up to six held-out images of at least 256 px."""

    keys = ("loss", "bpp", "mse", "aux")

    def __init__(self, cfg: ImageTrainConfig, main: bool):
        from aecodec.train.data import RandomCrops, list_images, read_rgb_tensors

        super().__init__(cfg, main)
        self.crops = RandomCrops(read_rgb_tensors(list_images(cfg.data), cfg.crop), cfg.crop)
        if cfg.val_data and main:
            self.val = read_rgb_tensors(list_images(cfg.val_data), 256)[:6]

    def build_model(self) -> TrainableHyperprior:
        return TrainableHyperprior(self.cfg.model)

    def prepare(self, model: TrainableHyperprior, device: torch.device) -> TrainableHyperprior:
        # channels_last: oneDNN's and cuDNN's fast layout (1.15x a step here)
        return model.to(device, memory_format=torch.channels_last)

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return make_batch(self.crops, self.cfg, gen)

    def loss(self, model: TrainableHyperprior, forward, batch) -> dict:
        x, position = batch
        return rd_loss(forward(x, position), model.transforms, x, position)

    def validate(self, model: TrainableHyperprior, positions=(0.0, 2.5, 5.0)) -> list[dict]:
        """Estimated bpp / PSNR (likelihood rate, rounded latents) on centre crops of held-out
        images; with high_levels, also at quality 100's position."""
        rows, top = [], model.transforms.config.top_position
        if top > positions[-1]:
            positions = (*positions, top)
        for pos in positions:
            bpp, psnr = [], []
            for img in self.val:
                x = img.float()[None].to(next(model.parameters()).device) / 255.0
                h, w = (x.shape[2] // 64) * 64, (x.shape[3] // 64) * 64
                x = x[:, :, :h, :w]
                p = torch.tensor([pos], device=x.device)
                t = model.transforms
                g_enc, g_dec = t.gains(p)
                y = t.g_a(x) * g_enc
                z = t.h_a(y)
                z_hat, z_lik = model.entropy_bottleneck(z, training=False)
                means, scales = t.entropy_parameters(z_hat)
                y_hat, y_lik, means = model.code_slices(y, means, scales, training=False)
                x_hat = t.g_s(t.refined(y_hat, means) * g_dec).clamp(0, 1)
                bits = -(torch.log2(y_lik).sum() + torch.log2(z_lik).sum())
                bpp.append(float(bits) / (h * w))
                mse = float(((x_hat * 255).round() / 255 - x).square().mean())
                psnr.append(10 * math.log10(1 / max(mse, 1e-12)))
            rows.append({"position": pos, "bpp": sum(bpp) / len(bpp), "psnr": sum(psnr) / len(psnr)})
        return rows


def train(cfg: ImageTrainConfig, resume: bool = False, log=print) -> Path:
    """Train (or resume) an image-codec run; works alone or under torchrun (``loop.train``)."""
    return train_task(cfg, ImageCodecTask, resume, log)
