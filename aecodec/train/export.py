"""Write a model into a models folder: ``<name>.v<version>.safetensors`` (the model's own
``to_tensors()``) and its card; and read such weights back into a model being trained. Knows no
architecture: the models own their weights layout (models/registry.py), the trainers turn their
checkpoints into models (train/freeze.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aecodec.models.registry import architecture_name, sha256_file

# Model names become file names in the models folder: no separators, no hidden or parent names.
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")


def check_model_name(name: str) -> str:
    """Refuse a model name that is not lower-case letters, digits, '.' and '-' (first a letter
    or digit, at most 64): ``../x`` or ``/tmp/x`` would write outside the models folder.

    Raises:
        InputError: naming the bad name (escaped: it may hold control characters).
    """
    from aecodec.errors import InputError

    if not (isinstance(name, str) and MODEL_NAME.fullmatch(name)):
        raise InputError(f"model name {ascii(name)} is not allowed; use lower-case letters, digits, '.' and '-', "
                         "starting with a letter or digit (e.g. image-hyperprior)")
    return name


def write_pretrained(model, out_dir: str | Path, name: str, version: int, about: dict, state: dict,
                     card_extra: dict) -> Path:
    """Save ``model.to_tensors()`` as ``<name>.v<version>.safetensors`` and its card; returns the
    card's path. The card: name, version, the model's architecture (registry name), ``about``'s
    task and media, the model's config, the weights (file, sha256, ``model.weights_dtype``), the
    rest of ``about`` (e.g. quality), the training record of the checkpoint ``state`` and
    ``card_extra`` (its "trained" merged into the record)."""
    from safetensors.torch import save_file

    check_model_name(name)
    arch = architecture_name(model)  # before writing anything: a model outside the table never loads
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.v{version}.safetensors"
    save_file({k: v.contiguous() for k, v in model.to_tensors().items()}, str(weights))
    weights.chmod(0o644)
    full = {"name": name, "version": version, "architecture": arch, "format": 1,
            "task": about["task"], "media": about["media"], "config": model.config.to_dict(),
            "weights": {"file": weights.name, "sha256": sha256_file(weights), "dtype": model.weights_dtype}}
    full.update({k: v for k, v in about.items() if k not in ("task", "media")})
    full["trained"] = {"steps": int(state.get("total_steps", state["step"])), "seed": state["config"]["seed"],
                       "recipe": {k: v for k, v in state["config"].items()
                                  if k not in ("data", "noise_data", "val_data", "out", "init")}}
    extra = dict(card_extra)
    full["trained"].update(extra.pop("trained", {}))
    full.update(extra)
    card_path = out_dir / f"{name}.v{version}.json"
    card_path.write_text(json.dumps(full, indent=2) + "\n")
    return card_path


def load_for_training(model, weights_file: str | Path) -> int:
    """Initialise a model being trained from shipped weights, so training compounds; returns the
    steps already trained into them (from the card beside the file). Every parameter of the model
    must be in the file (torch names a missing or misshapen one), but for those of modules the
    model lists in ``new_on_init`` (name prefixes: parts it adds to an older architecture, which
    start as built); tensors the model lacks (frozen tables, the integer h_s) are skipped, and
    buffers the file lacks keep their values. Gain-unit log-gains the model lists in
    ``grown_on_init`` may have fewer anchors in the file: they are continued (``grown_gains``)."""
    from safetensors.torch import load_file

    from aecodec.models.layers import grown_gains

    tensors = load_file(str(weights_file))
    state = model.state_dict()
    for name in getattr(model, "grown_on_init", ()):
        if name in tensors and 2 <= tensors[name].shape[0] < state[name].shape[0]:
            tensors[name] = grown_gains(tensors[name].float(), state[name].shape[0])
    fresh = tuple(getattr(model, "new_on_init", ()))
    params = {name for name, _ in model.named_parameters() if not (fresh and name.startswith(fresh))}
    init = {k: v for k, v in state.items() if k not in params}
    init.update({k: v for k, v in tensors.items() if k in state})
    model.load_state_dict(init, strict=True)
    card = json.loads(Path(weights_file).with_suffix(".json").read_text())
    return int(card["trained"]["steps"])
