"""What the MDCT audio codec (format: docs/FORMAT.md, "MDCT audio streams") sends for each chunk
of frames, and how a decoder turns it back into MDCT coefficients.

Per frame of M coefficients:

* **Envelope.** The RMS of each band, as an integer ``e`` in steps of ``env_step`` quarter
  octaves (``env_step`` 2 = 3 dB, 3 = 4.5 dB), never below a floor that follows the step size
  (a band at the floor is silent: nothing is coded or filled there). Every ``env_every``-th frame
  carries it (low rates send every other frame and interpolate the rest), coded as the change
  from the last coded frame (the first frame of a chunk: from the band below).
* **Coefficients.** In every band that is not silent, the coefficients divided by the band's
  step and rounded with a dead zone, as signed integers. The step of band b is
  ``2^((w L + 5 g - f + tilt[b]) / 80)`` with ``L = 4 log2(envelope)`` in quarter octaves, ``g``
  the file's step index (16ths of an octave) and ``f`` its fine step (80ths, 0..4): finer steps
  where the band is loud (the model's weight ``w``, 8 = 0.4 of the level in octaves, as
  perceptual codecs weight the masking energy) and coarser steps at high frequencies (``tilt``,
  from the model card). A model may compand: it rounds ``(|x| / step)^c`` instead of
  ``|x| / step`` (c < 1: finer levels for small coefficients, as MP3 and AAC do).
* **Entropy coding.** Each symbol is rANS-coded with a table chosen by integer contexts the
  decoder knows before it reads the symbol: for the envelope, the band group, the sign of the
  band's previous change and of its neighbours' summed, and how far the band sat above the
  floor (0..3 steps); for a coefficient, how large the band is against its step (24 buckets)
  times how busy the same bin and its neighbours were one frame before (5 classes). The tables
  are trained on speech and music (``aecodec train``; the model card). Everything that picks a
  table is integer arithmetic, so every machine decodes the same symbols.
* **Interleaving** (models whose card sets ``interleave``). Each frame sends its even bins first,
  then its odd bins, whose tables also know how large their two even neighbours in the same
  frame were (4 classes): ``COEF_CONTEXTS`` more tables for each of those classes.
* **Adaptation** (models whose card sets ``adapt_every``). Every ``adapt_every`` frames of a
  chunk, each coefficient table becomes the trained one, worth ``adapt_weight`` symbols, plus
  the counts of the chunk's coefficients coded so far under it (``Adaptation``): the tables
  learn the file as they go, as adaptive arithmetic coders do, in integer arithmetic.

The decoder rebuilds each coefficient at ``(|q| - r)^(1/c) step`` (the model's ``r``: 0.15 for
a linear quantiser) and fills the bins that quantised
to zero with noise (seeded by the chunk and channel, so decoding is repeatable) at the level the
envelope leaves for them, at most ``noise_cap`` steps and scaled by ``noise_gain``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aecodec.codecs.mdct_adaptive import COEF_SYMBOLS, Adaptation, adapted_tables, block_tables, count_coefficients
from aecodec.entropy.tables import CdfTables, stacked, table_rows
from aecodec.errors import FormatError

ENV_RANGE = 20  # envelope changes -20..20 have table entries, larger ones are escaped
LEVEL_BUCKETS = 24  # round(2 log2(envelope / step)) + 8, clipped to 0..23
BUSY_EDGES = (1, 2, 4, 8)  # 2|q[t-1,k]| + |q[t-1,k-1]| + |q[t-1,k+1]| -> 5 classes
BUSY_CLASSES = len(BUSY_EDGES) + 1
ENV_CONTEXTS = 4 * 3 * 3 * 4 + 1  # band group x neighbours' and own previous change x level; + the first frame
COEF_CONTEXTS = LEVEL_BUCKETS * BUSY_CLASSES
NEIGHBOUR_EDGES = (1, 2, 4)  # interleaved: |q[k-1]| + |q[k+1]| of an odd bin's even neighbours -> 4 classes
NEIGHBOUR_CLASSES = len(NEIGHBOUR_EDGES) + 1
NOISE_RMS = float(np.sqrt(7.0 / 12.0))  # RMS of +-(0.5 + 0.5 u), u uniform in [0, 1)
MAX_LOG2_ENVELOPE = 6  # an MDCT of full-scale audio stays below 2^6 (|X| <= sqrt(2M) at M = 960)
FINE = 5  # fine steps (80ths of an octave) a step index (16ths) holds


@dataclass(frozen=True)
class Settings:
    """A file's coding settings (its header's "mdct" keys), and the model's quantiser law (its
    card's config; the defaults are audio-mdct v1's)."""

    step: int  # g: the global step is 2^(g / 16) ...
    fine: int = 0  # ... times 2^(-fine / 80), fine 0..4: --kbps fills its budget between two g
    env_step: int = 2  # quarter octaves
    env_every: int = 1
    noise_gain: int = 5  # sixteenths
    noise_cap: int = 8  # sixteenths of a step
    coded_bands: int = 19  # bands from this one up send no coefficients: noise at the envelope's level
    band_gain: int = 16  # sixteenths: that noise's level against the envelope
    rounding: float = 0.3  # the encoder's dead zone: q = floor(|x| / step + rounding); not in the file
    weight: int = 8  # 80ths of an octave the step moves per quarter octave of envelope
    floor_shift: int = 0  # 80ths of an octave added to the file's step in the silence rule
    floor_rel: int = 7  # octaves the silence floor sits below the level where step = envelope
    compander: int = 100  # hundredths: the exponent c (100: a linear quantiser)
    recon: int = 15  # hundredths: the reconstruction offset r

    @property
    def step80(self) -> int:
        """The global step's exponent in 80ths of an octave."""
        return FINE * self.step - self.fine

    @staticmethod
    def split(step80: int) -> tuple[int, int]:
        """(step, fine) of a global step exponent in 80ths of an octave."""
        g = -(-step80 // FINE)
        return g, FINE * g - step80

    def floor(self) -> int:
        """The envelope integer meaning "silent": max(-14 octaves, the level at which the step
        (with ``floor_shift``) equals the envelope, minus ``floor_rel`` octaves), rounded up.
        For v1's law that is log2(step) / 0.6 - 7."""
        d = 20 - self.weight  # 80ths of an octave the envelope outgrows its step per quarter octave
        return max(-(56 // self.env_step),
                   -((4 * self.floor_rel * d - self.step80 - self.floor_shift) // (d * self.env_step)))

    def ceiling(self) -> int:
        return 4 * MAX_LOG2_ENVELOPE // self.env_step


@dataclass(frozen=True)
class Bands:
    edges: tuple[int, ...]  # bin edges, from 0 to M
    tilt: tuple[int, ...]  # per band, 80ths of an octave added to the step

    @property
    def count(self) -> int:
        return len(self.edges) - 1

    def widths(self) -> np.ndarray:
        return np.diff(np.asarray(self.edges))

    def per_bin(self, values: np.ndarray) -> np.ndarray:
        """(..., bands) -> (..., M): each band's value on each of its bins."""
        return np.repeat(values, self.widths(), axis=-1)


@dataclass
class ChunkSymbols:
    """One chunk of one channel: the envelope integers of every frame (interpolated ones
    included) and the coefficient integers (zero in silent bands)."""

    envelope: np.ndarray  # int64 (frames, bands)
    coefficients: np.ndarray  # int64 (frames, M)


# --- the encoder's side ---------------------------------------------------------------------
def quantise(x: np.ndarray, bands: Bands, s: Settings) -> ChunkSymbols:
    """A chunk's MDCT frames (frames, M) -> its symbols at settings ``s``."""
    energy = np.add.reduceat(x.astype(np.float64) ** 2, np.asarray(bands.edges[:-1]), axis=1)
    rms = np.sqrt(energy / bands.widths() + 1e-30)
    env = np.clip(np.round(np.log2(rms) * 4 / s.env_step), s.floor(), s.ceiling()).astype(np.int64)
    env = interpolate(env[:: s.env_every], env.shape[0], s.env_every)
    step = bands.per_bin(steps(env, bands, s))
    scaled = np.abs(x) / step
    if s.compander != 100:
        scaled = scaled ** (s.compander / 100)
    q = np.floor(scaled + s.rounding).astype(np.int64)
    q = np.where(coded_bins(env, bands, s), np.copysign(q, x).astype(np.int64), 0)
    return ChunkSymbols(env, q)


def coded_bins(env: np.ndarray, bands: Bands, s: Settings) -> np.ndarray:
    """(..., M): bins whose coefficients are sent: in bands above the floor, below ``coded_bands``."""
    return bands.per_bin((env > s.floor()) & (np.arange(bands.count) < s.coded_bands))


def interpolate(coded: np.ndarray, frames: int, every: int) -> np.ndarray:
    """Envelope integers of every frame from those of every ``every``-th: a frame between two
    coded ones takes their mean (rounded up); one after the last coded frame repeats it."""
    if every == 1:
        return coded[:frames]
    env = np.empty((frames, coded.shape[1]), np.int64)
    env[::2] = coded
    after = np.vstack([coded[1:], coded[-1:]])[: frames // 2]  # the coded frame after each odd one
    env[1::2] = (coded[: frames // 2] + after + 1) // 2
    return env


def steps(env: np.ndarray, bands: Bands, s: Settings) -> np.ndarray:
    """(frames, bands) envelope integers -> quantiser steps."""
    log80 = s.weight * env * s.env_step + s.step80 + np.asarray(bands.tilt)
    return np.exp2(log80 / 80.0)


def envelope_levels(env: np.ndarray, s: Settings) -> np.ndarray:
    return np.exp2(env * (s.env_step / 4.0))


def level_buckets(env: np.ndarray, bands: Bands, s: Settings) -> np.ndarray:
    """(frames, bands): round(2 log2(envelope / step)) + 8, clipped, in integers only."""
    v = (20 - s.weight) * env * s.env_step - s.step80 - np.asarray(bands.tilt)  # 80 log2(envelope / step)
    return np.clip((v + 20) // 40 + 8, 0, LEVEL_BUCKETS - 1)


def busy_classes(previous: np.ndarray) -> np.ndarray:
    """(..., M) magnitudes of the previous frame -> the busy class of each bin."""
    a = np.abs(previous)
    m = 2 * a
    m[..., 1:] += a[..., :-1]
    m[..., :-1] += a[..., 1:]
    return np.digitize(m, BUSY_EDGES)


def coded_envelope_frames(frames: int, every: int) -> np.ndarray:
    return np.arange(0, frames, every)


def released_before(t: int, frames: int, every: int) -> int:
    """How many coded envelope frames the decoder has read before frame t's coefficients:
    those at or before t, and the next one when t sits between two (it interpolates from it)."""
    last = min(t + every - 1, frames - 1)
    return last // every + 1


def envelope_symbols(coded: np.ndarray, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(symbols, contexts), both (coded frames, bands): the first frame against the band below
    (band 0 against the floor), the others against the frame before."""
    d = np.empty_like(coded)
    d[0, 0] = coded[0, 0] - s.floor()
    d[0, 1:] = np.diff(coded[0])
    d[1:] = np.diff(coded, axis=0)
    ctx = np.empty_like(coded)
    ctx[0] = ENV_CONTEXTS - 1
    changes = np.vstack([np.zeros((1, coded.shape[1]), np.int64), d[1:-1]])  # the first frame's are not changes
    ctx[1:] = envelope_contexts(changes, coded[:-1], s)
    return d, ctx


def envelope_contexts(change: np.ndarray, level: np.ndarray, s: Settings) -> np.ndarray:
    """Tables of a coded frame's envelope symbols from the frame before: its changes and levels."""
    bands = change.shape[-1]
    group = np.minimum(np.arange(bands) // 5, 3)
    total = change.copy()
    total[..., 1:] += change[..., :-1]
    total[..., :-1] += change[..., 1:]
    around = np.sign(total)
    above = np.clip(level - s.floor(), 0, 3)
    return (((group * 3 + around + 1) * 3 + np.sign(change) + 1) * 4 + above).astype(np.int64)


def coefficient_tables(interleave: bool) -> int:
    """How many coefficient tables a model has."""
    return COEF_CONTEXTS * (1 + NEIGHBOUR_CLASSES) if interleave else COEF_CONTEXTS


def contexts(sym: ChunkSymbols, bands: Bands, s: Settings,
             interleave: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(envelope symbols, their tables: both (coded frames, bands); coefficient tables and
    whether each coefficient is coded: both (frames, M))."""
    env_d, env_ctx = envelope_symbols(sym.envelope[:: s.env_every], s)
    live = coded_bins(sym.envelope, bands, s)
    level = bands.per_bin(level_buckets(sym.envelope, bands, s))
    previous = np.vstack([np.zeros((1, sym.coefficients.shape[1]), np.int64), sym.coefficients[:-1]])
    base = level * BUSY_CLASSES + busy_classes(previous)
    if interleave:
        base[:, 1::2] = odd_tables(base[:, 1::2], sym.coefficients)
    return env_d, env_ctx, ENV_CONTEXTS + base, live


def odd_tables(base: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The odd bins' coefficient tables (0-based) from their first-pass tables ``base`` (..., M/2)
    and the frame's coefficients ``q`` (..., M), whose even bins are decoded."""
    a = np.abs(q)
    around = a[..., 0::2].copy()  # bin k-1 of each odd bin k
    around[..., : a[..., 2::2].shape[-1]] += a[..., 2::2]  # bin k+1, where it exists
    return COEF_CONTEXTS + base * NEIGHBOUR_CLASSES + np.digitize(around, NEIGHBOUR_EDGES)


def stream_order(sym: ChunkSymbols, bands: Bands, s: Settings, tables: CdfTables, adapt: Adaptation | None = None,
                 interleave: bool = False) -> list[tuple[np.ndarray, np.ndarray, CdfTables]]:
    """The chunk's symbols in decoding order with their table indexes, in pieces that share their
    tables (``entropy.tables.encode_pieces``): envelope frames as the decoder needs them, then each
    frame's coefficients (with ``interleave``, its even bins, then its odd ones). One piece with
    the model's ``tables`` (envelope, then coefficients); with ``adapt``, a piece a block of frames,
    with the envelope's tables and the block's coefficient tables (``block_tables``)."""
    frames, m = sym.coefficients.shape
    env_d, env_ctx, coef_ctx, live = contexts(sym, bands, s, interleave)
    if adapt is not None and adapt.every:
        every, env_tables = adapt.every, table_rows(tables, 0, ENV_CONTEXTS)
        trained = table_rows(tables, ENV_CONTEXTS, ENV_CONTEXTS + coefficient_tables(interleave))
        blocks = [stacked([env_tables, b]) for b in block_tables(sym.coefficients, coef_ctx - ENV_CONTEXTS, live,
                                                                  trained, adapt)]
    else:
        every, blocks = max(frames, 1), [tables]
    q = sym.coefficients
    if interleave:  # even bins, then odd ones
        order = np.concatenate([np.arange(0, m, 2), np.arange(1, m, 2)])
        q, coef_ctx, live = q[:, order], coef_ctx[:, order], live[:, order]
    pieces, released = [], 0
    for b, start in enumerate(range(0, max(frames, 1), every)):
        symbols, indexes = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for t in range(start, min(frames, start + every)):
            wanted = released_before(t, frames, s.env_every)
            if wanted > released:
                symbols.append(env_d[released:wanted].ravel())
                indexes.append(env_ctx[released:wanted].ravel())
                released = wanted
            symbols.append(q[t][live[t]])
            indexes.append(coef_ctx[t][live[t]])
        pieces.append((np.concatenate(symbols), np.concatenate(indexes), blocks[b]))
    return pieces


# --- the decoder's side ---------------------------------------------------------------------
def read_chunk(decoder, frames: int, bands: Bands, s: Settings, env_tables: CdfTables,
               coef_tables: CdfTables, adapt: Adaptation | None = None, interleave: bool = False) -> ChunkSymbols:
    """Decode one chunk's symbols from ``decoder`` (a rANS decoder set on the chunk's stream:
    ``entropy.tables.StreamDecoder``), frame by frame, in the order ``stream_order`` wrote them.
    The envelope's and the coefficients' tables come apart (a symbol decodes the same with its
    own table alone), so each read converts only the tables it may use. With ``adapt``, the
    coefficient tables are rebuilt every ``adapt.every`` frames from the counts so far; with
    ``interleave`` each frame's even bins come first, then its odd ones."""
    trained, tables = coef_tables, coef_tables
    every = adapt.every if adapt is not None else 0
    counts = np.zeros((trained.size, COEF_SYMBOLS), np.int64)
    changed = np.zeros(trained.size, bool)
    even = np.arange(bands.edges[-1]) % 2 == 0
    n_coded = len(coded_envelope_frames(frames, s.env_every))
    coded = np.zeros((n_coded, bands.count), np.int64)
    env = np.zeros((frames, bands.count), np.int64)
    q = np.zeros((frames, bands.edges[-1]), np.int64)
    previous_d = np.zeros(bands.count, np.int64)  # the first change has no change before it
    released = 0
    for t in range(frames):
        wanted = released_before(t, frames, s.env_every)
        while released < wanted:
            if released == 0:
                coded[0] = np.cumsum(decoder.read(np.full(bands.count, ENV_CONTEXTS - 1), env_tables)) + s.floor()
            else:
                d = decoder.read(envelope_contexts(previous_d, coded[released - 1], s), env_tables)
                coded[released] = coded[released - 1] + d
                previous_d = d
            released += 1
        env[t] = _frame_envelope(coded, t, frames, s.env_every)
        if env[t].min() < s.floor() or env[t].max() > s.ceiling():
            raise FormatError("an envelope value is out of range; the file is damaged")
        if every and t and t % every == 0:
            tables = adapted_tables(trained, counts, adapt.weight, None if tables is trained else tables, changed)
            changed[:] = False
        live = coded_bins(env[t], bands, s)
        if live.any():
            level = bands.per_bin(level_buckets(env[t], bands, s))
            busy = busy_classes(q[t - 1]) if t else np.zeros_like(level)
            which = level * BUSY_CLASSES + busy
            passes = [live & even, live & ~even] if interleave else [live]
            for k, bins in enumerate(passes):
                if k:  # the odd bins, now that the even ones are known
                    which[1::2] = odd_tables(which[1::2], q[t])
                q[t, bins] = decoder.read(which[bins], tables)
                if every:
                    count_coefficients(counts, which[bins], q[t, bins])
                    changed[which[bins]] = True
    return ChunkSymbols(env, q)


def _frame_envelope(coded: np.ndarray, t: int, frames: int, every: int) -> np.ndarray:
    if every == 1 or t % every == 0:
        return coded[t // every]
    after = t // every + 1
    if after * every >= frames:
        return coded[t // every]
    return (coded[t // every] + coded[after] + 1) // 2


def noise(shape: tuple[int, int], seed: int) -> np.ndarray:
    """+-(0.5 .. 1) noise from a hash of each position and ``seed``: integer arithmetic only, so
    every machine and numpy version makes the same (numpy's generators promise no such thing)."""
    z = np.arange(shape[0] * shape[1], dtype=np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finaliser
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    sign = np.where(z & np.uint64(1), 1.0, -1.0)
    return (sign * (0.5 + (z >> np.uint64(11)).astype(np.float64) * 2.0**-54)).reshape(shape)


def coefficients(sym: ChunkSymbols, bands: Bands, s: Settings, seed: int) -> np.ndarray:
    """The decoded MDCT frames (frames, M), float32: dequantised coefficients, noise in the
    zeros of bands that are not silent."""
    env, q = sym.envelope, sym.coefficients
    step_b = steps(env, bands, s)
    step = bands.per_bin(step_b)
    magnitude = np.maximum(np.abs(q) - s.recon / 100, 0.0)
    if s.compander != 100:
        magnitude = magnitude ** (100 / s.compander)
    y = np.where(q != 0, np.sign(q) * magnitude * step, 0.0)
    starts = np.asarray(bands.edges[:-1])
    zero = (q == 0) & bands.per_bin(env > s.floor())
    n_zero = np.add.reduceat(zero, starts, axis=1)
    target = bands.widths() * envelope_levels(env, s) ** 2 - np.add.reduceat(y * y, starts, axis=1)
    level = np.sqrt(np.maximum(target, 0.0) / np.maximum(n_zero, 1))
    coded = np.arange(bands.count) < s.coded_bands
    level = np.where(coded, np.minimum(level, step_b * (s.noise_cap / 16.0)) * (s.noise_gain / 16.0),
                     level * (s.band_gain / 16.0)) / NOISE_RMS
    y = np.where(zero, noise(q.shape, seed) * bands.per_bin(level), y)
    return y.astype(np.float32)
