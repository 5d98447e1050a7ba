"""Training the image codec: resumable bit-for-bit, and exportable into a working model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from aecodec.models.image.hyperprior import HyperpriorConfig
from aecodec.train.image_codec import ImageTrainConfig, train

DATA = Path(__file__).parents[1] / "data" / "images"


def tiny(out: Path, steps: int) -> ImageTrainConfig:
    return ImageTrainConfig(data=str(DATA), out=str(out), steps=steps, batch_size=2, crop=64, warmup=1,
                            log_every=1, checkpoint_every=2, threads=1, device="cpu",
                            model=HyperpriorConfig(N=8, M=12))


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    whole = torch.load(train(tiny(tmp_path / "a", 4), log=lambda _: None), weights_only=False)
    train(tiny(tmp_path / "b", 2), log=lambda _: None)
    resumed = torch.load(train(tiny(tmp_path / "b", 4), resume=True, log=lambda _: None), weights_only=False)
    assert resumed["step"] == whole["step"] == 4
    for key, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    losses = [json.loads(line)["loss"] for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 4 and all(np.isfinite(losses))


def test_export_gives_a_model_that_codes_images_and_continues_training(tmp_path, monkeypatch):
    from aecodec.codecs.learned import LearnedImageCodec
    from aecodec.media.image import read_image
    from aecodec.train.export import export_image_codec
    from aecodec.train.image_codec import TrainableHyperprior, load_weights

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
