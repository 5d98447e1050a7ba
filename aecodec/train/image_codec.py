"""Training of the hyperprior image codec: RD loss over a continuum of rates.

Each sample of a batch draws its own rate position, so every step trains the whole
quality range through the gain units. The latent the decoder sees is rounded with a
straight-through estimator while the rate term uses additive noise (Minnen & Singh 2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn

from aecodec.models.image.hyperprior import HyperpriorConfig, HyperpriorTransforms
from aecodec.train.loop import (
    checkpoint_steps, load_checkpoint,
    MetricLog, RunConfig, autocast, end_of_step, float32, optimiser_step, progress_bar, read_recipe, resume_checkpoint,
    save_checkpoint, set_lr, start_run,
)


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
            _, y_lik = self.gaussian_conditional(y, scales, means)
            y_hat = ste_round(y - means) + means
            # The quantile (aux) loss reaches only `quantiles`, which the RD loss never touches, so
            # one backward of their sum trains both, and DDP sees every parameter used in forward.
            aux = self.entropy_bottleneck.loss()
        x_hat = t.g_s(y_hat * g_dec).float()
        return {"x_hat": x_hat, "likelihoods": (y_lik, z_lik), "aux": aux}


def ste_round(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


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
    return crops.batch(cfg.batch_size, gen), torch.rand(cfg.batch_size, generator=gen) * (cfg.model.levels - 1)


def make_optimizers(model: nn.Module, cfg):
    """Adam for the model and Adam for the entropy models' quantiles. A config with a
    ``gain_lr_scale`` other than 1 puts the gain units in a group of their own at that multiple
    of the learning rate."""
    scale = getattr(cfg, "gain_lr_scale", 1.0)
    aux = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    gains = [p for n, p in model.named_parameters() if ".log_gain_" in n] if scale != 1.0 else []
    main = [p for n, p in model.named_parameters() if not n.endswith("quantiles") and all(p is not g for g in gains)]
    groups = [{"params": main}] + ([{"params": gains, "lr_scale": scale}] if gains else [])
    return torch.optim.Adam(groups, lr=cfg.lr), torch.optim.Adam(aux, lr=cfg.aux_lr)


def load_weights(model: TrainableHyperprior, source: str) -> int:
    """Initialise from shipped weights (.safetensors) or a checkpoint (.pt) so training
    compounds across runs; returns the steps already trained into those weights."""
    if str(source).endswith(".safetensors"):
        from aecodec.train.export import load_for_training

        return load_for_training(model, source)
    state = load_checkpoint(source)
    model.load_state_dict(state["model"])
    return checkpoint_steps(state)


def load_recipe(path: str | None, **overrides) -> ImageTrainConfig:
    """A recipe JSON (keys of ImageTrainConfig, 'model' for HyperpriorConfig) plus CLI overrides."""
    recipe = read_recipe(path, overrides)
    model = HyperpriorConfig(**recipe.pop("model", {}))
    return ImageTrainConfig(**recipe, model=model)


@torch.no_grad()
def validate(model: TrainableHyperprior, images: list[torch.Tensor], positions=(0.0, 2.5, 5.0)) -> list[dict]:
    """Estimated bpp / PSNR (likelihood rate, rounded latents) on centre crops of held-out images."""
    model.eval()
    rows = []
    for pos in positions:
        bpp, psnr = [], []
        for img in images:
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
            y_hat, y_lik = model.gaussian_conditional(y, scales, means, training=False)
            x_hat = t.g_s(y_hat * g_dec).clamp(0, 1)
            bits = -(torch.log2(y_lik).sum() + torch.log2(z_lik).sum())
            bpp.append(float(bits) / (h * w))
            mse = float(((x_hat * 255).round() / 255 - x).square().mean())
            psnr.append(10 * math.log10(1 / max(mse, 1e-12)))
        rows.append({"position": pos, "bpp": sum(bpp) / len(bpp), "psnr": sum(psnr) / len(psnr)})
    model.train()
    return rows


def train(cfg: ImageTrainConfig, resume: bool = False, log=print) -> Path:
    """Train (or resume) a run; works alone or under torchrun (DDP, one batch per rank)."""
    from aecodec.train.batches import step_batches
    from aecodec.train.data import RandomCrops, list_images, load_rgb

    dist, ckpt = start_run(cfg)
    # channels_last: oneDNN's and cuDNN's fast layout (1.15x a step here); before the optimisers,
    # whose state follows the parameters' layout
    model = TrainableHyperprior(cfg.model).to(dist.device, memory_format=torch.channels_last)
    opt, aux_opt = make_optimizers(model, cfg)
    step, prior_steps = 0, 0
    if resume and ckpt.exists():
        step, prior_steps = resume_checkpoint(ckpt, model, opt, aux_opt, log)
    elif cfg.init:
        prior_steps = load_weights(model, cfg.init)
        log(f"initialised from {cfg.init} ({prior_steps} steps already trained)")
    net = dist.wrap(model)

    crops = RandomCrops(load_rgb(list_images(cfg.data), cfg.crop), cfg.crop)
    val_images = load_rgb(list_images(cfg.val_data), 256)[:6] if cfg.val_data and dist.is_main else []
    metrics_log = MetricLog(ckpt.parent / "log.jsonl", ("loss", "bpp", "mse", "aux"), log)
    model.train()

    bar = progress_bar(cfg, step, dist.is_main)
    for x, position in step_batches(partial(make_batch, crops, cfg), cfg, dist.rank, dist.device, step):
        lr = set_lr(opt, step, cfg)
        opt.zero_grad(set_to_none=True)
        aux_opt.zero_grad(set_to_none=True)
        with autocast(cfg, dist.device):
            out = net(x, position)
        metrics = rd_loss(out, model.transforms, x, position)
        optimiser_step(metrics["loss"] + metrics["aux"], opt, aux_opt, cfg.clip)
        step += 1
        end_of_step(step, lr, metrics, cfg, dist, bar, metrics_log, prior_steps,
                    (lambda: validate(model, val_images)) if val_images else None,
                    lambda: save_checkpoint(ckpt, model, opt, aux_opt, step, prior_steps, cfg))
    bar.close()
    dist.stop()
    return ckpt
