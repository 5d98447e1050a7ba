"""Envelope refinement: a parametric layer on top of the learned audio codec's waveform.

The learned decoder gets the spectral envelope of its output wrong in ways more latent bits do
not fix (its mel distance barely moves between its lowest and highest rate). Envelope refinement
measures, per chunk and coded channel, the energy of the input and of the decoded waveform in
``bands`` mel bands every ``hop`` samples, sends the log ratio quantised with a step (the quality
knob: smaller steps, more bits, a closer envelope) and the decoder multiplies its STFT by the
interpolated gains. The idea is old (spectral band replication in HE-AAC codes envelopes the
same way); here it corrects a learned decoder instead of replicating bands.

Symbols are the per-band differences of the quantised log ratio along time (first frame against
zero), rANS-coded with one of the eight two-sided geometric tables (``RATIOS``), the one that codes the
stream shortest; the stream's first byte names it. The tables are built with integer arithmetic
only, so every machine builds the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from aecodec.codecs.base import cheapest_bits, min_stream_bytes
from aecodec.entropy.tables import CdfTables, decode, encode, geometric_tables
from aecodec.errors import FormatError

PRECISION = 16
RANGE = 30  # symbols -RANGE..RANGE have table entries; larger ones are escaped (bypass coded)
RATIOS = (40, 80, 120, 160, 192, 216, 232, 244)  # geometric decay per unit, over 256
MAX_LOG_RATIO = 4.0  # +-80 dB: silence against hiss stays bounded
FLOOR = 1e-10  # band energy floor (digital silence)
# The settings a decoder accepts (docs/FORMAT.md, "Limits"): the ladder below with room to grow.
# hop >= n_fft / 4 keeps the STFT at most ~2 values a sample (memory and work stay those of the
# waveform); hop <= n_fft / 2 makes Hann windows overlap everywhere, so the inverse STFT exists.
N_FFTS = (256, 512, 1024, 2048, 4096)
MIN_BANDS, MAX_BANDS = 4, 128  # and at most n_fft / 16, so every mel band covers STFT bins
MIN_STEP, MAX_STEP = 0.05, 2.0  # the ladder uses 0.25 to 1


@dataclass(frozen=True)
class EnvelopeConfig:
    n_fft: int = 1024
    hop: int = 480
    bands: int = 24
    step: float = 0.5  # quantisation step of log10 amplitude ratios (0.5 = 10 dB)

    def frames(self, samples: int) -> int:
        return samples // self.hop + 1  # centred STFT frames

    def to_dict(self) -> dict:
        return {"n_fft": self.n_fft, "hop": self.hop, "bands": self.bands, "step": self.step}


# The encoder's ladder (not part of the format: files carry their settings): (n_fft, hop, bands)
# rungs, and a step that shrinks geometrically from 20 dB at quality 1 to 5 dB at quality 100.
# On the dev speech clips this spans about +0.5 to +9 kbit/s.
RUNGS = ((2048, 960, 16), (1024, 480, 24), (1024, 480, 32), (1024, 480, 48), (1024, 480, 64))


def check_config(e: dict) -> EnvelopeConfig:
    """A header's "envelope" settings; ValueError (or KeyError, TypeError) unless a decoder accepts them."""
    n_fft, hop, bands, step = e["n_fft"], e["hop"], e["bands"], e["step"]
    if not all(type(v) is int for v in (n_fft, hop, bands)) or type(step) not in (int, float):
        raise TypeError
    if (n_fft not in N_FFTS or not n_fft // 4 <= hop <= n_fft // 2 or not MIN_STEP <= step <= MAX_STEP
            or not MIN_BANDS <= bands <= min(MAX_BANDS, n_fft // 16)):
        raise ValueError
    return EnvelopeConfig(n_fft, hop, bands, float(step))


def shortest_stream(data: bytes, symbols: int) -> int:
    """The fewest bytes a stream can be that codes ``symbols`` with the table it names (its
    first byte): every symbol costs at least that table's cheapest code."""
    if not data or data[0] >= len(RATIOS):
        raise FormatError("an envelope stream names no known table; the file is damaged")
    return 1 + min_stream_bytes(symbols * _cheapest()[data[0]])


@lru_cache(maxsize=1)
def _cheapest() -> tuple[float, ...]:
    return tuple(float(b) for b in cheapest_bits(tables()))


def config_for(quality: float) -> tuple[int, EnvelopeConfig]:
    """(rung index, settings) of a quality 1..100."""
    t = (quality - 1) / 99
    rung = min(len(RUNGS) - 1, int(t * len(RUNGS)))
    n_fft, hop, bands = RUNGS[rung]
    return rung, EnvelopeConfig(n_fft, hop, bands, round(0.25**t, 4))


def rung_ratios(x: np.ndarray, x_hat: np.ndarray, sample_rate: int) -> list[np.ndarray]:
    """``log_ratios`` at every rung of the ladder, each STFT computed once."""
    spectra = {}
    out = []
    for n_fft, hop, bands in RUNGS:
        cfg = EnvelopeConfig(n_fft, hop, bands)
        if (n_fft, hop) not in spectra:
            spectra[n_fft, hop] = [_stft(s, cfg).abs().numpy() ** 2 for s in (x, x_hat)]
        out.append(_ratios(*spectra[n_fft, hop], cfg, sample_rate))
    return out


@lru_cache(maxsize=None)
def tables() -> CdfTables:
    """Two-sided geometric pmfs over -RANGE..RANGE (plus the escape slot), integer-exact."""
    return geometric_tables(RATIOS, RANGE, PRECISION)


@lru_cache(maxsize=8)
def _spread(n_fft: int, bands: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(band filters [F, B], bin <- band interpolation [F, B]) for mel bands over 0..Nyquist."""
    import torchaudio

    fb = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, bands, sample_rate,
                                               norm=None, mel_scale="htk").numpy().astype(np.float64)
    sums = fb.sum(1, keepdims=True)
    spread = np.divide(fb, sums, out=np.zeros_like(fb), where=sums > 0)
    covered = np.flatnonzero(sums[:, 0] > 0)
    for f in np.flatnonzero(sums[:, 0] == 0):  # DC and Nyquist: the nearest covered bin's bands
        spread[f] = spread[covered[np.abs(covered - f).argmin()]]
    return fb.astype(np.float32), spread.astype(np.float32)


def _stft(x: np.ndarray, cfg: EnvelopeConfig):
    import torch

    window = torch.hann_window(cfg.n_fft)
    return torch.stft(torch.from_numpy(np.ascontiguousarray(x, np.float32)), cfg.n_fft, cfg.hop, window=window,
                      return_complex=True, pad_mode="constant")


def log_ratios(x: np.ndarray, x_hat: np.ndarray, cfg: EnvelopeConfig, sample_rate: int) -> np.ndarray:
    """log10 of the band amplitude ratio input / decoded, float32 [bands, frames]."""
    return _ratios(*(_stft(s, cfg).abs().numpy() ** 2 for s in (x, x_hat)), cfg, sample_rate)


def _ratios(power: np.ndarray, power_hat: np.ndarray, cfg: EnvelopeConfig, sample_rate: int) -> np.ndarray:
    fb, _ = _spread(cfg.n_fft, cfg.bands, sample_rate)
    ratio = 0.5 * np.log10((fb.T @ power + FLOOR) / (fb.T @ power_hat + FLOOR))
    return np.clip(ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO).astype(np.float32)


def quantise(ratios: np.ndarray, step: float) -> np.ndarray:
    """Time differences of the quantised ratios, int32 [bands, frames]."""
    levels = np.round(ratios / step).astype(np.int32)
    return np.diff(levels, axis=1, prepend=np.zeros((levels.shape[0], 1), np.int32))


def apply(x_hat: np.ndarray, symbols: np.ndarray, cfg: EnvelopeConfig, sample_rate: int) -> np.ndarray:
    """The decoded waveform [L] with its band gains corrected by ``symbols`` [bands, frames]."""
    import torch

    _, spread = _spread(cfg.n_fft, cfg.bands, sample_rate)
    levels = np.cumsum(symbols, axis=1, dtype=np.int64).astype(np.float32) * np.float32(cfg.step)
    bound = MAX_LOG_RATIO + cfg.step  # what an encoder can send; a damaged stream gets no further
    gains = np.power(np.float32(10.0), spread @ np.clip(levels, -bound, bound), dtype=np.float32)
    spec = _stft(x_hat, cfg) * torch.from_numpy(gains)
    out = torch.istft(spec, cfg.n_fft, cfg.hop, window=torch.hann_window(cfg.n_fft), length=x_hat.shape[0])
    return out.numpy()


def encode_symbols(symbols: np.ndarray) -> bytes:
    """One stream: the id of the table that codes ``symbols`` shortest, then the rANS code."""
    t = tables()
    clipped = np.clip(symbols.reshape(-1), -RANGE, RANGE) + RANGE
    probs = np.diff(t.cdf, axis=1)[:, clipped].astype(np.float64)  # escapes are priced as the edge
    best = int(np.argmin(-np.log2(probs).sum(axis=1)))
    return bytes([best]) + encode(symbols, np.full(symbols.shape, best, np.int32), t)


def decode_symbols(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    if not data or data[0] >= len(RATIOS):
        raise FormatError("an envelope stream names no known table; the file is damaged")
    symbols = decode(data[1:], np.full(shape, data[0], np.int32), tables())
    if np.abs(symbols).max(initial=0) > 1 << 12:
        raise FormatError("an envelope stream decodes to impossible values; the file is damaged")
    return symbols
