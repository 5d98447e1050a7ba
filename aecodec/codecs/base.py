"""What every codec shares: the Codec protocol (learned codecs, baselines, the CLI and the
benchmarks use it), and the pieces the learned image and audio codecs have in common: the lazily
loaded model, quality search, and the bounds a rANS stream's length must meet."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal, Protocol, Union

import numpy as np

from aecodec import container
from aecodec.errors import FormatError, InputError, ModelError
from aecodec.media.types import Audio, Image

Media = Union[Image, Audio]
Progress = Callable[[int, int], None]  # (steps done, steps in all): a long file's progress, for a bar

RANS_MIN_BYTES = 8  # the coder's final flush alone writes its 64-bit state
RANS_ROUNDING_BITS = 2**-15 / math.log(2)  # the most one rANS step can round away (its state is >= 2^15 freq)


class Codec(Protocol):
    """Encode media into bytes a user would store, and back.

    ``quality`` is the codec's own integer knob (JPEG quality, kbps, aecodec quality 1..100);
    each codec documents its mapping. Rates are measured from ``len(encode(...))``.
    """

    name: str
    media: Literal["image", "audio"]

    def encode(self, item: Media, quality: int) -> bytes: ...

    def decode(self, data: bytes) -> Media: ...


@dataclass
class EncodeResult:
    data: bytes
    quality: float


class LazyModel:
    """Base of the learned codecs: the model is loaded on first use, so constructing a codec is free."""

    media: str

    def __init__(self, model: str, device: str = "cpu"):
        self.name = "aecodec"
        self.model_name = model
        self.device = device

    def model(self, name: str | None = None, sha_prefix: str | None = None):
        """The loaded model: the newest of ``model_name``, or the one a file names."""
        return self.loaded(name, sha_prefix)[1]

    def model_identity(self) -> str:
        """The newest model's name, version and weights hash: what a benchmark row depends on."""
        card = self.loaded()[0]
        return f"{card['name']} v{card['version']} {card['weights']['sha256'][:16]}"

    def loaded(self, name: str | None = None, sha_prefix: str | None = None) -> tuple[dict, Any]:
        """(card, model) of ``model``. Each stays loaded, so decoding an old file does not
        change the model new files are encoded with."""
        from aecodec.models.registry import loaded_model, read_card

        name = name or self.model_name
        if sha_prefix is None:  # the newest installed now (a card read), keyed as the files it makes name it
            sha_prefix = read_card(name)["weights"]["sha256"][:16]
        card, model = loaded_model(name, sha_prefix, self.device)
        if card.get("task", "compress") != "compress":
            raise ModelError(f"model '{name}' is a {card['task']} model, not a codec; "
                             "pick a codec with --model (see 'aecodec models')")
        if card.get("media", self.media) != self.media:
            raise ModelError(f"model '{name}' codes {card['media']}, not {self.media}; "
                             "pick another with --model (see 'aecodec models')")
        return card, model

    def unpack(self, data: bytes | container.Container) -> container.Container:
        """The parsed, checksum-verified file (``data`` as is when a caller already parsed it),
        refused unless it holds this codec's media."""
        parsed = data if isinstance(data, container.Container) else container.unpack(data)
        if parsed.header["media"] != self.media:
            what = "an image" if self.media == "image" else self.media
            raise FormatError(f"this .aec file holds {parsed.header['media']}, not {what}; "
                              "decode it with 'aecodec decode'")
        return parsed


def check_quality(quality: float) -> float:
    q = float(quality)
    if not (1 <= q <= 100):
        raise InputError(f"--quality must be between 1 and 100, got {quality:g}; e.g. --quality 75")
    return q


def highest_quality_within(encode, budget_bytes: float) -> EncodeResult | None:
    """Binary search over integer qualities 1..100 (file size grows with quality) for the
    highest one whose real file fits ``budget_bytes``; None when even quality 1 does not."""
    lo, hi, best = 1, 100, None
    while lo <= hi:
        mid = (lo + hi) // 2
        data = encode(float(mid))
        if len(data) <= budget_bytes:
            best, lo = EncodeResult(data, float(mid)), mid + 1
        else:
            hi = mid - 1
    return best


def cheapest_bits(tables) -> np.ndarray:
    """Per CDF table, the fewest bits a rANS coder can spend on one symbol: -log2 of the largest
    probability, less what one coding step can round away."""
    cdf = tables.cdf.astype(np.int64)
    length = tables.cdf_length.astype(np.int64)[:, None]
    freq = np.where(np.arange(cdf.shape[1] - 1)[None] < length - 1, np.diff(cdf, axis=1), 0)
    total = np.take_along_axis(cdf, length - 1, axis=1)[:, 0]
    return np.maximum(0.0, np.log2(total / freq.max(axis=1)) - RANS_ROUNDING_BITS)


def min_stream_bytes(bits: float) -> int:
    """The fewest bytes a rANS stream can hold symbols needing ``bits`` in: its 64-bit state
    starts at 2^31 and stays below 2^63, so all but 32 of the bits go out in 32-bit words, and
    the final flush writes 8 bytes. 1 % and 32 more bits of slack guard against rounding."""
    return RANS_MIN_BYTES + max(0, int((0.99 * bits - 64) // 8))

