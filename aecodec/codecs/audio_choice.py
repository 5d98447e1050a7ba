"""The MDCT codec with its model chosen per file: what ``aecodec encode`` does for audio when no
``--model`` is given.

Music goes to the music model (40 ms frames, a companded quantiser: its partials come back) and
everything else to the default model, at rates where the music model is the better one on music:
``--kbps`` 10 and up, or ``--quality`` 30 and up (about 10 kbit/s on music). On training music the
two models' ViSQOL cross at 10 kbit/s (3.81 against 3.80; at 8 the default leads 3.72 to 3.56, at 6
3.56 to 3.21), though the music model's LSD below 4 kHz is lower from 6 kbit/s up; below that the
default model codes everything (the music model's coarse steps cost more than its long frames gain). The speech/music
detector (models/audio/music_detector.py) listens to up to 32 windows of 4 s spread over the
file; a file it is unsure of (p(music) under its threshold) stays with the default model, whose
loss on music is smaller than the music model's loss on speech.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from aecodec.codecs.audio_io import BlockDecoding, Source, clipped_blocks, open_source
from aecodec.codecs.audio_mdct import MdctAudioCodec
from aecodec.codecs.base import EncodeResult, Progress

DETECTOR = "audio-music-detector"
MUSIC_FROM_KBPS = 10.0
MUSIC_FROM_QUALITY = 30.0


class ChoosingAudioCodec(BlockDecoding):
    """``MdctAudioCodec``'s interface; ``pick`` says which model a file gets."""

    media = "audio"

    def __init__(self, default: str, music: str, device: str = "cpu",
                 quality_unit: Literal["quality", "kbps"] = "quality"):
        self.name, self.device, self.quality_unit = "aecodec", device, quality_unit
        self.default = MdctAudioCodec(default, device, quality_unit)
        self.music = MdctAudioCodec(music, device, quality_unit)

    def pick(self, item: Source, quality: float | None = None, kbps: float | None = None) -> MdctAudioCodec:
        """The codec of the model for ``item`` at this quality or rate target."""
        low = kbps < MUSIC_FROM_KBPS if kbps is not None else quality is not None and quality < MUSIC_FROM_QUALITY
        if low:
            return self.default
        return self.music if is_music(item) else self.default

    def encode(self, item: Source, quality: float, progress: Progress | None = None) -> bytes:
        target = {"kbps": quality} if self.quality_unit == "kbps" else {"quality": quality}
        return self.pick(item, **target).encode(item, quality, progress)

    def encode_to_kbps(self, item: Source, kbps: float, or_lowest: bool = False,
                       progress: Progress | None = None) -> EncodeResult:
        return self.pick(item, kbps=kbps).encode_to_kbps(item, kbps, or_lowest, progress)

    def decode_blocks(self, data, progress: Progress | None = None):
        return self.default.decode_blocks(data, progress)  # any MDCT model: the file names its own

    def symbols(self, data):
        return self.default.symbols(data)

    def loaded(self, name: str | None = None, sha_prefix: str | None = None):
        return self.default.loaded(name, sha_prefix)

    def model_identity(self) -> str:
        """Both models and the detector: what a benchmark row depends on."""
        from aecodec.models.registry import read_card

        card = read_card(DETECTOR)
        return (f"{self.default.model_identity()} | {self.music.model_identity()} | "
                f"{card['name']} v{card['version']} {card['weights']['sha256'][:16]}")


def is_music(item: Source) -> bool:
    """Whether the detector hears music in ``item`` (read once more, block by block)."""
    return music_probability(item) >= detector().config.threshold


def detector():
    """The newest speech/music detector, loaded once, on the CPU."""
    from aecodec.models.registry import loaded_model, read_card

    return loaded_model(DETECTOR, read_card(DETECTOR)["weights"]["sha256"][:16], "cpu")[1]


def music_probability(item: Source) -> float:
    """p(music) of ``item``: its channels mixed to mono at the detector's rate, block by block."""
    from aecodec.media.resample import StreamResampler
    from aecodec.models.audio.music_detector import windows_of

    model = detector()
    c = model.config
    source = open_source(item)
    resampler = StreamResampler(source.info.sample_rate, c.sample_rate, 1)

    def mono():
        for block in clipped_blocks(source):
            yield resampler.push(block.mean(axis=1, dtype=np.float32)[:, None])[:, 0]
        yield resampler.finish()[:, 0]

    return model.p_music(windows_of(mono(), c.window, c.max_windows))
