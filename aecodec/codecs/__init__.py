"""One interface for every codec: aecodec's learned ones (``image``, ``audio``; shared pieces in
``base``) and the classic ``baselines``.

``decode`` and ``symbols`` read any `.aec` file: the header's media kind picks the codec, and the
file is parsed and checksum-verified once. The codec modules load only when used, so importing
this package costs no numpy or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aecodec import container

if TYPE_CHECKING:
    import numpy as np

    from aecodec.media.types import Audio, Image


def decode(data: bytes, device: str = "cpu") -> Image | Audio:
    """The image or audio an `.aec` file holds, decoded on ``device`` by the model it names.

    Raises:
        FormatError: damaged, truncated or inconsistent file.
        ModelError: the weights the file names are not installed.
    """
    parsed = container.unpack(data)
    return _codec_for(parsed, device).decode(parsed)


def symbols(data: bytes, device: str = "cpu") -> dict[str, list[np.ndarray]]:
    """An `.aec` file's entropy-decoded symbols by kind (``LearnedImageCodec.symbols``,
    ``LearnedAudioCodec.symbols``), exact on every machine and device."""
    parsed = container.unpack(data)
    return _codec_for(parsed, device).symbols(parsed)


DEFAULT_AUDIO_MODEL = "audio-mdct"
MUSIC_AUDIO_MODEL = "audio-mdct-music"  # chosen for music (codecs/audio_choice.py); the bench's aecodec-music
AUDIO_CODECS = {"audio-mdct": "aecodec.codecs.audio_mdct:MdctAudioCodec",
                "audio-conv-lstm": "aecodec.codecs.audio:LearnedAudioCodec"}  # architecture -> codec


def audio_codec(model: str | None = None, device: str = "cpu", quality_unit: str = "quality"):
    """The audio codec that runs ``model``, picked by the architecture its card names; imported
    only now. Without a model: the MDCT codec choosing per file between its default and music
    models (``audio_choice.ChoosingAudioCodec``)."""
    import importlib

    from aecodec.models.registry import read_card

    if model is None:  # by name, as AUDIO_CODECS: the codec modules import this package
        chooser = importlib.import_module("aecodec.codecs.audio_choice").ChoosingAudioCodec
        return chooser(DEFAULT_AUDIO_MODEL, MUSIC_AUDIO_MODEL, device=device, quality_unit=quality_unit)
    arch = read_card(model).get("architecture")
    if arch not in AUDIO_CODECS:
        from aecodec.errors import ModelError

        raise ModelError(f"model '{model}' is not an audio codec; pick one from 'aecodec models'")
    module, _, cls = AUDIO_CODECS[arch].partition(":")
    return getattr(importlib.import_module(module), cls)(model=model, device=device, quality_unit=quality_unit)


def _codec_for(parsed: container.Container, device: str):
    if parsed.header["media"] == "audio":
        return audio_codec(parsed.header["model"]["name"], device)
    from aecodec.codecs.image import LearnedImageCodec

    return LearnedImageCodec(device=device)
