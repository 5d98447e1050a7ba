"""The audio keys of an `.aec` header and the stream layout they imply, checked before any
byte is decoded (docs/FORMAT.md, "Audio codec keys" and "Limits").

Every range is what the encoder writes with some room to grow, and no wider: a header must
not be able to ask a decoder for more memory or work than the payload could honestly carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import aecodec.codecs.envelope as envelope  # not via the package: its __init__ imports the codecs
from aecodec.codecs.base import RANS_MIN_BYTES, cheapest_bits, min_stream_bytes
from aecodec.errors import FormatError
from aecodec.media.chunks import chunk_count, chunk_spans
from aecodec.media.resample import output_frames
from aecodec.media.silence import unpack_runs

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 768000
MAX_CHANNELS = 8
# Chunk lengths a decoder accepts, at the model rate (the encoder writes 240000): long enough
# that the per-chunk work is small next to the samples', short enough that one chunk of 8
# channels stays within a few hundred MB while it is synthesised.
MIN_CHUNK_FRAMES, MAX_CHUNK_FRAMES = 4800, 1 << 18
CODINGS = ("mono", "mid-side", "independent")


def integer(v, lo: int, hi: int) -> int:
    """``v`` if it is an int in [lo, hi], else ValueError (header checks)."""
    if type(v) is not int or not lo <= v <= hi:
        raise ValueError
    return v


def number(v, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ValueError
    return float(v)


@dataclass(frozen=True)
class Signal:
    """The header keys every audio codec writes: what the decoded samples must look like."""

    sample_rate: int
    channels: int
    frames: int
    coding: str
    dc_offset: tuple[float, ...]
    silence: tuple[tuple[int, int], ...]

    @property
    def coded_channels(self) -> int:
        return 1 if self.coding == "mono" else self.channels


@dataclass(frozen=True)
class AudioHeader(Signal):
    """The validated keys of a conv-LSTM audio header: the shared signal keys and its own."""

    quality: float
    side_quality: float | None
    chunk_frames: int
    overlap: int
    envelope: envelope.EnvelopeConfig | None = None  # the envelope refinement layer's settings

    def qualities(self) -> list[float]:
        """Quality of each coded channel, in stream order."""
        if self.coding == "mid-side":
            return [self.quality, self.side_quality]
        return [self.quality] * self.coded_channels


def check_signal(h: dict) -> Signal:
    """The shared audio keys; ValueError, KeyError or TypeError when one is invalid."""
    channels = integer(h["channels"], 1, MAX_CHANNELS)
    coding = h["channel_coding"]
    if coding not in CODINGS or (coding == "mono") != (channels == 1) or (coding == "mid-side" and channels != 2):
        raise ValueError
    dc = h["dc_offset"]
    if not isinstance(dc, list) or len(dc) != channels:
        raise ValueError
    frames = integer(h["frames"], 1, 1 << 48)  # the payload bounds it further (each codec's stream checks)
    return Signal(integer(h["sample_rate"], MIN_SAMPLE_RATE, MAX_SAMPLE_RATE), channels, frames, coding,
                  tuple(number(v, -1, 1) for v in dc), tuple(unpack_runs(h.get("silence", []), frames)))


def check_audio_header(h: dict) -> AudioHeader:
    """Validate the audio keys of a header before any byte reaches the entropy decoder."""

    def quality(v) -> float:
        return number(v, 1, 100)

    try:
        sig = check_signal(h)
        side = quality(h["side_quality"]) if sig.coding == "mid-side" else None
        chunk = integer(h["chunking"]["frames"], MIN_CHUNK_FRAMES, MAX_CHUNK_FRAMES)
        overlap = integer(h["chunking"]["overlap"], 0, chunk // 2)
        env = envelope.check_config(h["envelope"]) if "envelope" in h else None
        return AudioHeader(**vars(sig), quality=quality(h["quality"]), side_quality=side, chunk_frames=chunk,
                           overlap=overlap, envelope=env)
    except (KeyError, TypeError, ValueError):
        raise FormatError("the audio header is invalid (rate, channels, length, quality, chunking, silence or envelope); "
                          "the file is damaged") from None


def check_stream_count(h: AudioHeader, model_rate: int, streams) -> None:
    model_frames = output_frames(h.frames, h.sample_rate, model_rate)
    expected = chunk_count(model_frames, h.chunk_frames, h.overlap) * h.coded_channels * (1 if h.envelope is None else 2)
    if len(streams) != expected:
        raise FormatError(f"audio of this length needs {expected} streams, the file has {len(streams)}; it is damaged")
    if any(len(s) < RANS_MIN_BYTES for s in streams):
        raise FormatError("an entropy-coded stream is shorter than any rANS stream can be; the file is damaged")


def check_audio_streams(model, h: AudioHeader, streams) -> list[tuple[int, int]]:
    """The chunk spans of a file whose streams can be what its header says: chunks of whole
    latent frames, and every stream at least as long as its symbols need when each costs its
    table's cheapest code. So no header claims more audio than its payload could carry."""
    hop = model.hop
    if h.chunk_frames % hop or h.overlap % hop:
        raise FormatError(f"chunks of {h.chunk_frames} frames overlapping by {h.overlap} are not whole latent frames "
                          f"of {hop}; the file is damaged")
    check_stream_count(h, model.sample_rate, streams)
    spans = chunk_spans(output_frames(h.frames, h.sample_rate, model.sample_rate), h.chunk_frames, h.overlap)
    bits = cheapest_bits(model.tables)
    per_frame = [float(bits[model.indexes([q], (1, model.config.latent, 1))].sum()) for q in h.qualities()]
    coded, first_env = h.coded_channels, len(spans) * h.coded_channels
    for k, (start, stop) in enumerate(spans):
        for c in range(coded):
            need = min_stream_bytes(-(-(stop - start) // hop) * per_frame[c])
            if len(streams[k * coded + c]) < need:
                raise FormatError(f"latent stream {k * coded + c + 1} has {len(streams[k * coded + c])} bytes, its "
                                  f"{stop - start} frames need at least {need}; the file is damaged")
            if h.envelope is not None:
                env = streams[first_env + k * coded + c]
                if len(env) < envelope.shortest_stream(env, h.envelope.bands * h.envelope.frames(stop - start)):
                    raise FormatError(f"envelope stream {k * coded + c + 1} is too short for its symbols; "
                                      "the file is damaged")
    return spans
