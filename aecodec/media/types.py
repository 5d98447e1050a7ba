"""The in-memory media types every codec consumes and produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aecodec.media.metadata import ImageMetadata

if TYPE_CHECKING:
    import numpy as np


def _length(array: str, axis: int, doc: str) -> property:
    """A read-only int property: the length of the field ``array`` along ``axis``."""
    return property(lambda self: int(getattr(self, array).shape[axis]), doc=doc)


@dataclass(frozen=True)
class Image:
    """An 8-bit image: ``pixels`` is uint8 of shape (H, W, C), C = 1 (L), 3 (RGB) or 4 (RGBA)."""

    pixels: np.ndarray
    metadata: ImageMetadata = ImageMetadata()  # ICC profile, EXIF, XMP of the file it came from

    height = _length("pixels", 0, "Rows of pixels.")
    width = _length("pixels", 1, "Pixels a row.")
    channels = _length("pixels", 2, "1 (L), 3 (RGB) or 4 (RGBA).")

    @property
    def mode(self) -> str:
        return {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]


@dataclass(frozen=True)
class Audio:
    """Audio samples: ``samples`` is float32 of shape (frames, channels) in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int

    frames = _length("samples", 0, "Samples a channel.")
    channels = _length("samples", 1, "Channels.")
