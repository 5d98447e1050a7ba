"""Training the audio codec: runs on any sample rate, resumes bit for bit, exports a working model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
import torch

from aecodec.models.audio.conv_lstm import ConvLstmConfig
from aecodec.train.audio_codec import AudioTrainConfig, load_recipe, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Two folders of synthetic clips at different rates, channel counts and lengths."""
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    for folder, rate, channels in (("speech", 16000, 1), ("music", 44100, 2)):
        (root / folder).mkdir()
        for i, seconds in enumerate((0.3, 1.5, 2.5)):
            t = np.arange(int(seconds * rate)) / rate
            x = 0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)[:, None] + 0.02 * rng.standard_normal((t.size, channels))
            soundfile.write(root / folder / f"{i}.flac", x, rate)
    return root


def tiny(data, out, steps: int) -> AudioTrainConfig:
    return AudioTrainConfig(data=[str(data / "speech"), str(data / "music")], val_data=str(data / "music"),
                            out=str(out), steps=steps, batch_size=2, segment_seconds=(0.2, 0.3), warmup=1,
                            log_every=1, checkpoint_every=2, val_every=2, val_files=1, val_seconds=0.5, threads=1,
                            device="cpu", model=ConvLstmConfig(channels=(4, 4, 8, 8, 16), latent=8, levels=3))


def test_resume_continues_exactly_like_an_uninterrupted_run(data, tmp_path):
    whole = torch.load(train(tiny(data, tmp_path / "a", 4), log=lambda _: None), weights_only=True)
    train(tiny(data, tmp_path / "b", 2), log=lambda _: None)
    resumed = torch.load(train(tiny(data, tmp_path / "b", 4), resume=True, log=lambda _: None), weights_only=True)
    assert resumed["step"] == whole["step"] == 4
    for key, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    rows = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(np.isfinite(r["loss"]) and r["kbps"] > 0 for r in rows)
    assert {v["quality"] for v in rows[1]["val"]} == {1.0, 50.0, 100.0}
    assert all(v["mel_distance"] > 0 for v in rows[1]["val"])


def test_an_ema_run_resumes_exactly_and_hands_on_its_average(data, tmp_path):
    from dataclasses import replace

    from aecodec.train.audio_codec import TrainableConvLstm
    from aecodec.train.checkpoint import load_weights, plain_weights

    def run(out, steps, **kw):
        return torch.load(train(replace(tiny(data, out, steps), ema=0.9), log=lambda _: None, **kw), weights_only=True)

    whole = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    resumed = run(tmp_path / "b", 4, resume=True)
    for part in ("model", "ema"):
        for key, value in whole[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)
    moved = [k for k, v in whole["model"].items() if v.is_floating_point() and not torch.equal(v, whole["ema"][k])]
    assert moved  # the average lags the weights
    model = TrainableConvLstm(ConvLstmConfig(channels=(4, 4, 8, 8, 16), latent=8, levels=3))
    load_weights(model, tmp_path / "a" / "checkpoint.pt")
    for key, value in plain_weights(whole["ema"]).items():
        assert torch.equal(model.state_dict()[key], value), key


def test_ema_ramps_its_decay_up_and_swaps_back():
    from torch import nn

    from aecodec.train.loop import Ema

    net = nn.Linear(2, 1)
    nn.init.zeros_(net.weight)
    ema = Ema(net, decay=0.99)
    nn.init.ones_(net.weight)
    ema.update(net, 0)  # decay min(0.99, 1/10): the average moves 90 % of the way
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 0.9))
    ema.update(net, 10**6)  # decay 0.99
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 0.9 + 0.1 * 0.01))
    with ema.swapped_in(net):
        assert torch.equal(net.weight, ema.shadow["weight"])
    assert torch.equal(net.weight, torch.ones(1, 2))
    with pytest.raises(RuntimeError, match="loading state_dict"):  # the CLI's one-line "does not fit"
        ema.load({"weight": torch.zeros(2, 2), "bias": torch.zeros(1)})


def test_export_gives_a_model_that_codes_audio_and_continues_training(data, tmp_path, monkeypatch):
    from aecodec.codecs.audio import LearnedAudioCodec
    from aecodec.media.audio import read_audio
    from aecodec.train.audio_codec import TrainableConvLstm
    from aecodec.train.checkpoint import load_weights
    from aecodec.train.freeze import export_audio_codec

    ckpt = train(tiny(data, tmp_path / "run", 2), log=lambda _: None)
    card_path = export_audio_codec(ckpt, tmp_path / "models", "tiny-audio", 1, {"trained": {"command": "test"}})
    card = json.loads(card_path.read_text())
    assert card["trained"]["steps"] == 2 and card["media"] == "audio" and card["config"]["latent"] == 8
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path / "models"))
    codec = LearnedAudioCodec(model="tiny-audio")
    audio = read_audio(data / "music" / "1.flac")
    out = codec.decode(codec.encode(audio, 50))
    assert out.samples.shape == audio.samples.shape and out.sample_rate == audio.sample_rate
    model = TrainableConvLstm(ConvLstmConfig(channels=(4, 4, 8, 8, 16), latent=8, levels=3))
    assert load_weights(model, str(card_path.with_suffix(".safetensors"))) == 2
    state = torch.load(ckpt, weights_only=True)
    trained = state["model"]["entropy_bottlenecks.1.matrices.0"]
    assert torch.equal(model.entropy_bottlenecks[1].matrices[0].detach(), trained)


def test_the_shipped_recipe_parses():
    from aecodec.cli.train_cmds import RECIPES

    cfg = load_recipe(str(RECIPES / "audio-codec.json"), steps=7)
    assert cfg.steps == 7 and cfg.model.hop == 320 and cfg.model.sample_rate == 24000


def test_batches_do_not_depend_on_the_workers_or_where_the_run_starts(data, tmp_path, batch_stream):
    from functools import partial

    from aecodec.train.audio_codec import make_batch
    from aecodec.train.audio_data import RandomSegments, load_mono

    cfg = tiny(data, tmp_path, 4)
    clips = [load_mono(sorted((data / d).iterdir()), cfg.model.sample_rate) for d in ("speech", "music")]
    make = partial(make_batch, RandomSegments(clips), cfg)
    whole = batch_stream(make, 0, 0, 4)
    assert len(whole) == 12 and len({x.shape[1] for x in whole[::3]}) > 1  # the length is drawn per step
    part = batch_stream(make, 2, 1, 4)
    assert len(part) == 9 and all(map(torch.equal, part, whole[3:]))


def test_amp_runs_the_transforms_in_bfloat16_and_the_rate_in_float32(data, tmp_path):
    from aecodec.train.audio_codec import TrainableConvLstm
    from aecodec.train.loop import autocast

    cfg = tiny(data, tmp_path / "amp", 1)
    cfg.amp = "on"
    model = TrainableConvLstm(cfg.model, weight_norm=True)
    dtypes = {}
    for name in ("g_a", "g_s"):
        getattr(model.transforms, name).register_forward_hook(lambda m, i, o, name=name: dtypes.update({name: o.dtype}))
    with autocast(cfg, torch.device("cpu")):
        out = model(torch.rand(2, 4 * cfg.model.hop) - 0.5, torch.tensor([0.0, 2.0]))
    assert dtypes == {"g_a": torch.bfloat16, "g_s": torch.bfloat16}
    assert out["bits"].dtype == out["x_hat"].dtype == out["aux"].dtype == torch.float32
    train(cfg, log=lambda _: None)
    row = json.loads((tmp_path / "amp" / "log.jsonl").read_text().splitlines()[0])
    assert np.isfinite(row["loss"]) and row["kbps"] > 0
