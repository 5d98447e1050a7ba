"""The Codec protocol shared by learned codecs, baselines, the CLI and the benchmarks."""

from __future__ import annotations

from typing import Literal, Protocol, Union

from aecodec.media.types import Audio, Image

Media = Union[Image, Audio]


class Codec(Protocol):
    """Encode media into bytes a user would store, and back.

    ``quality`` is the codec's own integer knob (JPEG quality, kbps, aecodec quality 1..100);
    each codec documents its mapping. Rates are measured from ``len(encode(...))``.
    """

    name: str
    media: Literal["image", "audio"]

    def encode(self, item: Media, quality: int) -> bytes: ...

    def decode(self, data: bytes) -> Media: ...
