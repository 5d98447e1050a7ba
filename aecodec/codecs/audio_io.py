"""The pipeline around every audio codec's core, from samples to coded channels and back:
sources (an ``AudioReader`` streamed in blocks, or an ``Audio`` in memory), the first pass (DC
offset, length, digital silence), channel coding (mono, mid-side, independent), resampling to
the model's rate, and on the way out the DC offset, soft limiting and exact silence."""

from __future__ import annotations

import logging
import math
from typing import Callable, Iterator, Union

import numpy as np

from aecodec.codecs.audio_header import MAX_CHANNELS, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE
from aecodec.codecs.base import EncodeResult, highest_quality_within
from aecodec.errors import FormatError, InputError
from aecodec.media.audio import AudioInfo, AudioReader
from aecodec.media.resample import StreamResampler
from aecodec.media.silence import SilenceFinder, SilenceWriter, min_run_frames
from aecodec.media.types import Audio

log = logging.getLogger(__name__)

LIMIT_KNEE = 0.95  # samples beyond this are bent smoothly towards, never past, full scale
BLOCK_FRAMES = 1 << 16

Source = Union[Audio, AudioReader]


class BlockDecoding:
    """``decode`` and ``decode_to`` of a codec from its ``decode_blocks(data, progress)``, which
    returns (header, lazy float32 (frames, channels) blocks)."""

    def decode(self, data, progress=None) -> Audio:
        """``data``: the file's bytes, or the file ``container.unpack`` parsed; ``progress``: see decode_blocks."""
        header, blocks = self.decode_blocks(data, progress)
        return Audio(np.concatenate(list(blocks)), header.sample_rate)

    def decode_to(self, data, open_writer, progress=None):
        """Decode block by block into the writer ``open_writer(sample_rate, channels)`` returns
        (a context manager such as ``media.audio.audio_writer``); memory stays bounded."""
        header, blocks = self.decode_blocks(data, progress)
        with open_writer(header.sample_rate, header.channels) as writer:
            for block in blocks:
                writer.write(block)
        return header


def open_source(item: Source):
    """``item`` with the block interface, its rate and channel count checked."""
    source = item if isinstance(item, AudioReader) else ArraySource(item)
    check_input(source.info)
    return source


def reach_kbps(kbps: float, encoder: Callable[[], tuple[Callable[[float], bytes], float]], or_lowest: bool,
               search: Callable[[Callable[[float], bytes], float], EncodeResult | None] = highest_quality_within
               ) -> EncodeResult:
    """The best file of at most ``kbps`` kbit/s: ``encoder()`` analyses the audio once and gives
    (quality -> file bytes, seconds); ``search(encode, budget_bytes)`` finds the highest quality
    within the budget, or None. Out of reach: the quality-1 file with a warning (``or_lowest``),
    else InputError."""
    if not (kbps > 0 and math.isfinite(kbps)):
        raise InputError(f"--kbps must be a positive number, got {kbps}; try e.g. --kbps 6")
    encode, seconds = encoder()
    best = search(encode, kbps * 1000 * seconds / 8)
    if best is not None:
        return best
    lowest = encode(1.0)
    lowest_kbps = len(lowest) * 8 / seconds / 1000
    if or_lowest:
        log.warning("%g kbps is out of reach: quality 1, the lowest, needs %.2f kbps; coded at quality 1",
                    kbps, lowest_kbps)
        return EncodeResult(lowest, 1.0)
    raise InputError(f"cannot reach {kbps:g} kbps: quality 1 needs {lowest_kbps:.2f} kbps for this "
                     f"{seconds:.2f} s clip; ask for more bits")


def coding_for(channels: int) -> str:
    return "mono" if channels == 1 else "mid-side" if channels == 2 else "independent"


def coded_blocks(source, dc, coding: str, model_rate: int) -> Iterator[np.ndarray]:
    """Second pass: (frames, coded channels) blocks at the model rate, DC removed."""
    coded = 1 if coding == "mono" else source.info.channels
    resampler = StreamResampler(source.info.sample_rate, model_rate, coded)
    offset = np.asarray(dc, np.float32)
    for block in clipped_blocks(source):
        yield resampler.push(to_coded(block - offset, coding))
    yield resampler.finish()


class Finisher:
    """Decoded coded-channel blocks at the model rate -> the file's samples: back to its
    channels and rate, DC offset added, soft-limited, silence runs exact, cut at its length."""

    def __init__(self, h, model_rate: int):
        self.h = h
        self.resampler = StreamResampler(model_rate, h.sample_rate, h.channels)
        self.dc = np.asarray(h.dc_offset, np.float32)
        self.silence = SilenceWriter(list(h.silence))
        self.left, self.over = h.frames, 0

    def push(self, x: np.ndarray) -> np.ndarray:
        return self._finish(self.resampler.push(from_coded(x, self.h.coding)))

    def finish(self) -> np.ndarray:
        block = self._finish(self.resampler.finish())
        if self.left:
            raise FormatError(f"the decoded audio is {self.left} frames short; the file is damaged")
        if self.over:
            log.warning("%d decoded samples went past full scale and were soft-limited", self.over)
        return block

    def _finish(self, block: np.ndarray) -> np.ndarray:
        block = block[: self.left] + self.dc
        self.left -= block.shape[0]
        block, n = soft_limit(block)
        self.over += n
        return self.silence.apply(block)


class ArraySource:
    """An in-memory ``Audio`` with the block interface of ``AudioReader``."""

    def __init__(self, audio: Audio):
        if not isinstance(audio, Audio):
            raise InputError(f"the audio codec encodes audio, not {type(audio).__name__}; use the image codec")
        samples = np.asarray(audio.samples)
        if samples.ndim != 2 or not np.issubdtype(samples.dtype, np.floating):
            raise InputError(f"audio samples must be float (frames, channels), got {samples.dtype} {samples.shape}")
        if not np.isfinite(samples).all():
            raise InputError("the audio holds NaN or infinite samples; repair it first")
        self.samples = samples
        self.info = AudioInfo(int(audio.sample_rate), samples.shape[1], samples.shape[0], "array", "float")

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        for i in range(0, self.samples.shape[0], block_frames):
            yield self.samples[i : i + block_frames].astype(np.float32)


def check_input(info: AudioInfo) -> None:
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise InputError(f"sample rate {info.sample_rate} Hz is not supported; resample to "
                         f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz first")
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise InputError(f"{info.channels} channels are not supported (at most {MAX_CHANNELS}); downmix first")
    if info.frames <= 0:
        raise InputError("the audio holds no samples; nothing to encode")


def clipped_blocks(source, clipped: list[int] | None = None) -> Iterator[np.ndarray]:
    """The source's blocks, clipped to full scale: the decoder never writes past it, and a DC
    offset beyond it (a float file) could not be stored. ``clipped`` counts the samples."""
    for block in source.blocks(BLOCK_FRAMES):
        if not np.isfinite(block).all():
            raise InputError("the audio holds NaN or infinite samples; repair it first")
        over = np.count_nonzero(np.abs(block) > 1)
        if over:
            block = np.clip(block, -1, 1)
            if clipped is not None:
                clipped[0] += over
        yield block


def first_pass(source) -> tuple[tuple[float, ...], int, list[tuple[int, int]]]:
    """The mean of each channel (float32-exact, so JSON keeps it), the frame count and the runs
    of digital silence."""
    total, frames, clipped = np.zeros(source.info.channels), 0, [0]
    finder = SilenceFinder(min_run_frames(source.info.sample_rate))
    for block in clipped_blocks(source, clipped):
        total += block.sum(axis=0, dtype=np.float64)
        frames += block.shape[0]
        finder.push(block)
    if frames == 0:
        raise InputError("the audio holds no samples; nothing to encode")
    if clipped[0]:
        log.warning("%d input samples were past full scale and were clipped to it before coding", clipped[0])
    return tuple(float(np.float32(v)) for v in total / frames), frames, finder.finish()


def to_coded(x: np.ndarray, coding: str) -> np.ndarray:
    """(frames, channels) -> the channels the model codes: mono, mid/side or all as they are."""
    if coding == "mid-side":
        return np.stack([(x[:, 0] + x[:, 1]) * 0.5, (x[:, 0] - x[:, 1]) * 0.5], axis=1)
    return x


def from_coded(x: np.ndarray, coding: str) -> np.ndarray:
    if coding == "mid-side":
        return np.stack([x[:, 0] + x[:, 1], x[:, 0] - x[:, 1]], axis=1)
    return x


def soft_limit(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Bend |x| above LIMIT_KNEE smoothly towards 1 (never past it); returns the samples and
    how many of them were past full scale before."""
    a = np.abs(x)
    over = a > LIMIT_KNEE
    if not over.any():
        return x, 0
    room = 1 - LIMIT_KNEE
    y = x.copy()
    y[over] = np.sign(x[over]) * (LIMIT_KNEE + room * np.tanh((a[over] - LIMIT_KNEE) / room))
    return y, int(np.count_nonzero(a > 1))


