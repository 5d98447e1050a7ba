"""The speech/music detector and the audio codec's choice of model per file."""

from __future__ import annotations

import numpy as np
import pytest

from aecodec import container
from aecodec.media.types import Audio
from aecodec.models.audio.music_detector import windows_of
from conftest import DATA


def synthetic_song(seconds: float, rate: int, seed: int) -> Audio:
    """Notes on a scale over a drum machine: music no recording in the package holds."""
    from aecodec.train.music_detector import synthetic_music

    x = synthetic_music(int(seconds * rate), rate, np.random.default_rng(seed))
    return Audio((0.5 * x / np.abs(x).max()).astype(np.float32)[:, None], rate)


@pytest.fixture(scope="module")
def speech() -> Audio:
    from aecodec.media.audio import read_audio

    return read_audio(DATA / "audio" / "librivox_speech.flac")


@pytest.fixture(scope="module")
def chooser():
    from aecodec.codecs import audio_codec

    return audio_codec(quality_unit="kbps")


def test_windows_stay_few_and_spread_over_a_stream_of_any_length():
    blocks = (np.full(1000, i, np.float32) for i in range(200))  # 200,000 samples, 50 windows of 4,000
    kept = windows_of(blocks, 4000, 8)
    starts = [int(w[0]) for w in kept]
    assert 4 <= len(kept) <= 8 and all(len(w) == 4000 for w in kept)
    assert starts[0] == 0 and starts[-1] >= 150 and np.all(np.diff(starts) == starts[1] - starts[0])
    assert [len(w) for w in windows_of([np.zeros(10, np.float32)], 4000, 8)] == [10]  # a short file: itself
    assert windows_of([np.zeros(0, np.float32)], 4000, 8) == []


def test_speech_keeps_the_default_model_and_music_gets_the_music_model(chooser, speech):
    assert chooser.pick(speech, kbps=12) is chooser.default
    for seed, rate in ((11, 44100), (12, 24000)):
        song = synthetic_song(8.0, rate, seed)
        assert chooser.pick(song, kbps=12) is chooser.music
        assert chooser.pick(song, kbps=8) is chooser.default  # low rates: the default model codes music better
        assert chooser.pick(song, quality=25) is chooser.default


def test_a_music_file_is_coded_by_the_music_model_and_decodes(chooser):
    song = synthetic_song(3.0, 24000, 13)
    data = chooser.encode(song, 12)
    assert container.unpack(data).header["model"]["name"] == "audio-mdct-music"
    assert len(data) * 8 / 3.0 / 1000 <= 12
    assert chooser.decode(data).samples.shape == song.samples.shape


@pytest.mark.parametrize("samples", [np.zeros((48000, 2), np.float32), np.full((5, 1), 0.1, np.float32)])
def test_silence_and_a_few_samples_are_not_music(chooser, samples):
    assert chooser.pick(Audio(samples, 48000), kbps=24) is chooser.default


def test_the_trainer_trains_and_exports_a_detector_the_registry_loads(tmp_path, tone_folder, monkeypatch):
    import json

    from aecodec.models.registry import load_model
    from aecodec.train.freeze import export_restore
    from aecodec.train.restore import RestoreTrainConfig, train

    cfg = RestoreTrainConfig(task="audio-music-detector", steps=2, batch_size=2, warmup=1, log_every=1,
                             checkpoint_every=1, threads=1, device="cpu", out=str(tmp_path / "run"),
                             data=[str(tone_folder(tmp_path / "speech", "speech")),
                                   str(tone_folder(tmp_path / "music", "music", files=2, seconds=5.0))],
                             noise_data=str(tone_folder(tmp_path / "noise", "noise")), model={"channels": 8, "hidden": 4},
                             degrade={"p_dance": 0.5})
    ckpt = train(cfg, log=lambda _: None)
    card_path = export_restore(ckpt, tmp_path / "models", "audio-music-detector", 1000, {})
    card = json.loads(card_path.read_text())
    assert (card["architecture"], card["task"], card["media"]) == ("audio-music-detector", "music-detector", "audio")
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path / "models"))
    _, detector = load_model("audio-music-detector")
    assert 0 <= detector.p_music([np.zeros(100, np.float32)]) <= 1


@pytest.mark.parametrize("seed", range(4))
def test_synthetic_dance_music_is_driven_by_a_kick_on_every_beat(seed):
    """The training music lacks dance music; its stand-in must carry a beat at 110-150 bpm: the
    level envelope repeats at one beat's lag, and not at half a beat more."""
    from aecodec.train.music_detector import dance_music

    rate, n = 16000, 8 * 16000
    x = dance_music(n, rate, np.random.default_rng(seed))
    assert x.shape == (n,) and x.dtype == np.float32 and np.isfinite(x).all() and x.std() > 0
    hop = rate // 100
    level = np.sqrt(np.mean(x[: n // hop * hop].reshape(-1, hop) ** 2, axis=1))
    level = level - level.mean()
    lags = np.arange(40, 56)  # 0.40-0.55 s: one beat at 110-150 bpm, in 10 ms frames
    corr = [np.dot(level[:-lag], level[lag:]) / np.dot(level, level) for lag in lags]
    beat = lags[int(np.argmax(corr))]
    off_beat = int(beat * 1.5)
    assert max(corr) > 0.3 and max(corr) > np.dot(level[:-off_beat], level[off_beat:]) / np.dot(level, level)
