"""Training checkpoints (written atomically, read without unpickling code) and the starting weights
of a run: a checkpoint or shipped weights, so training compounds across runs."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

WEIGHT_NORM = ".parametrizations.weight."


def save_checkpoint(path: Path, model, opt, aux_opt, step: int, prior_steps: int, cfg, ema=None) -> None:
    """Everything a resumed run needs to continue exactly: weights, optimisers, step and the
    global RNG. ``aux_opt`` is None for single-optimiser models; ``ema`` (``loop.Ema``) is the
    running average of the weights when the recipe asks for one."""
    state = {
        "model": model.state_dict(),
        **({"ema": ema.shadow} if ema is not None else {}),
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
            and isinstance(state.get("config"), dict) and isinstance(state.get("ema", {}), dict)):
        raise InputError(f"'{path}' is not an aecodec checkpoint (no model weights, step and config); "
                         "use a checkpoint.pt written by 'aecodec train'")
    return state


def deployed_weights(state: dict) -> dict[str, torch.Tensor]:
    """The weights a checkpoint hands on (export, ``--init``): the running average when the run
    kept one (``ema``), else the last step's."""
    return state.get("ema") or state["model"]


def checkpoint_steps(state: dict) -> int:
    """Steps trained into a checkpoint's weights, counting the weights it started from."""
    return int(state.get("total_steps", state["step"]))


def resume_checkpoint(path: Path, model, opt, aux_opt, log, ema=None) -> tuple[int, int]:
    """The inverse of ``save_checkpoint``: weights, optimisers (``aux_opt`` may be None), the
    weights' running average (into ``ema`` when given; a checkpoint without one starts it from the
    weights) and the global torch RNG (the entropy models' training noise) come back; returns
    (step, prior_steps). Batches need no state: they are seeded per step. Older checkpoints' data
    RNGs (``rng``, ``np_rng``) are ignored."""
    state = load_checkpoint(path)  # load_state_dict moves it to the model
    model.load_state_dict(state["model"])
    if ema is not None:
        ema.load(state.get("ema") or model.state_dict())
    opt.load_state_dict(state["opt"])
    if aux_opt is not None:
        aux_opt.load_state_dict(state["aux_opt"])
    torch.set_rng_state(state["torch_rng"].cpu())
    step = int(state["step"])
    log(f"resumed from {path} at step {step}")
    return step, int(state.get("prior_steps", 0))


def plain_weights(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A checkpoint's weights with weight norm (a training-time reparametrisation, dim 0 as
    ``nn.utils.parametrizations.weight_norm`` registers it) folded into plain weights, as
    inference and a new run's model have them; other weights pass unchanged."""
    plain = {}
    for key, value in weights.items():
        if WEIGHT_NORM not in key:
            plain[key] = value
        elif key.endswith(WEIGHT_NORM + "original1"):  # v; original0 is g
            module = key[: -len(WEIGHT_NORM + "original1")]
            g = weights[module + WEIGHT_NORM + "original0"]
            plain[module + ".weight"] = torch._weight_norm(value, g, 0)  # what the parametrisation computes
    return plain


def load_weights(model: nn.Module, source: str | Path) -> int:
    """Start ``model`` (in its plain form: before any weight norm) from shipped weights
    (.safetensors with its card beside it, ``export.load_for_training``) or a checkpoint of
    ``aecodec train`` (.pt); returns the steps already trained into them, so model cards can
    add the steps up.

    Raises:
        InputError: ``source`` is not a checkpoint (``load_checkpoint``).
        RuntimeError: the weights do not fit the model (``load_state_dict``).
    """
    if str(source).endswith(".safetensors"):
        from aecodec.train.export import load_for_training

        return load_for_training(model, source)
    state = load_checkpoint(source)
    model.load_state_dict(plain_weights(deployed_weights(state)))
    return checkpoint_steps(state)
