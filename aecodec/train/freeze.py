"""Freeze trained checkpoints into the models inference runs: the entropy models' learned
densities become integer CDF tables (and the image codec's h_s an exact integer network), then
``export.write_pretrained`` writes the model's own tensors and its card.

The one place that knows which trainer made which model; ``export`` knows none of them.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from aecodec.entropy.tables import CdfTables
from aecodec.train.export import write_pretrained
from aecodec.train.checkpoint import deployed_weights, load_checkpoint

# CompressAI's default scale table: 64 scales, log-spaced from 0.11 to 256
SCALES_MIN, SCALES_MAX, SCALES_COUNT = 0.11, 256.0, 64


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


def cdf_tables(cdfs: list[torch.Tensor], lengths: list[torch.Tensor], offsets: list[torch.Tensor]) -> CdfTables:
    """One table set from CompressAI's quantised CDFs (rows zero-padded to the widest)."""
    width = max(c.shape[1] for c in cdfs)
    cdf = torch.cat([torch.nn.functional.pad(c.int(), (0, width - c.shape[1])) for c in cdfs])
    return CdfTables(cdf.numpy(), torch.cat(lengths).int().numpy(), torch.cat(offsets).int().numpy())


def bottleneck_state(eb: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """An EntropyBottleneck's float parameters (density and quantiles), so training can resume from them.

    Inference never reads these (it uses the frozen tables); the integer buffers are left out.
    """
    return {prefix + k: v.detach().float() for k, v in eb.state_dict().items() if v.is_floating_point()}


def export_image_codec(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Write ``<name>.v<version>.safetensors`` and ``.json`` (config, sha256, tables) into out_dir.

    Versions are never overwritten: files made with an older version must keep decoding.
    """
    from aecodec.models.image.hyperprior import HyperpriorConfig
    from aecodec.models.image.integer import A_BITS, IntegerNetwork
    from aecodec.models.image.model import TRAINING, HyperpriorCodec
    from aecodec.train.image_codec import TrainableHyperprior

    state = load_checkpoint(checkpoint)
    config = HyperpriorConfig(**state["config"]["model"])
    model = TrainableHyperprior(config)
    model.load_state_dict(deployed_weights(state))
    model.eval()
    eb, gc = model.entropy_bottleneck, model.gaussian_conditional
    # Medians on the 2^-A_BITS grid the integer h_s reads z in.
    freeze_bottleneck(eb, median_grid=2.0**-A_BITS)
    scale_table = torch.exp(torch.linspace(math.log(SCALES_MIN), math.log(SCALES_MAX), SCALES_COUNT))
    gc.update_scale_table(scale_table, force=True)
    codec = HyperpriorCodec(
        config, model.transforms, IntegerNetwork.from_float(model.transforms.h_s),
        [IntegerNetwork.from_float(net) for net in model.transforms.context or []],
        cdf_tables([eb._quantized_cdf], [eb._cdf_length], [eb._offset]),
        torch.round(eb.quantiles[:, 0, 1].detach() * 2**A_BITS).to(torch.int64).numpy(),
        cdf_tables([gc._quantized_cdf], [gc._cdf_length], [gc._offset]), gc.scale_table.double().numpy(),
        bottleneck_state(eb, TRAINING))
    return write_pretrained(codec, out_dir, name, version, HyperpriorCodec.about, state, card_extra)


def export_audio_codec(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Freeze an audio-codec checkpoint: weight norm folded, one integer CDF table per latent
    channel and gain anchor (row level * latent + channel), float32 medians [levels, latent]."""
    from aecodec.models.audio.model import TRAINING, ConvLstmAudioCodec
    from aecodec.train.audio_codec import load_checkpoint_model

    state = load_checkpoint(checkpoint)
    model = load_checkpoint_model(state)
    model.eval()
    for eb in model.entropy_bottlenecks:
        freeze_bottleneck(eb)
    ebs = model.entropy_bottlenecks
    tables = cdf_tables([eb._quantized_cdf for eb in ebs], [eb._cdf_length for eb in ebs], [eb._offset for eb in ebs])
    medians = torch.stack([eb.quantiles[:, 0, 1].detach().float() for eb in ebs]).numpy()
    training = {}
    for level, eb in enumerate(ebs):
        training.update(bottleneck_state(eb, f"{TRAINING}{level}."))
    codec = ConvLstmAudioCodec(model.transforms.config, model.transforms, tables, medians, training)
    return write_pretrained(codec, out_dir, name, version, ConvLstmAudioCodec.about, state, card_extra)


def export_restore(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Freeze a restoration checkpoint (image denoiser / inpainter, audio denoiser): float32
    weights (small models; no entropy path to keep exact) + card."""
    from aecodec.models.registry import architecture
    from aecodec.train.restore import TASK_CLASSES

    state = load_checkpoint(checkpoint)
    task = state["config"]["task"]
    task_cls = TASK_CLASSES[task]
    net = architecture(task_cls.architecture)(task_cls.model_config(state["config"]["model"]))
    net.load_state_dict(deployed_weights(state), strict=True)
    media, job = task.split("-", 1)
    return write_pretrained(net, out_dir, name, version, {"task": job, "media": media}, state, card_extra)


def export_mdct(checkpoint: str | Path, out_dir: str | Path, name: str, version: int, card_extra: dict) -> Path:
    """Freeze an audio-mdct table-counting run: its symbol counts -> integer CDF tables + card."""
    from aecodec.models.audio.mdct_model import MdctAudioModel, MdctConfig

    state = load_checkpoint(checkpoint)
    model = MdctAudioModel(MdctConfig(**state["config"]["model"]), state["model"]["counts"].numpy())
    return write_pretrained(model, out_dir, name, version, MdctAudioModel.about, state, card_extra)
