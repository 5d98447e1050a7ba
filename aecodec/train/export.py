"""Freeze trained checkpoints into pretrained/: integer CDF tables (and the image codec's exact h_s),
safetensors + card. The writing of weights and cards is shared by every model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from aecodec.models.image.integer import A_BITS, IntegerHyperSynthesis
from aecodec.models.registry import sha256_file
from aecodec.train.loop import load_checkpoint

# CompressAI's default scale table (0.11 .. 256, 64 log-spaced levels)
SCALES_MIN, SCALES_MAX, SCALES_LEVELS = 0.11, 256.0, 64
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


def freeze_bottleneck(eb, median_grid: float | None = None) -> None:
    """Build an EntropyBottleneck's integer CDF tables from its learned density.

    The tail quantiles are found by bisection on the density itself (CompressAI PR #231) rather
    than trusted from the auxiliary loss, which converges slowly on short runs; tables built on
    wrong tails waste bits or push symbols into the slow bypass code.
    """
    with torch.no_grad():
        eb._update_quantiles()
        if median_grid:
            eb.quantiles[:, 0, 1] = torch.round(eb.quantiles[:, 0, 1] / median_grid) * median_grid
    eb.update(force=True)


def export_image_codec(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Write ``<name>.v<version>.safetensors`` and ``.json`` (config, sha256, tables) into out_dir.

    Versions are never overwritten: files made with an older version must keep decoding.
    """
    import math

    from aecodec.train.image_codec import TrainableHyperprior
    from aecodec.models.image.hyperprior import HyperpriorConfig

    state = load_checkpoint(checkpoint)
    config = HyperpriorConfig(**state["config"]["model"])
    model = TrainableHyperprior(config)
    model.load_state_dict(state["model"])
    model.eval()
    eb, gc = model.entropy_bottleneck, model.gaussian_conditional
    # Medians on the 2^-A_BITS grid the integer h_s reads z in.
    freeze_bottleneck(eb, median_grid=2.0**-A_BITS)
    scale_table = torch.exp(torch.linspace(math.log(SCALES_MIN), math.log(SCALES_MAX), SCALES_LEVELS))
    gc.update_scale_table(scale_table, force=True)

    tensors = transform_tensors(model.transforms)
    tensors.update(bottleneck_state(eb, "entropy_bottleneck."))
    tensors.update(IntegerHyperSynthesis.from_float(model.transforms.h_s).tensors("hs_int."))
    tensors["tables.z.cdf"] = eb._quantized_cdf.int()
    tensors["tables.z.cdf_length"] = eb._cdf_length.int()
    tensors["tables.z.offset"] = eb._offset.int()
    tensors["tables.z.medians"] = torch.round(eb.quantiles[:, 0, 1].detach() * 2**A_BITS).to(torch.int64)
    tensors["tables.y.cdf"] = gc._quantized_cdf.int()
    tensors["tables.y.cdf_length"] = gc._cdf_length.int()
    tensors["tables.y.offset"] = gc._offset.int()
    tensors["tables.y.scale_table"] = gc.scale_table.double()
    card = {
        "architecture": "image-hyperprior",
        "format": 1,
        "task": "compress",
        "media": "image",
        "config": config.to_dict(),
        "quality": {"min": 1, "max": 100, "method": "gain units, geometric interpolation"},
    }
    return write_pretrained(tensors, out_dir, name, version, card, "float16 transforms, int32 entropy path",
                            state, card_extra)


def export_audio_codec(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Freeze an audio-codec checkpoint: weight norm folded, one integer CDF table per latent
    channel and gain anchor (row level * latent + channel), float32 medians [levels, latent]."""
    from aecodec.train.audio_codec import TrainableConvLstm, load_checkpoint_model

    state = load_checkpoint(checkpoint)
    model: TrainableConvLstm = load_checkpoint_model(state)
    model.eval()
    cdfs, lengths, offsets, medians = [], [], [], []
    for eb in model.entropy_bottlenecks:
        freeze_bottleneck(eb)
        cdfs.append(eb._quantized_cdf.int())
        lengths.append(eb._cdf_length.int())
        offsets.append(eb._offset.int())
        medians.append(eb.quantiles[:, 0, 1].detach().float())
    width = max(c.shape[1] for c in cdfs)
    tensors = transform_tensors(model.transforms)
    for level, eb in enumerate(model.entropy_bottlenecks):
        tensors.update(bottleneck_state(eb, f"entropy_bottlenecks.{level}."))
    tensors["tables.y.cdf"] = torch.cat([torch.nn.functional.pad(c, (0, width - c.shape[1])) for c in cdfs])
    tensors["tables.y.cdf_length"] = torch.cat(lengths)
    tensors["tables.y.offset"] = torch.cat(offsets)
    tensors["tables.y.medians"] = torch.stack(medians)
    card = {
        "architecture": "audio-conv-lstm",
        "format": 1,
        "task": "compress",
        "media": "audio",
        "config": model.transforms.config.to_dict(),
        "quality": {"min": 1, "max": 100, "method": "gain units, geometric interpolation; prior of the nearest anchor"},
    }
    return write_pretrained(tensors, out_dir, name, version, card, "float16 transforms, int32 entropy tables",
                            state, card_extra)


def transform_tensors(transforms: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The transforms' weights in float16, but the log-gains in float32 so quality maps exactly as trained."""
    tensors = {f"transforms.{k}": v.detach().to(torch.float16) for k, v in transforms.state_dict().items()}
    for k in ("log_gain_enc", "log_gain_dec"):
        tensors[f"transforms.{k}"] = getattr(transforms, k).detach().float()
    return tensors


def bottleneck_state(eb: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """An EntropyBottleneck's float parameters (density and quantiles), so training can resume from them.

    Inference never reads these (it uses the frozen tables); the integer buffers are left out.
    """
    return {prefix + k: v.detach().float() for k, v in eb.state_dict().items() if v.is_floating_point()}


def export_restore(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Freeze a restoration checkpoint (image denoiser / inpainter, audio denoiser): float32
    weights (small models; no entropy path to keep exact) + card."""
    from aecodec.train.restore import TASK_CLASSES

    state = load_checkpoint(checkpoint)
    cfg = state["config"]
    task = cfg["task"]
    model_cls = TASK_CLASSES[task]
    tensors = {k: v.float() for k, v in state["model"].items()}
    config = model_cls.model_config(cfg["model"]).to_dict()
    card = {"architecture": model_cls.architecture, "format": 1, "task": task.split("-")[1],
            "media": task.split("-")[0], "config": config}
    return write_pretrained(tensors, out_dir, name, version, card, "float32", state, card_extra)


def write_pretrained(tensors: dict[str, torch.Tensor], out_dir: str | Path, name: str, version: int, card: dict,
                     dtype: str, state: dict, card_extra: dict) -> Path:
    """Save ``<name>.v<version>.safetensors`` and its card (``card`` plus weights, training record
    and ``card_extra``); returns the card's path."""
    from safetensors.torch import save_file

    check_model_name(name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.v{version}.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(weights))
    weights.chmod(0o644)
    full = {"name": name, "version": version}
    for key, value in card.items():
        full[key] = value
        if key == "config":
            full["weights"] = {"file": weights.name, "sha256": sha256_file(weights), "dtype": dtype}
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
    """Initialise a trainable model (transforms and entropy bottlenecks) from shipped weights, so
    training compounds; returns the steps already trained into them."""
    from safetensors.torch import load_file

    tensors = load_file(str(weights_file))
    t_state = {k[len("transforms."):]: v.float() for k, v in tensors.items() if k.startswith("transforms.")}
    model.transforms.load_state_dict(t_state, strict=True)
    eb_state = {k: v for k, v in tensors.items() if k.startswith("entropy_bottleneck")}
    model.load_state_dict(eb_state, strict=False)
    card = json.loads(Path(weights_file).with_suffix(".json").read_text())
    return int(card["trained"]["steps"])
