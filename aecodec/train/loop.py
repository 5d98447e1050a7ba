"""Pieces every training loop shares: the optimiser step, the metric log and checkpoints."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
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


def read_recipe(path: str | None, overrides: dict) -> dict:
    """A recipe JSON's keys (those starting with '_' are comments) updated with the CLI's
    overrides that were given (not None)."""
    recipe = {}
    if path:
        recipe = {k: v for k, v in json.loads(Path(path).read_text()).items() if not k.startswith("_")}
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


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


def load_checkpoint(path: str | Path) -> dict:
    """A training checkpoint's state, read without unpickling code: ``weights_only=True`` only
    rebuilds tensors and plain containers, so a crafted ``.pt`` cannot run anything. Anything
    that is not such a checkpoint is one ``InputError``."""
    from aecodec.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint '{path}' does not exist or is not a file; check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError (forbidden global), zip or EOF errors, ...
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise InputError(f"'{path}' is not an aecodec checkpoint ({reason}); "
                         "use a checkpoint.pt written by 'aecodec train'") from None
    if not (isinstance(state, dict) and isinstance(state.get("model"), dict) and "step" in state):
        raise InputError(f"'{path}' is not an aecodec checkpoint (no model weights and step); "
                         "use a checkpoint.pt written by 'aecodec train'")
    return state


def checkpoint_steps(state: dict) -> int:
    """Steps trained into a checkpoint's weights, counting the weights it started from."""
    return int(state.get("total_steps", state["step"]))


def resume_checkpoint(path: Path, model, opt, aux_opt, log) -> tuple[int, int]:
    """The inverse of ``save_checkpoint``: weights, optimisers (``aux_opt`` may be None) and the
    global torch RNG (the entropy models' training noise) come back; returns (step, prior_steps).
    Batches need no state: they are seeded per step. Older checkpoints' data RNGs (``rng``,
    ``np_rng``) are ignored."""
    state = load_checkpoint(path)  # load_state_dict moves it to the model
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    if aux_opt is not None:
        aux_opt.load_state_dict(state["aux_opt"])
    torch.set_rng_state(state["torch_rng"].cpu())
    step = int(state["step"])
    log(f"resumed from {path} at step {step}")
    return step, int(state.get("prior_steps", 0))


def end_of_step(step: int, lr: float, metrics: dict, cfg, dist, bar, metrics_log: MetricLog, prior_steps: int,
                validate, save) -> None:
    """The bookkeeping after every optimiser step, alike in every trainer: the progress bar, a
    log row every ``log_every`` steps (with ``validate()`` every ``val_every``, when given), and
    ``save()`` on the main rank every ``checkpoint_every`` steps."""
    bar.update(1)
    metrics_log.add(metrics)
    last = step == cfg.steps
    if dist.is_main and (step % cfg.log_every == 0 or last):
        row = metrics_log.row(step=step, total_steps=prior_steps + step, lr=lr, ranks=dist.world)
        if validate is not None and (step % cfg.val_every == 0 or last):
            row["val"] = validate()
        metrics_log.write(row)
    if step % cfg.checkpoint_every == 0 or last:
        if dist.is_main:
            save()
        dist.barrier()


def optimiser_step(loss: torch.Tensor, opt, aux_opt, clip: float) -> None:
    """One backward of RD + aux loss (disjoint parameters), clip the main optimiser's, step both."""
    loss.backward()
    if clip:
        nn.utils.clip_grad_norm_([p for group in opt.param_groups for p in group["params"]], clip)
    opt.step()
    aux_opt.step()


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


def save_checkpoint(path: Path, model, opt, aux_opt, step: int, prior_steps: int, cfg) -> None:
    """Everything a resumed run needs to continue exactly: weights, optimisers, step and the
    global RNG. ``aux_opt`` is None for single-optimiser models."""
    state = {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "aux_opt": aux_opt.state_dict() if aux_opt is not None else None,
        "step": step,
        "prior_steps": prior_steps,  # steps already in the weights this run started from
        "total_steps": prior_steps + step,
        "torch_rng": torch.get_rng_state(),
        "config": asdict(cfg),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
