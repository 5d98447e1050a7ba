"""The in-memory media types every codec consumes and produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Image:
    """An 8-bit image: ``pixels`` is uint8 of shape (H, W, C), C = 1 (L), 3 (RGB) or 4 (RGBA)."""

    pixels: np.ndarray

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def mode(self) -> str:
        return {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]


@dataclass(frozen=True)
class Audio:
    """Audio samples: ``samples`` is float32 of shape (frames, channels) in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])
