"""The real entry point with audio: round trips at a kbps budget, mixed batches, the error contract.

A tiny random-init audio model is exported into a temporary folder named by AECODEC_MODELS.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cli_run import aecodec, assert_one_line_error

IMAGE = Path(__file__).parents[1] / "data" / "images" / "canyon_wren.png"

FIXTURE_VERSION = 1000  # newer than any shipped version, so the registry picks the stand-in model


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    import torch

    from aecodec.models.audio.conv_lstm import ConvLstmConfig
    from aecodec.train.audio_codec import AudioTrainConfig, TrainableConvLstm
    from aecodec.train.freeze import export_audio_codec

    folder = tmp_path_factory.mktemp("models")
    config = AudioTrainConfig(model=ConvLstmConfig(channels=(4, 4, 8, 8, 16), latent=8, levels=3))
    torch.manual_seed(0)
    state = {"model": TrainableConvLstm(config.model).state_dict(), "step": 0, "config": asdict(config)}
    torch.save(state, folder / "checkpoint.pt")
    export_audio_codec(folder / "checkpoint.pt", folder, "audio-conv-lstm", FIXTURE_VERSION, {})
    return {**os.environ, "AECODEC_MODELS": str(folder)}


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    t = np.arange(int(1.5 * 44100)) / 44100
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], axis=1)
    soundfile.write(path, x, 44100, subtype="PCM_24")
    return path


def test_kbps_round_trip_to_flac_keeps_rate_channels_and_length(env, song, tmp_path):
    aec, flac = tmp_path / "s.aec", tmp_path / "s.flac"
    r = aecodec("encode", song, "-o", aec, "--kbps", "64", "--json", env=env)
    assert r.returncode == 0, r.stderr.decode()
    stats = json.loads(r.stdout)
    assert stats["kbps"] <= 64 and stats["bytes"] == aec.stat().st_size and stats["channels"] == 2
    info = json.loads(aecodec("info", "--json", aec, env=env).stdout)
    assert info["media"] == "audio" and info["frames"] == 66150 and info["channel_coding"] == "mid-side"
    r = aecodec("decode", aec, "-o", flac, "--sample-format", "24", env=env)
    assert r.returncode == 0, r.stderr.decode()
    out = soundfile.info(str(flac))
    assert (out.samplerate, out.channels, out.frames, out.subtype) == (44100, 2, 66150, "PCM_24")


@pytest.mark.slow
def test_mixed_batch_and_stdin(env, song, tmp_path):
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    enc.mkdir(), dec.mkdir()
    assert aecodec("encode", song, IMAGE, "-o", enc, "-q", "40", env=env).returncode == 0
    assert sorted(p.name for p in enc.iterdir()) == ["canyon_wren.aec", "song.aec"]
    r = aecodec("decode", *sorted(enc.iterdir()), "-o", dec, env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert sorted(p.name for p in dec.iterdir()) == ["canyon_wren.png", "song.wav"]
    piped = aecodec("encode", "-", "-o", "-", "-q", "30", stdin=song.read_bytes(), env=env)
    assert piped.returncode == 0 and piped.stdout[:4] == b"AEC\x1a"
    back = aecodec("decode", "-", "-o", "-", stdin=piped.stdout, env=env)
    assert back.returncode == 0 and back.stdout[:4] == b"RIFF"


@pytest.mark.slow
def test_audio_errors_are_one_line_and_leave_nothing(env, song, tmp_path):
    noise = tmp_path / "noise.wav"
    noise.write_bytes(np.random.default_rng(0).bytes(3000))
    aec = tmp_path / "s.aec"
    assert aecodec("encode", song, "-o", aec, "-q", "20", env=env).returncode == 0
    cases = [
        (["encode", song, "-o", tmp_path / "o1.aec", "--bpp", "1"], "--bpp is for images", 2),
        (["encode", IMAGE, "-o", tmp_path / "o2.aec", "--kbps", "6"], "--kbps is for audio", 2),
        (["encode", noise, "-o", tmp_path / "o3.aec"], "cannot read audio", 1),
        (["decode", aec, "-o", tmp_path / "o5.png"], "unknown audio extension", 1),
        (["decode", aec, "-o", tmp_path / "o6.flac", "--sample-format", "float"], "FLAC stores integer", 1),
    ]
    for args, words, code in cases:  # 2: an option that does not apply to this input's kind
        assert_one_line_error(aecodec(*args, env=env), words, code=code)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise.wav", "s.aec"]
