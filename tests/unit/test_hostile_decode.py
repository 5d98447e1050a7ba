"""Hostile `.aec` files (issue 20): small files that claim huge images or years of audio, header
values of the wrong kind, and header text meant for the terminal. Every file is generated here
(aecodec.container.pack on edited headers), none is stored; each must be refused in well under
a second, before anything large is allocated, with one FormatError line. And the other side of
the same limits: the cheapest legitimate files (flat images, silence) still decode, and the
encoder never writes a file its own decoder refuses."""

from __future__ import annotations

import json
import logging
import math
import os
import struct
import subprocess
import time
import zlib

import numpy as np
import pytest
import soundfile
import torch

from aecodec import container
from aecodec.codecs import audio as learned_audio
from aecodec.codecs import audio_header, base, envelope
from aecodec.codecs import image as learned_image
from aecodec.codecs.audio import LearnedAudioCodec
from aecodec.errors import FormatError, InputError
from aecodec.media.audio import open_audio
from aecodec.media.types import Audio, Image
from aecodec.models.registry import read_card
from cli_run import aecodec

FAST = 2.0  # seconds: refusals take well under 0.5 s (no work in proportion to the claim); room for a busy machine


@pytest.fixture(autouse=True)
def shipped_models(monkeypatch):
    monkeypatch.delenv("AECODEC_MODELS", raising=False)


@pytest.fixture(autouse=True, scope="module")
def loaded(image_codec):
    image_codec.model()  # loading the weights is not what the refusals are timed for


@pytest.fixture(scope="module")
def audio_codec():
    codec = LearnedAudioCodec()
    codec.model()
    return codec


def model_ref(name: str) -> dict:
    return {"name": name, "sha256": read_card(name)["weights"]["sha256"][:16]}


def refused(decode, data: bytes, match: str) -> None:
    start = time.perf_counter()
    with pytest.raises(FormatError, match=match) as info:
        decode(data)
    assert time.perf_counter() - start < FAST, f"took {time.perf_counter() - start:.2f} s"
    assert "\n" not in str(info.value)


# --- images ---------------------------------------------------------------------------------

def image_layout(codec, height: int, width: int) -> tuple[int, int, int]:
    """(tile, y_group_channels, streams) the encoder writes for an RGB image of this size."""
    model = codec.model()
    hp, wp = learned_image.padded_size(height), learned_image.padded_size(width)
    group = learned_image.group_channels(model, hp // 16 * (wp // 16))
    return model.tile_for(hp, wp), group, 1 + len(learned_image.stream_channels(model, group))


def image_file(geometry: dict, tile: int = 0, group: int = 128, streams=None, **changes) -> bytes:
    header = {"media": "image", "model": model_ref("image-hyperprior"), "quality": 50.0, "geometry": geometry,
              "tiles": {"size": tile}, "y_group_channels": group, **changes}
    return container.pack(header, [b"\0" * 8] * 2 if streams is None else streams)


def rgb(height: int, width: int) -> dict:
    return {"height": height, "width": width, "channels": 3, "mode": "RGB"}


def test_a_tiny_file_claiming_a_huge_image_is_refused_before_any_work(image_codec):
    bomb = image_file(rgb(16384, 16384))  # the 84-byte file: 268 MP, untiled
    assert len(bomb) < 100
    refused(image_codec.decode, bomb, "over the 67 MP")
    refused(image_codec.decode, image_file(rgb(1, 4_194_304)), "over the 67 MP")  # 64x that once padded
    for height, width in ((8192, 8192), (4096, 4096), (1, 100_000), (3000, 7)):
        tile, group, n = image_layout(image_codec, height, width)
        data = image_file(rgb(height, width), tile, group, [b"\0" * 64] * n)
        refused(image_codec.decode, data, "hyper-latent stream of at least")


def test_the_layout_must_be_the_encoders(image_codec):
    tile, group, n = image_layout(image_codec, 2048, 2048)
    assert tile == 1024
    refused(image_codec.decode, image_file(rgb(2048, 2048), 0, group, [b"\0" * 8] * n), "tile size 0")
    refused(image_codec.decode, image_file(rgb(4096, 4096), tile, 128, [b"\0" * 8] * 2), "groups 128")
    _, group, n = image_layout(image_codec, 64, 64)
    refused(image_codec.decode, image_file(rgb(64, 64), 0, group, [b"\0" * 8] * (n + 1)), f"needs {n} streams")


def test_a_z_stream_too_short_for_the_latents_it_implies_is_refused(image_codec):
    """z long enough, then y streams far shorter than the tables z selects can code."""
    model = image_codec.model()
    z = np.random.default_rng(0).integers(-4, 5, (1, model.config.N, 16, 16)).astype(np.int32)
    from aecodec.entropy.tables import encode

    z_stream = encode(z, model.z_indexes(z.shape), model.z_tables)
    _, group, n = image_layout(image_codec, 1000, 1000)
    data = image_file(rgb(1000, 1000), 0, group, [z_stream] + [b"\0" * 64] * (n - 1))
    with pytest.raises(FormatError, match="latent stream 1 has 64 bytes"):
        image_codec.decode(data)


@pytest.mark.parametrize("changes", [
    {"quality": True}, {"quality": "50"}, {"geometry": {**rgb(64, 64), "mode": "CMYK"}},
    {"geometry": {**rgb(64, 64), "mode": 5}}, {"geometry": {**rgb(64, 64), "mode": "L"}},
    {"geometry": {"height": 64, "width": 64, "channels": 3}}, {"geometry": {**rgb(64, 64), "width": 64.0}},
    {"geometry": {**rgb(64, 64), "channels": True}}, {"tiles": {"size": False}}, {"y_group_channels": 1.5},
])
def test_header_values_of_the_wrong_kind_are_refused(image_codec, sample_rgb, changes):
    parsed = container.unpack(image_codec.encode(Image(sample_rgb[:64, :64]), 50))
    data = container.pack({**parsed.header, **changes}, parsed.streams)
    refused(image_codec.decode, data, "image header is invalid")


def test_the_encoder_refuses_images_over_the_padded_limit_before_any_work(image_codec):
    for shape in ((1, 4_194_304, 3), (8193, 8192, 3), (1, 1_048_577, 3)):
        huge = Image(np.broadcast_to(np.zeros((1, 1, 3), np.uint8), shape))  # no pixel memory
        start = time.perf_counter()
        with pytest.raises(InputError, match="67 MP limit"):
            image_codec.encode(huge, 50)
        assert time.perf_counter() - start < FAST


@pytest.mark.parametrize("shape, value", [((1024, 2112), 128), ((1, 10000), 0), ((64, 64), 255)])
def test_the_cheapest_legitimate_images_still_decode(image_codec, shape, value):
    """Flat images at quality 1 are the smallest files an encoder makes for their size: they
    must clear the payload bound (1024x2112 is tiled, 1x10000 is one row of z cells)."""
    px = np.full((*shape, 3), value, np.uint8)
    data = image_codec.encode(Image(px), 1)
    z = container.unpack(data).streams[0]
    cells = math.ceil(shape[0] / 64) * math.ceil(shape[1] / 64)
    model = image_codec.model()
    bound = base.min_stream_bytes(cells * base.cheapest_bits(model.z_tables)[: model.config.N].sum())
    assert bound <= len(z) <= 1.5 * bound + 8  # the bound is tight on flat images, and holds
    out = image_codec.decode(data).pixels
    assert out.shape == px.shape and np.abs(out.astype(int) - value).mean() < 4  # quality 1: close, not exact


def test_tiled_entropy_parameters_are_exactly_the_untiled_ones(image_codec, monkeypatch):
    from aecodec.models.image import model as image_model

    model = image_codec.model()
    z = torch.from_numpy(np.random.default_rng(1).integers(-8, 9, (1, model.config.N, 7, 9)).astype(np.int32))
    whole_means, whole_scales = model.hyper_parameters(z)
    monkeypatch.setattr(image_model, "HS_TILE", 3)
    means, scales = model.hyper_parameters(z)
    assert torch.equal(means, whole_means) and torch.equal(scales, whole_scales)


# --- audio ----------------------------------------------------------------------------------

def audio_file(frames: int = 24000, rate: int = 24000, chunk: int = 240000, overlap: int = 4800, streams=None,
               env: dict | None = None, **changes) -> bytes:
    header = {"media": "audio", "model": model_ref("audio-conv-lstm"), "quality": 1.0, "sample_rate": rate,
              "channels": 1, "frames": frames, "channel_coding": "mono", "dc_offset": [0.0],
              "chunking": {"frames": chunk, "overlap": overlap}, **changes}
    if env is not None:
        header["envelope"] = env
    return container.pack(header, [b"\0" * 16] * (1 if env is None else 2) if streams is None else streams)


@pytest.mark.parametrize("env", [
    {"n_fft": 8192, "hop": 1, "bands": 128, "step": 0.5},  # the issue's: 6 GiB of STFT from 568 bytes
    {"n_fft": 1024, "hop": 1024, "bands": 32, "step": 0.5},  # hop == n_fft: no inverse STFT
    {"n_fft": 1024, "hop": 100, "bands": 32, "step": 0.5}, {"n_fft": 1000, "hop": 480, "bands": 32, "step": 0.5},
    {"n_fft": 256, "hop": 128, "bands": 32, "step": 0.5}, {"n_fft": 1024, "hop": 480, "bands": 32, "step": 0.01},
    {"n_fft": 1024, "hop": 480, "bands": 32, "step": True},
])
def test_envelope_settings_the_encoder_never_writes_are_refused(audio_codec, env):
    refused(audio_codec.decode, audio_file(env=env), "audio header is invalid")


@pytest.mark.parametrize("chunk, overlap", [(2, 1), (320, 160), (1 << 20, 0), (9600, 4801)])
def test_chunkings_out_of_range_are_refused(audio_codec, chunk, overlap):
    refused(audio_codec.decode, audio_file(chunk=chunk, overlap=overlap), "audio header is invalid")


def test_chunks_must_be_whole_latent_frames(audio_codec):
    refused(audio_codec.decode, audio_file(chunk=24000, overlap=4000), "not whole latent frames")


def test_a_megabyte_claiming_terabytes_of_audio_is_refused_at_once(audio_codec):
    chunk = audio_header.MAX_CHUNK_FRAMES // 320 * 320  # whole latent frames
    frames = 65536 * chunk * 32  # 65536 chunks at the model rate, at 768 kHz: about 2.2 TB of 16-bit WAV
    data = audio_file(frames=frames, rate=768000, chunk=chunk, overlap=0, streams=[b"\0" * 16] * 65536)
    assert len(data) < 2 << 20
    refused(audio_codec.decode, data, "latent stream 1 has 16 bytes")


def test_a_real_file_cannot_claim_more_audio_than_its_streams_hold(audio_codec):
    data = audio_codec.encode(Audio(np.zeros((48000, 1), np.float32), 24000), 50)  # 2 s of silence
    audio_codec.decode(data)
    parsed = container.unpack(data)
    longer = container.pack({**parsed.header, "frames": 240000}, parsed.streams)  # 10 s, still one chunk
    refused(audio_codec.decode, longer, "latent stream 1 has")
    env = {**parsed.header, "envelope": {**parsed.header["envelope"], "hop": parsed.header["envelope"]["n_fft"] // 4}}
    refused(audio_codec.decode, container.pack(env, parsed.streams), "envelope stream 1 is too short")
    bad_table = (*parsed.streams[:1], b"\x09" + parsed.streams[1][1:])
    refused(audio_codec.decode, container.pack(parsed.header, bad_table), "names no known table")


def test_the_cheapest_legitimate_audio_still_decodes(audio_codec):
    """Digital silence at quality 2, the lowest with the envelope layer: the smallest streams there
    are, in three chunks (the last a short one)."""
    data = audio_codec.encode(Audio(np.zeros((24000 * 21, 1), np.float32), 24000), 2)
    assert container.unpack(data).header["streams"] == 6
    assert audio_codec.decode(data).frames == 24000 * 21


@pytest.mark.parametrize("value", [1.2, -1.2, 1e30])
def test_float_input_past_full_scale_is_clipped_with_a_note(audio_codec, tmp_path, caplog, value):
    path = tmp_path / "hot.wav"
    t = np.arange(16000) / 16000
    soundfile.write(path, (value + 0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING), open_audio(path) as reader:
        data = audio_codec.encode(reader, 50)
    assert "clipped" in caplog.text
    header = container.unpack(data).header
    assert abs(header["dc_offset"][0]) <= 1
    assert audio_codec.decode(data).frames == 16000


def test_nan_input_is_an_input_error(audio_codec, tmp_path):
    path = tmp_path / "nan.wav"
    soundfile.write(path, np.full(8000, np.nan, np.float32), 8000, subtype="FLOAT")
    with pytest.raises(InputError, match="NaN"), open_audio(path) as reader:
        audio_codec.encode(reader, 50)


def test_the_encoder_never_writes_a_file_its_decoder_refuses(audio_codec, monkeypatch):
    monkeypatch.setattr(learned_audio, "CHUNK_SECONDS", 0.2)  # 4800 frames overlapping by 2560:
    monkeypatch.setattr(learned_audio, "OVERLAP_SECONDS", 0.1)  # more than half a chunk
    with pytest.raises(InputError, match="would write a file it cannot read"):
        audio_codec.encode(Audio(np.zeros((24000, 1), np.float32), 24000), 50)


# --- header text on the terminal --------------------------------------------------------------

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[H\u202e\x9b"


def raw_aec(header: dict, streams=()) -> bytes:
    """An .aec file exactly as given, for headers ``container.pack`` itself refuses to write."""
    text = json.dumps(header).encode()
    deflated = container.format.deflate_header(text)
    body = struct.pack("<4sBBI", container.MAGIC, 2, 0, len(deflated)) + deflated + struct.pack("<I", len(streams))
    body += b"".join(struct.pack("<Q", len(s)) + s for s in streams)
    return body + struct.pack("<I", zlib.crc32(body))


def shipped_models(*args) -> subprocess.CompletedProcess:
    """The CLI with only the shipped models (no test stand-ins from AECODEC_MODELS)."""
    env = {k: v for k, v in os.environ.items() if k != "AECODEC_MODELS"}
    return aecodec(*args, env=env, timeout=120)


def no_control_characters(text: str) -> bool:
    return all(ch.isprintable() or ch == "\n" for ch in text)


def test_info_escapes_control_characters_and_lone_surrogates(tmp_path):
    path = tmp_path / "x.aec"
    header = {"media": "image", "model": {"name": "image-hyperprior", "sha256": "0" * 16},
              "comment": ESCAPES, "\x1b[31mkey": ["\ud800", ESCAPES], "surrogate": "\udcff"}
    path.write_bytes(container.pack(header, []))
    for args in (["info", path], ["info", "--json", path]):
        result = shipped_models(*args)
        out = result.stdout.decode("utf-8")
        assert result.returncode == 0, result.stderr.decode()
        assert no_control_characters(out) and "\u202e" not in out, out
        assert "owned" in out and ("\\x1b" in out or "\\u001b" in out)
    assert "\\ud800" in out and "\\udcff" in out


def test_a_model_name_with_escape_sequences_is_refused_in_one_clean_line(tmp_path):
    path = tmp_path / "x.aec"
    path.write_bytes(raw_aec({"media": "image", "model": {"name": "m" + ESCAPES, "sha256": "0" * 16}, "streams": 0}))
    for args in (["info", path], ["decode", path, "-o", tmp_path / "x.png"]):
        result = shipped_models(*args)
        err = result.stderr.decode("utf-8")
        assert result.returncode == 1 and err.count("\n") == 1 and "model.name" in err, err
        assert no_control_characters(err), err
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(FormatError, match="not a model name"):
        container.unpack(raw_aec({"media": "audio", "model": {"name": "\ud800", "sha256": "0" * 16}, "streams": 0}))


def test_decoding_a_bomb_through_the_cli_is_one_line_and_leaves_nothing(tmp_path):
    bomb = tmp_path / "bomb.aec"
    tile, group, n = image_layout(learned_image.LearnedImageCodec(), 4096, 4096)
    bomb.write_bytes(image_file(rgb(4096, 4096), tile, group, [b"\0" * 8] * n))  # the 83-byte 4096^2 file, tiled
    start = time.perf_counter()
    result = shipped_models("decode", bomb, "-o", tmp_path / "out.png")
    err = result.stderr.decode()
    assert result.returncode == 1 and err.count("\n") == 1 and "hyper-latent" in err, err
    assert time.perf_counter() - start < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.aec"]
