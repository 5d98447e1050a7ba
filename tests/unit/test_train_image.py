"""Training the image codec: resumable bit-for-bit, and exportable into a working model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aecodec.models.image.hyperprior import HyperpriorConfig
from aecodec.train.image_codec import ImageTrainConfig, train

DATA = Path(__file__).parents[1] / "data" / "images"


def tiny(out: Path, steps: int) -> ImageTrainConfig:
    return ImageTrainConfig(data=str(DATA), out=str(out), steps=steps, batch_size=2, crop=64, warmup=1,
                            log_every=1, checkpoint_every=2, threads=1, device="cpu",
                            model=HyperpriorConfig(N=8, M=12))


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    whole = torch.load(train(tiny(tmp_path / "a", 4), log=lambda _: None), weights_only=True)
    train(tiny(tmp_path / "b", 2), log=lambda _: None)
    resumed = torch.load(train(tiny(tmp_path / "b", 4), resume=True, log=lambda _: None), weights_only=True)
    assert resumed["step"] == whole["step"] == 4
    for key, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    losses = [json.loads(line)["loss"] for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 4 and all(np.isfinite(losses))


def test_export_gives_a_model_that_codes_images_and_continues_training(tmp_path, monkeypatch):
    from aecodec.codecs.image import LearnedImageCodec
    from aecodec.media.image import read_image
    from aecodec.train.freeze import export_image_codec
    from aecodec.train.checkpoint import load_weights
    from aecodec.train.image_codec import TrainableHyperprior

    ckpt = train(tiny(tmp_path / "run", 2), log=lambda _: None)
    card_path = export_image_codec(ckpt, tmp_path / "models", "tiny-hyperprior", 1, {"trained": {"command": "test"}})
    card = json.loads(card_path.read_text())
    assert card["trained"]["steps"] == 2 and card["trained"]["command"] == "test"
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path / "models"))
    codec = LearnedImageCodec(model="tiny-hyperprior")
    image = read_image(DATA / "canyon_wren.png")
    out = codec.decode(codec.encode(image, 50))
    assert out.pixels.shape == image.pixels.shape
    model = TrainableHyperprior(HyperpriorConfig(N=8, M=12))
    assert load_weights(model, str(card_path.with_suffix(".safetensors"))) == 2


def test_batches_do_not_depend_on_the_workers_or_where_the_run_starts(tmp_path, batch_stream):
    from functools import partial

    from aecodec.train.data import RandomCrops, list_images, read_rgb_tensors
    from aecodec.train.image_codec import make_batch

    make = partial(make_batch, RandomCrops(read_rgb_tensors(list_images(DATA), 64), 64), tiny(tmp_path, 5))
    whole = batch_stream(make, 0, 0, 5)  # 5 steps x (crops, positions)
    assert len(whole) == 10 and not torch.equal(whole[0], whole[2])
    for workers, first in ((2, 0), (2, 3), (0, 3)):
        part = batch_stream(make, workers, first, 5)
        assert len(part) == len(whole[2 * first:]) and all(map(torch.equal, part, whole[2 * first:])), (workers, first)


@pytest.mark.parametrize("native", [False, True])
def test_amp_auto_follows_native_bfloat16_on_the_cpu(tmp_path, monkeypatch, native):
    from aecodec import device
    from aecodec.train.loop import autocast

    monkeypatch.setattr(device, "_cpu_has_bf16", lambda: native)
    with autocast(tiny(tmp_path, 1), torch.device("cpu")):  # the recipe's amp is "auto"
        assert torch.is_autocast_enabled("cpu") == native


def test_amp_runs_the_transforms_in_bfloat16_and_the_rate_in_float32(tmp_path):
    from aecodec.train.image_codec import TrainableHyperprior
    from aecodec.train.loop import autocast

    cpu = torch.device("cpu")
    torch.manual_seed(0)
    model = TrainableHyperprior(HyperpriorConfig(N=8, M=12))
    x, position = torch.rand(2, 3, 64, 64), torch.tensor([0.0, 3.0])
    cfg = tiny(tmp_path, 1)
    cfg.amp = "on"
    dtypes = {}
    for name in ("g_a", "h_a", "h_s", "g_s"):
        getattr(model.transforms, name).register_forward_hook(lambda m, i, o, name=name: dtypes.update({name: o.dtype}))
    with autocast(cfg, cpu):
        out = model(x, position)
    assert dtypes == {"g_a": torch.bfloat16, "h_a": torch.float32, "h_s": torch.float32, "g_s": torch.bfloat16}
    assert all(lik.dtype == torch.float32 for lik in out["likelihoods"]) and out["x_hat"].dtype == torch.float32
    assert out["aux"].dtype == torch.float32
    cfg.out = str(tmp_path / "amp")
    train(cfg, log=lambda _: None)
    row = json.loads((tmp_path / "amp" / "log.jsonl").read_text())
    assert np.isfinite(row["loss"]) and row["bpp"] > 0
