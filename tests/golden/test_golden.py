"""Committed .aec files must decode forever: exact latents, samples within rounding of the reference.

Each case in cases.json names a .aec file, the sha256 of its entropy-decoded symbols (which must
match exactly on any machine: the entropy path is integer-exact) and a reference of its decoded
samples: a PNG for images (float synthesis may differ by one grey level across CPU types, never
more), a 24-bit FLAC for audio (within 1e-3). Case names end in the version of the model that
made them, and every shipped codec version keeps cases. `AECODEC_REGEN_GOLDEN=1` writes the
cases of the newest models that do not exist yet; it never rewrites an old one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from aecodec import container
from aecodec.media.image import read_image
from aecodec.media.types import Audio, Image

from symbols import symbols_sha256

HERE = Path(__file__).parent
CASES = HERE / "cases.json"
SOURCES = {  # name (without the version) -> (sample, crop box, quality)
    "rgb-q10": ("canyon_wren.png", (0, 0, 128, 96), 10),
    "rgb-q60": ("canyon_wren.png", (100, 50, 228, 146), 60),
    "rgb-q95": ("canyon_wren.png", (200, 100, 328, 196), 95),
    "gray-q50": ("lake_gray.png", (0, 0, 100, 70), 50),
    "rgba-q40": ("osprey_alpha.png", (0, 0, 120, 90), 40),
    "rgb-q100": ("canyon_wren.png", (300, 150, 428, 246), 100),  # the residual layer (qualities above 95)
    "gray-q98": ("lake_gray.png", (100, 70, 200, 140), 98),
}


AUDIO_SOURCES = {  # name (without the version) -> (sample, seconds, quality)
    "speech-q20": ("librivox_speech.flac", (0.0, 1.5), 20),
    "speech-q90": ("librivox_speech.flac", (2.0, 4.0), 90),
}
KBPS_SOURCES = {  # MDCT models only: --kbps fills its budget with a fine step (format 2.3)
    "speech-6kbps": ("librivox_speech.flac", (0.0, 3.0), 6.0),
}
AUDIO_TOLERANCE = 1e-3


def regenerate(codec) -> None:
    from aecodec.media.image import write_image

    cases = json.loads(CASES.read_text()) if CASES.exists() else {}
    version = codec.loaded()[0]["version"]
    for stem, (sample, box, quality) in SOURCES.items():
        name = f"{stem}-v{version}"
        if name in cases:
            continue  # old golden files are never rewritten
        px = read_image(HERE.parent / "data" / "images" / sample).pixels
        left, top, right, bottom = box
        data = codec.encode(Image(np.ascontiguousarray(px[top:bottom, left:right])), quality)
        (HERE / f"{name}.aec").write_bytes(data)
        write_image(codec.decode(data), HERE / f"{name}.png", force=True)
        cases[name] = {"file": f"{name}.aec", "reference": f"{name}.png", "symbols_sha256": symbols_sha256(codec, data)}
    CASES.write_text(json.dumps(cases, indent=2) + "\n")


def regenerate_audio(codec) -> None:
    from aecodec.media.audio import read_audio, write_audio

    cases = load_cases()
    card = codec.loaded()[0]
    prefix = "audio" if card["name"] == "audio-conv-lstm" else card["name"]  # the first codec's names stay
    sources = [(stem, source, False) for stem, source in AUDIO_SOURCES.items()]
    if card["architecture"] == "audio-mdct":
        sources += [(stem, source, True) for stem, source in KBPS_SOURCES.items()]
    for stem, (sample, (start, stop), quality), kbps in sources:
        name = f"{prefix}-{stem}-v{card['version']}"
        if name in cases:
            continue
        clip = read_audio(HERE.parent / "data" / "audio" / sample)
        rate = clip.sample_rate
        audio = Audio(clip.samples[int(start * rate) : int(stop * rate)], rate)
        data = codec.encode_to_kbps(audio, quality).data if kbps else codec.encode(audio, quality)
        (HERE / f"{name}.aec").write_bytes(data)
        write_audio(codec.decode(data), HERE / f"{name}.flac", force=True, sample_format="24")
        cases[name] = {"file": f"{name}.aec", "reference": f"{name}.flac", "symbols_sha256": symbols_sha256(codec, data)}
    CASES.write_text(json.dumps(cases, indent=2) + "\n")


def load_cases() -> dict:
    return json.loads(CASES.read_text()) if CASES.exists() else {}


def audio_codec(model: str):
    from aecodec.codecs import audio_codec

    return audio_codec(model, device="cpu")


def test_regeneration_switch(image_codec):
    if os.environ.get("AECODEC_REGEN_GOLDEN") == "1":
        regenerate(image_codec)
        for model in ("audio-conv-lstm", "audio-mdct", "audio-mdct-music"):
            regenerate_audio(audio_codec(model))
    cases = load_cases()
    assert any(n.startswith("audio-") for n in cases) and any(not n.startswith("audio-") for n in cases), \
        "golden cases missing: run with AECODEC_REGEN_GOLDEN=1 once"


@pytest.mark.parametrize("name", sorted(n for n in load_cases() if n.startswith("audio-")))
def test_golden_audio_decodes_as_recorded(name):
    from aecodec.codecs.audio import chunking_for
    from aecodec.codecs.audio_header import check_audio_header
    from aecodec.media.audio import read_audio

    case = load_cases()[name]
    data = (HERE / case["file"]).read_bytes()
    header = container.unpack(data).header
    codec = audio_codec(header["model"]["name"])
    if header["model"]["name"] == "audio-conv-lstm":  # its chunking is a fixed function of the model
        h, model = check_audio_header(header), codec.model(header["model"]["name"], header["model"]["sha256"])
        assert (h.chunk_frames, h.overlap) == chunking_for(model.sample_rate, model.hop)
    assert symbols_sha256(codec, data) == case["symbols_sha256"]
    decoded = codec.decode(data)
    reference = read_audio(HERE / case["reference"])
    assert decoded.samples.shape == reference.samples.shape and decoded.sample_rate == reference.sample_rate
    assert np.abs(decoded.samples - reference.samples).max() <= AUDIO_TOLERANCE


@pytest.mark.parametrize("name", sorted(n for n in load_cases() if not n.startswith("audio-")))
def test_golden_file_decodes_as_recorded(name, image_codec):
    case = load_cases()[name]
    data = (HERE / case["file"]).read_bytes()
    assert symbols_sha256(image_codec, data) == case["symbols_sha256"]
    decoded = image_codec.decode(data).pixels.astype(int)
    reference = read_image(HERE / case["reference"]).pixels.astype(int)
    assert decoded.shape == reference.shape
    assert np.abs(decoded - reference).max() <= 1
