"""The learned audio codec through its public interface, with a tiny random-init model exported
into a temporary folder (the shipped weights are not needed: these tests check the format,
lengths, rate control, streaming and robustness, not the sound)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

import numpy as np
import pytest
import soundfile
import torch

from aecodec import codecs, container
from aecodec.codecs import audio as learned_audio
from aecodec.codecs import audio_io
from aecodec.codecs import envelope
from aecodec.codecs.audio import LearnedAudioCodec
from aecodec.codecs.audio_io import soft_limit
from aecodec.errors import FormatError, InputError, ModelError
from aecodec.media.audio import open_audio, read_audio
from aecodec.media.chunks import Chunker, Crossfader, chunk_spans
from aecodec.media.types import Audio

RNG = np.random.default_rng(0)

FIXTURE_VERSION = 1000  # newer than any shipped version, so the registry picks the stand-in model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from aecodec.models.audio.conv_lstm import ConvLstmConfig
    from aecodec.train.audio_codec import AudioTrainConfig, TrainableConvLstm
    from aecodec.train.freeze import export_audio_codec

    folder = tmp_path_factory.mktemp("models")
    config = AudioTrainConfig(model=ConvLstmConfig(channels=(4, 4, 8, 8, 16), latent=8, levels=3))
    torch.manual_seed(0)
    model = TrainableConvLstm(config.model, weight_norm=True)
    fit_priors(model)
    torch.save({"model": model.state_dict(), "step": 0, "config": asdict(config)}, folder / "checkpoint.pt")
    export_audio_codec(folder / "checkpoint.pt", folder, "audio-conv-lstm", FIXTURE_VERSION, {})
    return folder


def fit_priors(model) -> None:
    """Give the random model a real rate-quality trade-off: gains 1..100 and priors fitted to its latents."""
    t = model.transforms
    with torch.no_grad():
        ramp = torch.linspace(0, np.log(100), t.config.levels)[:, None].repeat(1, t.config.latent)
        t.log_gain_enc.copy_(ramp)
        t.log_gain_dec.copy_(-ramp)
        y = t.g_a(0.3 * torch.randn(4, 1, 9600))
    params = [p for eb in model.entropy_bottlenecks for p in eb.parameters()]
    opt = torch.optim.Adam(params, lr=0.05)
    for _ in range(40):
        opt.zero_grad()
        loss = 0
        for level, eb in enumerate(model.entropy_bottlenecks):
            gain, _ = t.gains(torch.full((4,), float(level)))
            _, likelihood = eb(y * gain)
            loss = loss - torch.log2(likelihood).mean() + eb.loss()
        loss.backward()
        opt.step()


@pytest.fixture(autouse=True)
def models_env(monkeypatch, model_dir):
    monkeypatch.setenv("AECODEC_MODELS", str(model_dir))


@pytest.fixture(scope="module")
def codec():
    return LearnedAudioCodec(device="cpu")


def tone(seconds: float, rate: int, channels: int = 1, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = [level * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.01 * RNG.standard_normal(t.shape) for c in range(channels)]
    return np.stack(x, axis=1).astype(np.float32)


def round_trip(codec, audio: Audio, quality: float = 50) -> tuple[bytes, Audio]:
    data = codec.encode(audio, quality)
    return data, codec.decode(data)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_wav_of_any_bit_depth_round_trips_with_rate_channels_and_length(codec, tmp_path, subtype):
    path = tmp_path / "in.wav"
    soundfile.write(path, tone(0.7, 16000), 16000, subtype=subtype)
    with open_audio(path) as reader:
        data = codec.encode(reader, 60)
    out = codec.decode(data)
    assert (out.sample_rate, out.channels, out.frames) == (16000, 1, int(0.7 * 16000))
    assert out.samples.dtype == np.float32 and np.isfinite(out.samples).all()
    assert np.abs(out.samples).max() < 1


def test_stereo_44k_is_mid_side_with_a_lower_side_quality(codec):
    audio = Audio(tone(1.3, 44100, channels=2), 44100)
    data, out = round_trip(codec, audio, 70)
    header = container.unpack(data).header
    base = learned_audio.BASE_QUALITY
    assert header["channel_coding"] == "mid-side" and header["quality"] == base and header["side_quality"] == max(1.0, base - 25)
    assert header["streams"] == 4 and header["frames"] == audio.frames  # mid and side: waveform and envelope
    assert (out.sample_rate, out.channels, out.frames) == (44100, 2, audio.frames)


@pytest.mark.parametrize("frames, rate", [(1, 8000), (100, 44100), (2399, 24000), (4000, 48000)])
def test_very_short_clips(codec, frames, rate):
    audio = Audio(RNG.uniform(-0.5, 0.5, (frames, 1)).astype(np.float32), rate)
    _, out = round_trip(codec, audio)
    assert (out.sample_rate, out.frames, out.channels) == (rate, frames, 1)


def test_three_channels_are_coded_independently(codec):
    audio = Audio(tone(0.3, 22050, channels=3), 22050)
    data, out = round_trip(codec, audio)
    assert container.unpack(data).header["channel_coding"] == "independent"
    assert out.samples.shape == audio.samples.shape


def test_silence_decodes_to_finite_samples(codec):
    _, out = round_trip(codec, Audio(np.zeros((12000, 2), np.float32), 24000))
    assert out.samples.shape == (12000, 2) and np.isfinite(out.samples).all()


def test_digital_silence_decodes_to_exact_zeros(codec):
    x = tone(1.0, 44100, channels=2)
    x[10000:20000] = 0  # a gap: listed in the header, decoded as zeros
    x[30000:30100] = 0  # 2 ms: too short to list, left to the model
    x[40000:41000, 0] = 0  # one channel only: not digital silence
    data, out = round_trip(codec, Audio(x, 44100))
    assert container.unpack(data).header["silence"] == [10000, 10000]
    assert not out.samples[10000:20000].any()
    assert out.samples[9990:10000].any() and out.samples[20000:20010].any()
    assert out.samples[30000:30100].any()


def test_dc_offset_is_removed_before_coding_and_restored(codec):
    x = tone(1.0, 24000)
    data, plain = round_trip(codec, Audio(x, 24000))
    data_dc, shifted = round_trip(codec, Audio(x + 0.5, 24000))
    assert container.unpack(data_dc).header["dc_offset"] == [pytest.approx(0.5 + float(x.mean()), abs=1e-6)]
    diff = shifted.samples - plain.samples
    assert np.median(np.abs(diff - 0.5)) < 1e-3  # the same decode, shifted by the offset


def test_soft_limit_never_clips_and_warns(codec, caplog, monkeypatch):
    y, over = soft_limit(np.array([0.2, -0.9, 0.97, -1.5, 40.0], np.float32))
    assert over == 2 and np.abs(y).max() <= 1 and y[0] == np.float32(0.2) and y[1] == np.float32(-0.9)
    assert np.all(np.diff(soft_limit(np.linspace(0, 5, 1000, dtype=np.float32))[0]) >= 0)  # monotone
    loud = Audio(np.full((6000, 1), 0.98, np.float32), 24000)
    monkeypatch.setattr(audio_io, "soft_limit", lambda b: (b * 0 + 0.5, 7))
    with caplog.at_level(logging.WARNING):
        codec.decode(codec.encode(loud, 50))
    assert "soft-limited" in caplog.text


def test_chunk_spans_overlap_and_cover_everything():
    for frames in (1, 999, 1000, 1001, 1900, 1901, 5000, 12345):
        spans = chunk_spans(frames, 1000, 100)
        assert spans[0][0] == 0 and spans[-1][1] == frames
        assert all(b[0] == a[1] - 100 for a, b in zip(spans, spans[1:]))
        assert all(stop - start == 1000 for start, stop in spans[:-1])
        assert len(spans) == 1 or spans[-1][1] - spans[-1][0] > 100
        x = RNG.standard_normal((frames, 2)).astype(np.float32)
        chunker, pieces, i = Chunker(spans, 2), [], 0
        while i < frames:
            size = int(RNG.integers(1, 700))
            pieces += chunker.push(x[i : i + size])
            i += size
        assert [p.shape[0] for p in pieces] == [b - a for a, b in spans]
        assert all(np.array_equal(p, x[a:b]) for p, (a, b) in zip(pieces, spans))


def test_crossfade_passes_agreeing_chunks_and_smooths_disagreeing_ones():
    x = RNG.standard_normal((2900, 1)).astype(np.float32)
    spans = chunk_spans(2900, 1000, 100)
    fader = Crossfader(100, 1)
    joined = np.concatenate([fader.push(x[a:b], last=k == len(spans) - 1) for k, (a, b) in enumerate(spans)])
    assert np.allclose(joined, x, atol=1e-6)
    fader = Crossfader(100, 1)
    steps = np.concatenate([fader.push(np.full((1000, 1), v, np.float32), last=v == 1.0) for v in (-1.0, 1.0)])
    assert steps.shape == (1900, 1) and steps[0, 0] == -1 and steps[-1, 0] == 1
    assert np.abs(np.diff(steps[:, 0])).max() < 2 * np.pi / 2 / 100 * 1.01  # no click: a 100-sample fade


def test_chunked_decode_has_no_clicks(codec, monkeypatch):
    audio = Audio(tone(2.5, 24000), 24000)
    _, whole = round_trip(codec, audio)
    monkeypatch.setattr(learned_audio, "CHUNK_SECONDS", 0.4)
    monkeypatch.setattr(learned_audio, "OVERLAP_SECONDS", 0.04)
    data, chunked = round_trip(codec, audio)
    header = container.unpack(data).header
    assert header["chunking"] == {"frames": 9600, "overlap": 960} and header["streams"] == 14
    assert chunked.frames == audio.frames
    jumps = np.abs(np.diff(chunked.samples[:, 0]))
    assert jumps.max() <= 1.5 * np.abs(np.diff(whole.samples[:, 0])).max() + 1e-3
    # a hard cut instead of the fades would jump by the chunks' disagreement at every boundary
    inside = np.abs(chunked.samples - whole.samples)[1000:-1000].mean()
    assert inside < 0.5


def test_kbps_target_is_the_highest_quality_that_fits(codec):
    audio = Audio(tone(2.0, 32000, channels=2), 32000)
    sizes = [len(codec.encode(audio, q)) for q in (1, 50, 100)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    target = (sizes[0] + sizes[-1]) / 2 * 8 / 2.0 / 1000
    result = codec.encode_to_kbps(audio, target)
    assert len(result.data) * 8 / 2.0 / 1000 <= target
    assert len(codec.encode(audio, result.quality + 1)) * 8 / 2.0 / 1000 > target
    with pytest.raises(InputError, match="cannot reach"):
        codec.encode_to_kbps(audio, 0.01)
    with pytest.raises(InputError, match="--kbps"):
        codec.encode_to_kbps(audio, -3)


def codec_at(quality: float, audio: Audio) -> bytes:
    return LearnedAudioCodec().encode(audio, quality)


def test_the_conv_lstm_codec_takes_kbps(model_dir):
    def audio_codec():
        return LearnedAudioCodec(quality_unit="kbps")

    audio = Audio(tone(2.0, 24000), 24000)
    data = audio_codec().encode(audio, 40)
    assert len(data) * 8 / 2.0 / 1000 <= 40
    # out of reach: the benchmark gets the quality-1 file (and reports its real rate), not an error
    lowest = container.unpack(audio_codec().encode(audio, 0.01)).header
    assert "envelope" not in lowest and lowest["streams"] == 1  # quality 1: the waveform layer alone
    second = container.unpack(audio_codec().encode(audio, len(codec_at(2, audio)) * 8 / 2.0 / 1000)).header
    assert second["envelope"] == {**envelope.config_for(2)[1].to_dict(), "quality": 2.0} and second["streams"] == 2


def test_same_bytes_with_one_and_two_threads(codec):
    audio = Audio(tone(1.0, 44100, channels=2), 44100)
    before = torch.get_num_threads()
    try:
        outputs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            data = codec.encode(audio, 60)
            outputs.append((data, codec.decode(data).samples))
    finally:
        torch.set_num_threads(before)
    assert outputs[0][0] == outputs[1][0]
    assert np.abs(outputs[0][1] - outputs[1][1]).max() < 1e-3, np.abs(outputs[0][1] - outputs[1][1]).max()


def test_damaged_files_are_format_errors(codec):
    data = codec.encode(Audio(tone(0.5, 44100, channels=2), 44100), 50)
    rng = np.random.default_rng(1)
    for trial in range(150):
        blob = bytearray(data)
        if trial % 3 == 0:
            blob = blob[: int(rng.integers(0, len(blob)))]
        elif trial % 3 == 1:
            bit = int(rng.integers(0, len(blob) * 8))
            blob[bit // 8] ^= 1 << (bit % 8)
        else:
            blob += rng.bytes(int(rng.integers(1, 20)))
        with pytest.raises(FormatError):
            codec.decode(bytes(blob))


def forged(data: bytes, **changes) -> bytes:
    parsed = container.unpack(data)
    header = {k: v for k, v in parsed.header.items() if k != "streams"}
    for key, value in changes.items():
        if value is None:
            header.pop(key, None)
        else:
            header[key] = value
    return container.pack(header, parsed.streams)


@pytest.mark.parametrize("changes", [
    {"channels": 0}, {"channels": 3}, {"channels": True}, {"frames": 0}, {"frames": 1 << 40}, {"frames": 2.5},
    {"sample_rate": "44100"}, {"sample_rate": 10}, {"quality": 0}, {"quality": 101}, {"side_quality": None},
    {"channel_coding": "mono"}, {"channel_coding": "surround"}, {"dc_offset": [0.0]}, {"dc_offset": [2.0, 0.0]},
    {"chunking": {"frames": 1000, "overlap": 600}}, {"chunking": {"frames": 1 << 30, "overlap": 0}},
    {"chunking": [240000, 4800]}, {"chunking": {"frames": 4800, "overlap": 0}}, {"frames": None},
    {"silence": [5]}, {"silence": [0, 0]}, {"silence": [-1, 5]}, {"silence": [0, 1 << 40]}, {"silence": "0,5"},
    {"silence": [0, 5.5]}, {"silence": [0, True]},
    {"envelope": None}, {"envelope": {"n_fft": 1024, "hop": 480, "bands": 24}},
    {"envelope": {"n_fft": 8, "hop": 4, "bands": 24, "step": 0.5}},
    {"envelope": {"n_fft": 1024, "hop": 2048, "bands": 24, "step": 0.5}},
    {"envelope": {"n_fft": 1024, "hop": 480, "bands": 0, "step": 0.5}},
    {"envelope": {"n_fft": 1024, "hop": 480, "bands": 24, "step": 0}},
    {"envelope": {"n_fft": 1024, "hop": 480, "bands": 24, "step": "0.5"}}, {"envelope": [1024, 480, 24, 0.5]},
])
def test_invalid_headers_are_refused_before_decoding(codec, changes):
    data = codec.encode(Audio(tone(0.5, 44100, channels=2), 44100), 50)
    with pytest.raises(FormatError):
        codec.decode(forged(data, **changes))


def test_wrong_media_is_refused(codec, tmp_path):
    from aecodec.codecs.image import LearnedImageCodec

    data = codec.encode(Audio(tone(0.2, 8000), 8000), 50)
    with pytest.raises(FormatError, match="holds audio"):
        LearnedImageCodec().decode(data)
    image_file = container.pack({"media": "image", "model": {"name": "image-hyperprior", "sha256": "0" * 16}}, [])
    with pytest.raises(FormatError, match="not audio"):
        codec.decode(image_file)
    with pytest.raises(ModelError, match="codes image"):
        LearnedAudioCodec(model="image-hyperprior").encode(Audio(tone(0.2, 8000), 8000), 50)
    with pytest.raises(InputError):
        codec.encode(Audio(np.full((100, 1), np.nan, np.float32), 8000), 50)
    with pytest.raises(InputError, match="sample rate"):
        codec.encode(Audio(tone(0.2, 8000), 100), 50)


def test_card_and_streams_follow_the_format(codec, model_dir):
    card = json.loads((model_dir / f"audio-conv-lstm.v{FIXTURE_VERSION}.json").read_text())
    assert card["architecture"] == "audio-conv-lstm" and card["media"] == "audio"
    data = codec.encode(Audio(tone(0.5, 24000), 24000), 50)
    header = container.unpack(data).header
    assert header["model"] == {"name": "audio-conv-lstm", "sha256": card["weights"]["sha256"][:16]}
    assert set(header) == {"media", "model", "quality", "sample_rate", "channels", "frames", "channel_coding",
                           "dc_offset", "chunking", "envelope", "streams"}


def test_written_file_reads_back(codec, tmp_path):
    from aecodec.media.audio import audio_writer

    data = codec.encode(Audio(tone(0.5, 44100, channels=2), 44100), 50)
    header = codec.decode_to(data, lambda rate, channels: audio_writer(tmp_path / "o.flac", rate, channels))
    back = read_audio(tmp_path / "o.flac")
    assert (back.sample_rate, back.channels, back.frames) == (header.sample_rate, 2, header.frames)


def test_codecs_decode_and_symbols_read_audio_files(codec, monkeypatch):
    monkeypatch.setattr(learned_audio, "CHUNK_SECONDS", 0.4)  # two chunks
    monkeypatch.setattr(learned_audio, "OVERLAP_SECONDS", 0.04)
    data = codec.encode(Audio(tone(0.6, 24000, channels=2), 24000), 50)
    assert np.array_equal(codecs.decode(data).samples, codec.decode(data).samples)
    symbols, h = codecs.symbols(data), container.unpack(data).header
    assert [s.shape[:2] for s in symbols["latent"]] == [(2, 8)] * 2  # (coded channels, latent channels) a chunk
    assert [s.shape[:2] for s in symbols["envelope"]] == [(2, h["envelope"]["bands"])] * 2
    assert all(s.dtype == np.int32 for s in symbols["latent"] + symbols["envelope"])


def test_impossible_stream_layouts_are_refused(codec):
    data = codec.encode(Audio(tone(0.5, 44100, channels=2), 44100), 50)
    parsed = container.unpack(data)
    header = {k: v for k, v in parsed.header.items() if k != "streams"}
    for streams in (parsed.streams[:1], parsed.streams + (b"\0" * 8,), (parsed.streams[0], b"\1\2")):
        with pytest.raises(FormatError, match="stream"):
            codec.decode(container.pack(header, streams))


def test_decoding_an_old_file_does_not_change_the_model_new_files_use(model_dir, tmp_path, monkeypatch):
    import shutil

    from aecodec.train.freeze import export_audio_codec

    old = LearnedAudioCodec().encode(Audio(tone(0.5, 24000), 24000), 50)  # the fixture's version only
    both = tmp_path / "models"
    shutil.copytree(model_dir, both)
    state = torch.load(model_dir / "checkpoint.pt", weights_only=True)
    state["model"] = {k: v * 1.01 if k.endswith("log_gain_enc") else v for k, v in state["model"].items()}
    torch.save(state, both / "checkpoint.pt")
    newer = json.loads(export_audio_codec(both / "checkpoint.pt", both, "audio-conv-lstm", FIXTURE_VERSION + 1, {}).read_text())
    monkeypatch.setenv("AECODEC_MODELS", str(both))
    codec = LearnedAudioCodec()
    assert codec.decode(old).frames == 12000  # loads the old version by its sha
    header = container.unpack(codec.encode(Audio(tone(0.5, 24000), 24000), 50)).header
    assert header["model"]["sha256"] == newer["weights"]["sha256"][:16]
