"""The image codec's channel-conditional slices, latent residual prediction and high-fidelity
gain anchors: exact on both sides, streams within slices, tiling that changes nothing, and warm
starts that begin exactly at the model without them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aecodec.models.image.hyperprior import HyperpriorConfig
from aecodec.train.image_codec import ImageTrainConfig, train

DATA = Path(__file__).parents[1] / "data" / "images"
SLICES = (4, 8)


def tiny(out: Path, slices=SLICES, refine: int = 0, high: int = 0) -> ImageTrainConfig:
    return ImageTrainConfig(data=str(DATA), out=str(out), steps=2, batch_size=2, crop=64, warmup=1, log_every=1,
                            checkpoint_every=2, threads=1, device="cpu",
                            model=HyperpriorConfig(N=8, M=12, slices=slices, context_channels=8, refine_channels=refine,
                                                   high_levels=high))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A folder with a tiny plain hyperprior, a tiny sliced one and a tiny sliced one with latent
    residual prediction, whose contexts and LRP are far from zero (two training steps barely move
    them from their zero start)."""
    from aecodec.train.freeze import export_image_codec

    root = tmp_path_factory.mktemp("context")
    for name, slices, refine in (("tiny-plain", (), 0), ("tiny-sliced", SLICES, 0), ("tiny-refined", SLICES, 8)):
        state = torch.load(train(tiny(root / name, slices, refine), log=lambda _: None), weights_only=True)
        gen = torch.Generator().manual_seed(0)
        for key in state["model"]:
            if ".context." in key or ".refine." in key:
                state["model"][key] = state["model"][key] + 0.05 * torch.randn(state["model"][key].shape, generator=gen)
        torch.save(state, root / f"{name}.pt")
        export_image_codec(root / f"{name}.pt", root / "models", name, 1, {"trained": {"command": "test"}})
    return root / "models"


@pytest.fixture()
def sliced(models, monkeypatch):
    from aecodec.codecs.image import LearnedImageCodec

    monkeypatch.setenv("AECODEC_MODELS", str(models))
    return LearnedImageCodec(model="tiny-sliced")


@pytest.fixture()
def refined(models, monkeypatch):
    from aecodec.codecs.image import LearnedImageCodec

    monkeypatch.setenv("AECODEC_MODELS", str(models))
    return LearnedImageCodec(model="tiny-refined")


@pytest.fixture()
def image():
    from aecodec.media.image import read_image

    return read_image(DATA / "canyon_wren.png")


def decoded_with_threads(codec, data: bytes, counts) -> list[np.ndarray]:
    """The file's decoded pixels with torch set to each thread count in turn."""
    before = torch.get_num_threads()
    try:
        pixels = []
        for count in counts:
            torch.set_num_threads(count)
            pixels.append(codec.decode(data).pixels)
        return pixels
    finally:
        torch.set_num_threads(before)


def test_the_decoder_reads_exactly_the_encoders_symbols_and_the_contexts_matter(sliced, image):
    data = sliced.encode(image, 50)
    model = sliced.model()
    padded = np.pad(image.pixels[:, :, :3], ((0, -image.height % 64), (0, -image.width % 64), (0, 0)), mode="edge")
    y = model.analyse(torch.from_numpy(padded), 0)
    z_sym, _, y_sym, _ = model.quantise(y, 50.0)
    decoded = sliced.symbols(data)
    assert np.array_equal(decoded["z"][0], z_sym) and np.array_equal(decoded["y"][0], y_sym)
    # The second slice's means are not the hyperprior's alone: its context changed them.
    hyper_means, _ = model.hyper_parameters(torch.from_numpy(z_sym))
    seen = {}

    def keep(first, end, means, idx):
        seen[first] = means.clone()
        return y_sym[:, first:end]

    model.latent(torch.from_numpy(z_sym), keep)
    assert (seen[4] - hyper_means[:, 4:]).abs().max() > 0.01


def test_decoding_gives_the_same_pixels_with_any_thread_count_and_context_tile(sliced, image, monkeypatch):
    from aecodec.models.image import model as image_model

    data = sliced.encode(image, 70)
    one, two = decoded_with_threads(sliced, data, (1, 2))
    monkeypatch.setattr(image_model, "CONTEXT_ROWS", 2)
    tiled = sliced.decode(data).pixels
    assert np.array_equal(one, two) and np.array_equal(one, tiled)


def test_streams_never_span_two_slices(sliced, image, monkeypatch):
    from aecodec import container
    from aecodec.codecs import image as image_codec

    whole = container.unpack(sliced.encode(image, 40))
    assert whole.header["y_group_channels"] == 8 and len(whole.streams) == 1 + len(SLICES)
    pixels = sliced.decode(whole).pixels
    cells = (whole.header["geometry"]["height"] + 63) // 64 * ((whole.header["geometry"]["width"] + 63) // 64) * 16
    monkeypatch.setattr(image_codec, "MAX_GROUP_SYMBOLS", 3 * cells)  # 3 channels a stream
    data = sliced.encode(image, 40)
    split = container.unpack(data)
    assert split.header["y_group_channels"] == 3
    assert len(split.streams) == 1 + 5  # channels 0-3, 3-4 | 4-7, 7-10, 10-12
    assert np.array_equal(sliced.decode(data).pixels, pixels)


def test_effort_optimises_a_sliced_model_into_a_file_the_decoder_reads(sliced, image):
    plain = sliced.encode(image, 50)
    tuned = sliced.encode(image, 50, effort=3)
    assert tuned != plain
    assert sliced.decode(tuned).pixels.shape == image.pixels.shape


def test_a_sliced_model_started_from_a_plain_one_codes_exactly_as_it(models):
    from aecodec.train.checkpoint import load_weights
    from aecodec.train.image_codec import TrainableHyperprior

    plain_file = models / "tiny-plain.v1.safetensors"
    plain, sliced = TrainableHyperprior(HyperpriorConfig(N=8, M=12)), TrainableHyperprior(tiny(models).model)
    assert load_weights(plain, str(plain_file)) == load_weights(sliced, str(plain_file)) == 2
    assert "slices" not in json.loads(plain_file.with_suffix(".json").read_text())["config"]
    torch.manual_seed(0)
    x, position = torch.rand(1, 3, 64, 64), torch.tensor([2.0])
    plain.eval(), sliced.eval()
    with torch.no_grad():
        a, b = plain(x, position), sliced(x, position)
    assert torch.equal(a["x_hat"], b["x_hat"])
    assert all(torch.equal(p, q) for p, q in zip(a["likelihoods"], b["likelihoods"]))


def test_slices_must_cover_the_latent():
    with pytest.raises(ValueError, match="sum to M"):
        HyperpriorConfig(M=12, slices=(4, 4))


def test_latent_residual_prediction_refines_what_the_decoder_synthesises(refined, image):
    model = refined.model()
    data = refined.encode(image, 60)
    one, two = decoded_with_threads(refined, data, (1, 2))
    assert np.array_equal(one, two)
    # The refinement is the decoder's: the same symbols synthesised without it give other pixels,
    # and its correction stays within half a quantisation bin.
    symbols = refined.symbols(data)
    z_sym, y_sym = torch.from_numpy(symbols["z"][0]), symbols["y"][0]
    y_hat, means = model.latent(z_sym, lambda first, end, m, idx: y_sym[:, first:end])
    assert means is not None and torch.equal(y_hat - means, torch.from_numpy(y_sym).float())
    correction = model.transforms.refined(y_hat, means) - y_hat
    assert 0.01 < float(correction.abs().max()) <= 0.5
    bare = model.synthesise(y_hat.clone(), None, 60.0, 0).numpy()[: image.height, : image.width]
    assert not np.array_equal(bare, one[:, :, :3])


def test_effort_optimises_through_latent_residual_prediction(refined, image):
    tuned = refined.encode(image, 50, effort=3)
    assert tuned != refined.encode(image, 50)
    assert refined.decode(tuned).pixels.shape == image.pixels.shape


def test_a_model_with_lrp_started_from_one_without_codes_exactly_as_it(models):
    from aecodec.train.checkpoint import load_weights
    from aecodec.train.image_codec import TrainableHyperprior

    sliced_file = models / "tiny-sliced.v1.safetensors"
    sliced, lrp = TrainableHyperprior(tiny(models).model), TrainableHyperprior(tiny(models, refine=8).model)
    assert load_weights(sliced, str(sliced_file)) == load_weights(lrp, str(sliced_file)) == 2
    assert "refine_channels" not in json.loads(sliced_file.with_suffix(".json").read_text())["config"]
    torch.manual_seed(0)
    x, position = torch.rand(1, 3, 64, 64), torch.tensor([3.0])
    sliced.eval(), lrp.eval()
    with torch.no_grad():
        a, b = sliced(x, position), lrp(x, position)
    assert torch.equal(a["x_hat"], b["x_hat"])


def test_high_levels_reach_past_quality_95_and_keep_every_quality_below_it():
    plain, high = HyperpriorConfig(), HyperpriorConfig(high_levels=2)
    qualities = [1, 20, 50, 80, 95, 96, 97.5, 99, 100]
    assert all(high.position(q) == plain.position(q) for q in qualities if q <= 95)
    positions = [high.position(q) for q in qualities]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert high.position(100) == high.top_position == 7.0 and plain.position(100) == 5.0
    assert "high_levels" not in plain.to_dict() and high.to_dict()["high_levels"] == 2


def test_a_model_with_high_levels_started_from_one_without_codes_its_qualities_as_it(models):
    from aecodec.train.checkpoint import load_weights
    from aecodec.train.image_codec import TrainableHyperprior

    sliced_file = models / "tiny-sliced.v1.safetensors"
    sliced, high = TrainableHyperprior(tiny(models).model), TrainableHyperprior(tiny(models, high=2).model)
    load_weights(sliced, str(sliced_file)), load_weights(high, str(sliced_file))
    t_old, t_new = sliced.transforms, high.transforms
    assert t_new.log_gain_enc.shape[0] == t_old.log_gain_enc.shape[0] + 2
    assert torch.equal(t_new.log_gain_enc[:6], t_old.log_gain_enc)
    # The new anchors continue the last step of the ladder, and so do their lambdas.
    last_step = t_old.log_gain_dec[-1] - t_old.log_gain_dec[-2]
    assert torch.allclose(t_new.log_gain_dec[7] - t_new.log_gain_dec[6], last_step)
    ratio = t_new.lmbda(torch.tensor([5.0])) / t_new.lmbda(torch.tensor([4.0]))
    assert torch.allclose(t_new.lmbda(torch.tensor([7.0])) / t_new.lmbda(torch.tensor([6.0])), ratio)
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    sliced.eval(), high.eval()
    with torch.no_grad():
        for position in (0.0, 3.3, 5.0):
            p = torch.tensor([position])
            assert torch.equal(sliced(x, p)["x_hat"], high(x, p)["x_hat"])


def test_high_levels_train_and_code_quality_100_finer_than_95(tmp_path, image, monkeypatch):
    from aecodec.codecs.image import LearnedImageCodec
    from aecodec.train.freeze import export_image_codec

    run = tiny(tmp_path / "run", high=2)
    export_image_codec(train(run, log=lambda _: None), tmp_path / "models", "tiny-high", 1,
                       {"trained": {"command": "test"}})
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path / "models"))
    codec = LearnedImageCodec(model="tiny-high")
    files = [codec.encode(image, q) for q in (90, 95, 100)]
    assert len(files[0]) < len(files[1]) < len(files[2])
    assert codec.decode(files[2]).pixels.shape == image.pixels.shape
