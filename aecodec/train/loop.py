"""The one training loop, and the task objects it drives.

A task (image codec, audio codec, image denoiser, image inpainter, audio denoiser) supplies the
model, each step's batch, the loss, the validation and the optimisers; ``train`` does the rest
the same way for all of them: the process group (alone or under torchrun), the starting weights
(``init``) or an exact resume, the schedule, clipping, bfloat16 autocast, the metric log and
checkpoints. Batches are a pure function of (seed, rank, step) (``batches.step_batches``).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

AMP = ("auto", "on", "off")


@dataclass
class RunConfig:
    """What every trainer's config holds: schedule, seed, hardware, logging and checkpoints.
    Each trainer's config adds its data and model fields and may change these defaults."""

    out: str = "runs/train"
    steps: int = 20000
    batch_size: int = 8
    lr: float = 5e-4
    lr_final: float = 1e-5
    warmup: int = 200
    decay_from: float = 0.75  # fraction of `steps` after which lr decays (cosine) to lr_final
    clip: float = 1.0  # gradient norm clipping (0: off)
    seed: int = 0
    threads: int = 0  # 0: torch's default
    device: str = "auto"  # auto picks CUDA when present
    workers: int = -1  # batch-making processes; -1: 0 on CPU, 4 on CUDA
    amp: str = "auto"  # bfloat16 transforms: auto (where native: CUDA, AVX512-BF16), on or off
    log_every: int = 50
    checkpoint_every: int = 500
    val_every: int = 500
    init: str | None = None  # start from these weights (a checkpoint .pt or a shipped .safetensors)
    ema: float = 0.0  # decay of the weights' running average that validation and export use (0: none)


class Task:
    """What a trainer supplies to ``train``. A subclass sets ``keys`` and defines ``build_model``,
    ``batch``, ``loss`` and ``validate``; the rest has defaults.

    Built as ``Task(cfg, main)`` once the run has started: it reads its training data, and its
    held-out data into ``val`` on the main rank only (empty: no validation).
    """

    keys: tuple[str, ...]  # the metrics of ``loss`` averaged into each log row
    find_unused_parameters = False  # DDP: True when a step may leave some parameters unused

    def __init__(self, cfg, main: bool):
        self.cfg = cfg
        self.val: list = []

    def build_model(self) -> nn.Module:
        """A new model on the CPU, its weights drawn from the global (seeded) RNG."""
        raise NotImplementedError

    def start_fresh(self, model: nn.Module) -> None:
        """Adjust a new model's weights when the run starts from neither ``init`` nor a checkpoint."""

    def prepare(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model in its training form on ``device`` (after ``init`` weights are loaded)."""
        return model.to(device)

    def optimizers(self, model: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
        """The main optimiser (its learning rate follows the schedule) and an auxiliary one or None."""
        return torch.optim.Adam(model.parameters(), lr=self.cfg.lr), None

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        """One step's batch (``cfg.batch_size`` samples), drawn from ``gen`` alone."""
        raise NotImplementedError

    def loss(self, model: nn.Module, forward: Callable[..., torch.Tensor | dict], batch) -> dict:
        """The metrics named in ``keys`` of one batch (float32): "loss" to minimise, plus "aux" when
        an auxiliary optimiser trains on it. ``forward`` runs the (DDP-wrapped) network under
        autocast; ``model`` is the bare module, for its other parts."""
        raise NotImplementedError

    def validate(self, model: nn.Module):
        """Metrics on ``val`` for the log row (called in eval mode, without gradients)."""
        raise NotImplementedError


def train(cfg, task_class: type[Task], resume: bool = False, log=print) -> Path:
    """Train (or resume) a run of ``task_class``; works alone or under torchrun (DDP, one batch
    per rank). Returns the checkpoint's path."""
    from aecodec.train.batches import step_batches
    from aecodec.train.checkpoint import load_weights, resume_checkpoint, save_checkpoint

    dist, ckpt = start_run(cfg)
    task = task_class(cfg, dist.is_main)
    model = task.build_model()
    resuming = resume and ckpt.exists()
    step, prior_steps = 0, 0
    if cfg.init and not resuming:
        prior_steps = load_weights(model, cfg.init)
        log(f"initialised from {cfg.init} ({prior_steps} steps already trained)")
    elif not resuming:
        task.start_fresh(model)
    model = task.prepare(model, dist.device)  # before the optimisers: their state follows its layout
    opt, aux_opt = task.optimizers(model)
    ema = Ema(model, cfg.ema) if cfg.ema else None
    if resuming:
        step, prior_steps = resume_checkpoint(ckpt, model, opt, aux_opt, log, ema)
    net = dist.wrap(model, find_unused_parameters=task.find_unused_parameters)

    def forward(*inputs: torch.Tensor) -> torch.Tensor | dict:
        """The network under amp. A tensor output comes back in float32, so the task's loss runs
        in float32 (the codecs' models return dicts already in float32)."""
        with autocast(cfg, dist.device):
            out = net(*inputs)
        return out.float() if isinstance(out, torch.Tensor) else out

    def validate():
        model.eval()
        try:
            with torch.no_grad(), (ema.swapped_in(model) if ema is not None else nullcontext()):
                return task.validate(model)
        finally:
            model.train()

    metrics_log = MetricLog(ckpt.parent / "log.jsonl", task.keys, log)
    optimisers = [o for o in (opt, aux_opt) if o is not None]
    model.train()
    bar = progress_bar(cfg, step, dist.is_main)
    for batch in step_batches(task.batch, cfg, dist.rank, dist.device, step):
        lr = set_lr(opt, step, cfg)
        for o in optimisers:
            o.zero_grad(set_to_none=True)
        metrics = task.loss(model, forward, batch)
        # The aux loss reaches only the aux optimiser's parameters: one backward trains both.
        (metrics["loss"] + metrics["aux"] if aux_opt is not None else metrics["loss"]).backward()
        if cfg.clip:
            nn.utils.clip_grad_norm_([p for group in opt.param_groups for p in group["params"]], cfg.clip)
        for o in optimisers:
            o.step()
        if ema is not None:
            ema.update(model, step)
        step += 1
        bar.update(1)
        metrics_log.add(metrics)
        last = step == cfg.steps
        if dist.is_main and (step % cfg.log_every == 0 or last):
            row = metrics_log.row(step=step, total_steps=prior_steps + step, lr=lr, ranks=dist.world)
            if task.val and (step % cfg.val_every == 0 or last):
                row["val"] = validate()
            metrics_log.write(row)
        if step % cfg.checkpoint_every == 0 or last:
            if dist.is_main:
                save_checkpoint(ckpt, model, opt, aux_opt, step, prior_steps, cfg, ema)
            dist.barrier()
    bar.close()
    dist.stop()
    return ckpt


class Ema:
    """A running average of the weights (Polyak averaging), which validates and exports better
    than the last step's noisy weights. Its decay ramps up as (1 + step) / (10 + step) towards
    ``decay``, so early on it follows the weights. Floating-point tensors of the state dict are
    averaged in their own dtype; others (counters) are copied."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def load(self, weights: dict[str, torch.Tensor]) -> None:
        """Raises RuntimeError worded like ``load_state_dict``'s when the weights do not fit."""
        if weights.keys() != self.shadow.keys() or any(
                not isinstance(weights[k], torch.Tensor) or weights[k].shape != v.shape for k, v in self.shadow.items()):
            raise RuntimeError("Error(s) in loading state_dict for the weights' running average (ema)")
        for k, v in self.shadow.items():
            v.copy_(weights[k])

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                self.shadow[k].lerp_(v, 1 - d)
            else:
                self.shadow[k].copy_(v)

    @contextmanager
    def swapped_in(self, model: nn.Module):
        """The model with the averaged weights while the block runs, then its own again."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield model
        finally:
            model.load_state_dict(own)


def start_run(cfg) -> tuple:
    """What every trainer does first: threads, the process group (alone or under torchrun), the
    run folder and identical initial weights on every rank. Returns (dist, checkpoint path)."""
    from aecodec.device import resolve_device
    from aecodec.train.distributed import Distributed

    if cfg.amp not in AMP:
        from aecodec.errors import InputError

        raise InputError(f"unknown amp setting '{cfg.amp}'; use one of {', '.join(AMP)}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist = Distributed.start(resolve_device(cfg.device))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    return dist, out / "checkpoint.pt"


def autocast(cfg, device: torch.device):
    """bfloat16 autocast for the heavy transforms when ``cfg.amp`` is on (auto: where bfloat16 is
    native, see ``device.native_bf16``). bfloat16 has float32's range: no gradient scaling."""
    from aecodec.device import native_bf16

    on = cfg.amp == "on" or (cfg.amp == "auto" and native_bf16(device))
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


def float32(device: torch.device):
    """Autocast off: the entropy models, rates and losses stay in float32 under amp."""
    return torch.autocast(device.type, enabled=False)


def progress_bar(cfg, step: int, main: bool):
    """A bar over the run's steps on stderr: the main rank only, and only on a terminal."""
    from tqdm import tqdm

    return tqdm(total=cfg.steps, initial=step, unit="step", file=sys.stderr, disable=None if main else True,
                dynamic_ncols=True, leave=False)


class MetricLog:
    """Averages metrics between log rows; rows go to ``log.jsonl`` and to ``log`` as JSON."""

    def __init__(self, path: Path, keys: tuple[str, ...], log):
        self.path, self.keys, self.log = path, keys, log
        self._reset()

    def _reset(self) -> None:
        self.sums, self.seen, self.t0 = dict.fromkeys(self.keys, 0.0), 0, time.time()

    def add(self, metrics: dict[str, torch.Tensor]) -> None:
        for k in self.keys:
            self.sums[k] += float(metrics[k].detach())
        self.seen += 1

    def row(self, **extra) -> dict:
        """The averages since the last row plus ``extra``; starts a new averaging window."""
        row = {k: v / self.seen for k, v in self.sums.items()}
        row.update(extra, steps_per_s=self.seen / (time.time() - self.t0))
        self._reset()
        return row

    def write(self, row: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        self.log(json.dumps(row))


def lr_at(step: int, cfg) -> float:
    """Linear warm-up to ``cfg.lr``, constant, then a cosine decay to ``cfg.lr_final`` over the
    last ``1 - cfg.decay_from`` of ``cfg.steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    start = int(cfg.decay_from * cfg.steps)
    if step < start:
        return cfg.lr
    frac = min(1.0, (step - start) / max(1, cfg.steps - start))
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * frac))


def set_lr(opt, step: int, cfg) -> float:
    """Set the main optimiser's learning rate for ``step`` (``lr_at``, times a group's
    ``lr_scale``) and return it."""
    lr = lr_at(step, cfg)
    for group in opt.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
    return lr
