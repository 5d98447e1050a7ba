"""Freeze a trained checkpoint into pretrained/: integer CDF tables, exact h_s, safetensors + card."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from aecodec.models.image.integer import A_BITS, IntegerHyperSynthesis
from aecodec.models.registry import sha256_file

# CompressAI's default scale table (0.11 .. 256, 64 log-spaced levels)
SCALES_MIN, SCALES_MAX, SCALES_LEVELS = 0.11, 256.0, 64


def export_image_codec(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Write ``<name>.v<version>.safetensors`` and ``.json`` (config, sha256, tables) into out_dir.

    Versions are never overwritten: files made with an older version must keep decoding.
    """
    import math

    from safetensors.torch import save_file

    from aecodec.train.image_codec import TrainableHyperprior
    from aecodec.models.image.hyperprior import HyperpriorConfig

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = HyperpriorConfig(**state["config"]["model"])
    model = TrainableHyperprior(config)
    model.load_state_dict(state["model"])
    model.eval()
    eb, gc = model.entropy_bottleneck, model.gaussian_conditional
    # Put the medians on the 2^-A_BITS grid the integer h_s reads z in, then build the tables.
    with torch.no_grad():
        eb.quantiles[:, 0, 1] = torch.round(eb.quantiles[:, 0, 1] * 2**A_BITS) / 2**A_BITS
    eb.update(force=True)
    scale_table = torch.exp(torch.linspace(math.log(SCALES_MIN), math.log(SCALES_MAX), SCALES_LEVELS))
    gc.update_scale_table(scale_table, force=True)

    tensors = {f"transforms.{k}": v.detach().to(torch.float16) for k, v in model.transforms.state_dict().items()}
    # gains are exponentiated: keep them float32 so quality maps exactly as trained
    for k in ("log_gain_enc", "log_gain_dec"):
        tensors[f"transforms.{k}"] = getattr(model.transforms, k).detach().float()
    tensors.update({f"entropy_bottleneck.{k}": v.detach().float() for k, v in eb.state_dict().items()
                    if not k.startswith("_") and v.is_floating_point()})
    tensors.update(IntegerHyperSynthesis.from_float(model.transforms.h_s).tensors("hs_int."))
    tensors["tables.z.cdf"] = eb._quantized_cdf.int()
    tensors["tables.z.cdf_length"] = eb._cdf_length.int()
    tensors["tables.z.offset"] = eb._offset.int()
    tensors["tables.z.medians"] = torch.round(eb.quantiles[:, 0, 1].detach() * 2**A_BITS).to(torch.int64)
    tensors["tables.y.cdf"] = gc._quantized_cdf.int()
    tensors["tables.y.cdf_length"] = gc._cdf_length.int()
    tensors["tables.y.offset"] = gc._offset.int()
    tensors["tables.y.scale_table"] = gc.scale_table.double()
    tensors = {k: v.contiguous() for k, v in tensors.items()}

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.v{version}.safetensors"
    save_file(tensors, str(weights))
    weights.chmod(0o644)
    card = {
        "name": name,
        "version": version,
        "architecture": "image-hyperprior",
        "format": 1,
        "task": "compress",
        "media": "image",
        "config": config.to_dict(),
        "weights": {"file": weights.name, "sha256": sha256_file(weights), "dtype": "float16 transforms, int32 entropy path"},
        "quality": {"min": 1, "max": 100, "method": "gain units, geometric interpolation"},
        "trained": {"steps": int(state.get("total_steps", state["step"])), "seed": state["config"]["seed"],
                    "recipe": {k: v for k, v in state["config"].items() if k not in ("data", "val_data", "out", "init")}},
    }
    extra = dict(card_extra)
    card["trained"].update(extra.pop("trained", {}))
    card.update(extra)
    card_path = out_dir / f"{name}.v{version}.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def load_for_training(model, weights_file: str | Path) -> int:
    """Initialise a TrainableHyperprior from shipped weights (so training compounds)."""
    from safetensors.torch import load_file

    tensors = load_file(str(weights_file))
    t_state = {k[len("transforms."):]: v.float() for k, v in tensors.items() if k.startswith("transforms.")}
    model.transforms.load_state_dict(t_state, strict=True)
    eb_state = {k[len("entropy_bottleneck."):]: v for k, v in tensors.items() if k.startswith("entropy_bottleneck.")}
    model.entropy_bottleneck.load_state_dict(eb_state, strict=False)
    card = json.loads(Path(weights_file).with_suffix(".json").read_text())
    return int(card["trained"]["steps"])
