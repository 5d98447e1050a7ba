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


def _codec_for(parsed: container.Container, device: str):
    if parsed.header["media"] == "audio":
        from aecodec.codecs.audio import LearnedAudioCodec

        return LearnedAudioCodec(device=device)
    from aecodec.codecs.image import LearnedImageCodec

    return LearnedImageCodec(device=device)
