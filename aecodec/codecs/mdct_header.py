"""The MDCT audio codec's header keys and stream layout (docs/FORMAT.md, "MDCT audio keys"),
checked before any byte is decoded: no header may ask for more work than its payload could carry."""

from __future__ import annotations

from dataclasses import dataclass

from aecodec.codecs.audio_header import Signal, check_signal, integer
from aecodec.codecs.base import RANS_MIN_BYTES, cheapest_bits, min_stream_bytes
from aecodec.codecs.mdct_coding import ENV_CONTEXTS, FINE, Settings
from aecodec.errors import FormatError
from aecodec.media.mdct import frame_count
from aecodec.media.resample import output_frames

CHUNK_FRAMES = 500  # MDCT frames a stream: 10 s at 24 kHz; what the encoder writes
MIN_CHUNK_FRAMES, MAX_CHUNK_FRAMES = 16, 4096
MIN_STEP, MAX_STEP = -400, 200  # 2^-25 .. 2^12.5: far past what any quality asks
MAX_BANDS = 64


@dataclass(frozen=True)
class MdctHeader(Signal):
    settings: tuple[Settings, ...]  # per coded channel
    chunk_frames: int

    def model_frames(self, model_rate: int) -> int:
        return output_frames(self.frames, self.sample_rate, model_rate)

    def chunks(self, m: int, model_rate: int) -> int:
        return -(-frame_count(self.model_frames(model_rate), m) // self.chunk_frames)

    def chunk_length(self, k: int, m: int, model_rate: int) -> int:
        total = frame_count(self.model_frames(model_rate), m)
        return min(self.chunk_frames, total - k * self.chunk_frames)


def check_mdct_header(h: dict) -> MdctHeader:
    try:
        signal = check_signal(h)
        keys = h["mdct"]
        chunk = integer(keys["chunk_frames"], MIN_CHUNK_FRAMES, MAX_CHUNK_FRAMES)
        channels = keys["channels"]
        if not isinstance(channels, list) or len(channels) != signal.coded_channels:
            raise ValueError
        settings = tuple(Settings(*_global_step(c), env_step=integer(c["env_step"], 2, 3),
                                  env_every=integer(c["env_every"], 1, 2), noise_gain=integer(c["noise_gain"], 0, 16),
                                  noise_cap=integer(c["noise_cap"], 0, 32),
                                  coded_bands=integer(c["coded_bands"], 0, MAX_BANDS),
                                  band_gain=integer(c["band_gain"], 0, 16)) for c in channels)
        return MdctHeader(**vars(signal), settings=settings, chunk_frames=chunk)
    except (KeyError, TypeError, ValueError):
        raise FormatError("the audio header is invalid (rate, channels, length, silence or MDCT settings); "
                          "the file is damaged") from None


def _global_step(c: dict) -> tuple[int, int]:
    """(g, fine) from a channel's ``step`` (16ths of an octave) or ``fine_step`` (80ths): exactly
    one is present. Readers before ``fine_step`` find no ``step`` and refuse the file."""
    if ("step" in c) == ("fine_step" in c):
        raise ValueError
    if "step" in c:
        return integer(c["step"], MIN_STEP, MAX_STEP), 0
    return Settings.split(integer(c["fine_step"], FINE * MIN_STEP, FINE * MAX_STEP))


def settings_keys(s: Settings) -> dict:
    """A channel's header keys: ``step`` when the step is a whole 16th of an octave, else ``fine_step``."""
    step = {"step": s.step} if s.fine == 0 else {"fine_step": s.step80}
    return {**step, "env_step": s.env_step, "env_every": s.env_every, "noise_gain": s.noise_gain,
            "noise_cap": s.noise_cap, "coded_bands": s.coded_bands, "band_gain": s.band_gain}


def stream_count(model_frames: int, m: int, coded: int, chunk_frames: int = CHUNK_FRAMES) -> int:
    return -(-frame_count(model_frames, m) // chunk_frames) * coded


def check_mdct_streams(h: MdctHeader, model, streams) -> None:
    """A stream per chunk and coded channel, each at least as long as its envelope needs when
    every envelope symbol costs its table's cheapest code: so a header cannot claim hours of
    audio for a few bytes. (Called before the chunks are listed: a header may claim years.)"""
    coded = h.coded_channels
    frames = frame_count(h.model_frames(model.sample_rate), model.frame)
    expected = -(-frames // h.chunk_frames) * coded
    if len(streams) != expected:
        raise FormatError(f"audio of this length needs {expected} streams, the file has {len(streams)}; it is damaged")
    if any(len(s) < RANS_MIN_BYTES for s in streams):
        raise FormatError("an entropy-coded stream is shorter than any rANS stream can be; the file is damaged")
    per_band = float(cheapest_bits(model.tables)[:ENV_CONTEXTS].min())
    for i, stream in enumerate(streams):
        k, c = divmod(i, coded)
        length = min(h.chunk_frames, frames - k * h.chunk_frames)
        need = min_stream_bytes(-(-length // h.settings[c].env_every) * model.bands.count * per_band)
        if len(stream) < need:
            raise FormatError(f"stream {i + 1} has {len(stream)} bytes, its {length} frames need at least {need}; "
                              "the file is damaged")
