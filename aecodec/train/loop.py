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


MAX_RECIPE_BYTES = 1 << 20
# Sane maxima of recipe values, by key, at any level ("model" included; for lists, each element):
# far above every shipped recipe, far below what would take a machine's memory or a lifetime.
RECIPE_RANGES: dict[str, tuple[float, float]] = {
    "steps": (1, 10**9), "seed": (0, 2**63 - 1), "batch_size": (1, 4096), "warmup": (0, 10**9), "log_every": (1, 10**9),
    "checkpoint_every": (1, 10**9), "val_every": (1, 10**9), "threads": (0, 1024), "workers": (-1, 256),
    "lr": (0, 1), "lr_final": (0, 1), "aux_lr": (0, 1), "decay_from": (0, 1), "clip": (0, 1e6),
    "crop": (16, 4096), "segment_seconds": (0.01, 60), "val_files": (0, 10**4), "val_seconds": (0, 3600),
    "max_file_seconds": (0.01, 10**6), "gain_lr_scale": (0, 1e4), "latent_gain_init": (1e-6, 1e9),
    # architectures: widths, depths, kernels
    "N": (1, 1024), "M": (1, 1024), "levels": (2, 64), "channels": (1, 2048), "latent": (1, 1024),
    "strides": (1, 64), "kernel": (1, 63), "dilations": (1, 1024), "lstm_layers": (1, 8),
    "widths": (1, 1024), "blocks": (0, 32), "unshuffle": (1, 8), "in_channels": (1, 64), "out_channels": (1, 64),
    "hidden": (1, 4096), "layers": (1, 16), "n_fft": (16, 16384), "hop": (1, 16384),
    "sample_rate": (1000, 768000), "stft_windows": (16, 65536), "mel_scales": (1, 65536),
}
MAX_STEP_PIXELS = 1 << 22  # batch_size * crop^2 of image training (4M pixels: e.g. 64 crops of 256^2)
MAX_STEP_SAMPLES = 1 << 24  # batch_size * longest segment of audio training (16M: 64 x 10 s at 24 kHz)


def read_recipe(path: str | None, overrides: dict) -> dict:
    """A recipe JSON's keys (those starting with '_' are comments) updated with the CLI's
    overrides that were given (not None).

    Raises:
        InputError: the file is missing, not a regular file, over 1 MiB, not JSON, or not a
            JSON object (``validate_recipe`` then checks its keys and values).
    """
    from aecodec.errors import InputError
    from aecodec.media.inputs import read_regular_file

    recipe = {}
    if path:
        def error(reason: str, hint: str) -> InputError:
            return InputError(f"cannot read recipe '{path}': {reason}; {hint}")

        data = read_regular_file(path, error, MAX_RECIPE_BYTES, "give a recipe .json file")
        try:
            recipe = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError; deep nesting
            reason = "nested too deeply" if isinstance(e, RecursionError) else str(e).splitlines()[0][:80]
            raise error(f"it is not JSON ({reason})", "fix the file or pass another --config") from None
        if not isinstance(recipe, dict):
            raise error(f"it holds a JSON {type(recipe).__name__}, not an object of settings",
                        'write it as {"key": value, ...}')
        recipe = {k: v for k, v in recipe.items() if not k.startswith("_")}
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


def validate_recipe(recipe: dict, config_cls: type, nested: dict[str, type] | None = None,
                    source: str = "the recipe", options: dict[str, dict] | None = None) -> None:
    """Check a recipe (``read_recipe``'s dict) against the trainer's config dataclass before
    anything is built: every key known, every value of its field's type (a dataclass-typed
    field, or one named in ``nested``, e.g. {"model": UNetConfig}, is checked the same way,
    one level down), numbers within ``RECIPE_RANGES``, and a training step's size within
    ``MAX_STEP_PIXELS`` / ``MAX_STEP_SAMPLES``. A dict field named in ``options`` (e.g. a
    restoration task's "degrade") may hold only the keys of its defaults there, each shaped
    like its default (a number, or a list of as many numbers).

    Raises:
        InputError: naming the first bad key and value, in one line.
    """
    _check_fields(recipe, config_cls, nested or {}, source, "")
    for key, defaults in (options or {}).items():
        if isinstance(recipe.get(key), dict):
            _check_like(recipe[key], defaults, source, key)
    _check_step_size(recipe, config_cls, nested or {}, source)


def _check_like(values: dict, defaults: dict, source: str, prefix: str) -> None:
    from aecodec.errors import InputError

    for key, value in values.items():
        name = f"{prefix}.{key}"
        if key not in defaults:
            raise InputError(f"{source}: unknown key '{name}'; known keys are {', '.join(sorted(defaults))}")
        like = defaults[key]
        if isinstance(like, (list, tuple)):
            ok = isinstance(value, list) and len(value) == len(like) and len(list(_numbers(value))) == len(like)
            problem = f"must be a list of {len(like)} numbers"
        else:
            ok = len(list(_numbers(value))) == 1 and not isinstance(value, list)
            problem = "must be a number"
        if ok and not all(math.isfinite(v) for v in _numbers(value)):
            ok, problem = False, "must be finite"
        if not ok:
            raise InputError(f"{source}: '{name}' {problem}, got {_show(value)}; fix the recipe")


def _check_fields(values: dict, cls: type, nested: dict[str, type], source: str, prefix: str) -> None:
    import dataclasses
    import typing

    from aecodec.errors import InputError

    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key, value in values.items():
        name = prefix + str(key)
        if key not in known:
            raise InputError(f"{source}: unknown key '{name}'; known keys are {', '.join(sorted(known))}")
        kind = nested.get(key) if not prefix else None
        kind = kind or hints[key]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise InputError(f"{source}: '{name}' must be an object of settings, got {_show(value)}; "
                                 'write it as {"key": value, ...}')
            _check_fields(value, kind, {}, source, name + ".")
            continue
        problem = _type_problem(value, kind)
        if problem is None:
            problem = _range_problem(key, value)
        if problem is not None:
            raise InputError(f"{source}: '{name}' {problem}, got {_show(value)}; fix the recipe or the option")


def _type_problem(value, kind) -> str | None:
    """Why ``value`` (parsed JSON) cannot be a ``kind``, or None."""
    import types
    import typing

    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        problems = [_type_problem(value, arm) for arm in args]
        return None if None in problems else " or ".join(p for p in problems if p)
    if kind is type(None):
        return None if value is None else "must be null"
    if kind is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be a whole number"
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "must be a number"
    if kind is str:
        return None if isinstance(value, str) else "must be a string"
    if kind is dict or origin is dict:
        return None if isinstance(value, dict) else "must be an object"
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return "must be a list"
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                return f"must be a list of {len(args)}"
            items = zip(value, args)
        else:
            items = ((v, args[0] if args else object) for v in value)
        for item, arm in items:
            problem = None if arm is object else _type_problem(item, arm)
            if problem:
                return f"must be a list whose items {problem.removeprefix('must ')}".replace("items be", "items are")
        return None
    return None  # a type this check does not know: the config's own construction judges it


def _range_problem(key: str, value) -> str | None:
    bounds = RECIPE_RANGES.get(key)
    if bounds is None:
        return None
    numbers = list(_numbers(value))
    lo, hi = bounds
    if any(not lo <= v <= hi for v in numbers):
        return f"must be within {lo:g}..{hi:g}"
    return None


def _numbers(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def _check_step_size(recipe: dict, config_cls: type, nested: dict[str, type], source: str) -> None:
    """What one training step costs, from the recipe and the config's defaults."""
    import dataclasses

    from aecodec.errors import InputError

    defaults = {f.name: f.default for f in dataclasses.fields(config_cls) if f.default is not dataclasses.MISSING}
    batch = recipe.get("batch_size", defaults.get("batch_size", 1))
    crop = recipe.get("crop", defaults.get("crop"))
    if isinstance(crop, int) and batch * crop * crop > MAX_STEP_PIXELS:
        raise InputError(f"{source}: batch_size {batch} x crop {crop}^2 is {batch * crop * crop} pixels a step, "
                         f"over the {MAX_STEP_PIXELS} limit; lower batch_size or crop")
    seconds = recipe.get("segment_seconds", defaults.get("segment_seconds"))
    if seconds is None:
        return
    longest = max(_numbers(seconds), default=0)
    model = recipe.get("model") or {}
    rate = model.get("sample_rate", 24000) if isinstance(model, dict) else 24000
    if batch * longest * rate > MAX_STEP_SAMPLES:
        raise InputError(f"{source}: batch_size {batch} x {longest:g} s at {rate} Hz is "
                         f"{int(batch * longest * rate)} samples a step, over the {MAX_STEP_SAMPLES} limit; "
                         "lower batch_size or segment_seconds")


def _show(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
    if not (isinstance(state, dict) and isinstance(state.get("model"), dict) and isinstance(state.get("step"), int)
            and isinstance(state.get("config"), dict)):
        raise InputError(f"'{path}' is not an aecodec checkpoint (no model weights, step and config); "
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
