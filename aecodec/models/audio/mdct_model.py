"""The MDCT audio codec's model: the frame layout it was trained for and its learned entropy
tables (codecs/mdct_coding.py says what they code). Everything here is integer or a fixed
setting, so the model runs the same on every device; it holds no float network.

Weights file: ``tables.mdct.*`` (int32 CDFs: the envelope's ``ENV_CONTEXTS`` tables, then the
coefficients' ``coefficient_tables``) and ``tables.mdct.counts`` (float32: the symbol counts they were
built from, so training can add data to them and rebuild the tables).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import torch

from aecodec.codecs.mdct_adaptive import COEF_RANGE, TABLE_PRECISION, Adaptation
from aecodec.codecs.mdct_coding import ENV_CONTEXTS, ENV_RANGE, Bands, Settings, coefficient_tables
from aecodec.entropy.tables import CdfTables, table_bits, table_rows
from aecodec.models.weights import tables_from_tensors, tables_to_tensors

# 19 bands: 200 Hz wide up to 1.6 kHz, then wider (their edges in Hz at 24 kHz, M = 480)
EDGES_HZ = (0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 2000, 2400, 2800, 3200, 4000, 4800, 5600, 6800,
            8000, 9600, 12000)
TILT = 0.6  # steps grow as (f / 1 kHz)^0.6 above 1 kHz, where the ear resolves level less finely
# An envelope symbol costs at least 1/19 bit (a frame of 19 bands at least one bit), so a file
# cannot claim hours of audio in a few bytes (mdct_header.check_mdct_streams); silence that
# costs so little is in the header's silence runs anyway.
ENV_MAX_PROBABILITY = 2 ** (-1 / 19)


def default_bands(sample_rate: int = 24000, frame: int = 480, tilt: float = TILT, low_shift: int = 0) -> Bands:
    """The bands at ``EDGES_HZ``; each band's step grows as (f / 1 kHz)^``tilt`` above 1 kHz, and
    bands centred below 4 kHz add ``low_shift`` 80ths of an octave (negative: finer steps there)."""
    edges = tuple(int(round(f / (sample_rate / 2) * frame)) for f in EDGES_HZ)
    centres = [(a + b) / 2 / frame * (sample_rate / 2) for a, b in zip(edges[:-1], edges[1:])]
    return Bands(edges, tuple(int(round(80 * tilt * np.log2(max(c, 1000.0) / 1000.0))) + (low_shift if c < 4000 else 0)
                              for c in centres))


@dataclass
class MdctConfig:
    sample_rate: int = 24000
    frame: int = 480  # M: coefficients a frame, the hop; the window is 2M
    band_edges: list[int] = field(default_factory=lambda: list(default_bands().edges))
    tilt: list[int] = field(default_factory=lambda: list(default_bands().tilt))
    # The quantiser law (mdct_coding.Settings says what each means) and the noise fill the
    # encoder writes; the defaults are v1's, and a card leaves out what is at its default.
    step_weight: int = 8
    floor_shift: int = 0
    floor_rel: int = 7
    compander: int = 100
    recon: int = 15
    noise_gain: int = 5  # sixteenths
    noise_cap: int = 8  # sixteenths of a step
    low_rate_env_every: int = 2  # low rates send the envelope every this many frames
    # Adaptive coefficient tables (mdct_adaptive.Adaptation): rebuilt every adapt_every frames of a
    # chunk from the trained ones, worth adapt_weight symbols, and the chunk's counts; 0: static.
    adapt_every: int = 0
    adapt_weight: int = 32
    # 1: odd bins are coded after the even ones, with tables that know their even neighbours
    interleave: int = 0

    def __post_init__(self):
        e = self.band_edges
        if (self.frame < 16 or e[0] != 0 or e[-1] != self.frame or len(self.tilt) != len(e) - 1
                or any(b <= a for a, b in zip(e[:-1], e[1:]))):
            raise ValueError("inconsistent MDCT frame, band edges or tilt")
        if not (0 <= self.step_weight <= 16 and -400 <= self.floor_shift <= 400 and 0 <= self.floor_rel <= 14
                and 40 <= self.compander <= 100 and 0 <= self.recon <= 50 and 0 <= self.noise_gain <= 16
                and 0 <= self.noise_cap <= 32 and self.low_rate_env_every in (1, 2)
                and 0 <= self.adapt_every <= 64 and 1 <= self.adapt_weight <= 4096
                and self.interleave in (0, 1) and (self.frame % 2 == 0 or not self.interleave)):
            raise ValueError("MDCT quantiser law out of range")

    def to_dict(self) -> dict:
        d = asdict(self)
        return {f.name: d[f.name] for f in fields(self)
                if f.name in ("sample_rate", "frame", "band_edges", "tilt") or d[f.name] != f.default}


class MdctAudioModel:
    weights_dtype = "int32 entropy tables (and their float32 symbol counts)"
    about = {"task": "compress", "media": "audio",
             "quality": {"min": 1, "max": 100, "method": "quantiser step, 1/16 octave per unit"}}

    def __init__(self, config: MdctConfig, counts: np.ndarray, tables: CdfTables | None = None):
        self.config = config
        self.bands = Bands(tuple(config.band_edges), tuple(config.tilt))
        self.counts = np.asarray(counts, np.float32)
        self.tables = tables_from_counts(self.counts) if tables is None else tables
        self.interleave = bool(config.interleave)
        self.table_count = ENV_CONTEXTS + coefficient_tables(self.interleave)
        self.env_tables, self.coef_tables = (table_rows(self.tables, 0, ENV_CONTEXTS),
                                             table_rows(self.tables, ENV_CONTEXTS, self.table_count))
        self.sample_rate = config.sample_rate
        self.frame = config.frame
        self.adaptation = Adaptation(config.adapt_every, config.adapt_weight) if config.adapt_every else None

    @classmethod
    def from_pretrained(cls, card: dict, tensors: dict[str, torch.Tensor]) -> MdctAudioModel:
        # the stored integer tables are the format; counts only matter to training
        model = cls(MdctConfig(**card["config"]), tensors["tables.mdct.counts"].numpy(), tables_from_tensors("mdct", tensors))
        if model.tables.size != model.table_count:
            raise ValueError(f"{model.tables.size} entropy tables, the codec needs {model.table_count}")
        return model

    def to_tensors(self) -> dict[str, torch.Tensor]:
        tensors = tables_to_tensors("mdct", self.tables)
        tensors["tables.mdct.counts"] = torch.from_numpy(self.counts)
        return tensors

    def settings(self, step: int, low_rate: bool) -> Settings:
        """A channel's settings at step index ``step`` under this model's law; low rates send a
        coarser envelope (4.5 dB), every ``low_rate_env_every`` frames."""
        c = self.config
        return self.with_law(Settings(step, env_step=3 if low_rate else 2,
                                      env_every=c.low_rate_env_every if low_rate else 1,
                                      noise_gain=c.noise_gain, noise_cap=c.noise_cap))

    def with_law(self, s: Settings) -> Settings:
        """A file's settings (from its header) with this model's quantiser law, for decoding."""
        c = self.config
        return replace(s, weight=c.step_weight, floor_shift=c.floor_shift, floor_rel=c.floor_rel,
                       compander=c.compander, recon=c.recon)

    def to(self, device) -> MdctAudioModel:
        return self  # integer tables and numpy: nothing lives on a device

    def table_bits(self) -> np.ndarray:
        """(tables, symbols) float64: what each symbol costs in bits under the trained tables."""
        return table_bits(self.tables)


def empty_counts(config: MdctConfig) -> np.ndarray:
    """(tables, widest alphabet + escape) zeros: envelope tables then coefficient tables."""
    return np.zeros((ENV_CONTEXTS + coefficient_tables(bool(config.interleave)), 2 * ENV_RANGE + 2), np.float32)


def tables_from_counts(counts: np.ndarray) -> CdfTables:
    """Integer CDFs (precision 16) from symbol counts: add-half smoothing, every symbol and the
    escape at least 1/65536, coefficient tables made symmetric (a sign costs one bit), no
    envelope symbol above ``ENV_MAX_PROBABILITY``."""
    rows, lengths, offsets = [], [], []
    for k in range(counts.shape[0]):
        r = ENV_RANGE if k < ENV_CONTEXTS else COEF_RANGE
        c = counts[k, : 2 * r + 2].astype(np.float64) + 0.5
        if k >= ENV_CONTEXTS:
            c[: 2 * r + 1] = (c[: 2 * r + 1] + c[: 2 * r + 1][::-1]) / 2
        pmf = c / c.sum()
        if k < ENV_CONTEXTS and pmf.max() > ENV_MAX_PROBABILITY:
            top = np.argmax(pmf)
            rest = (1 - ENV_MAX_PROBABILITY) / (1 - pmf[top])
            pmf = pmf * rest
            pmf[top] = ENV_MAX_PROBABILITY
        rows.append(quantised_cdf(pmf))
        lengths.append(2 * r + 3)
        offsets.append(-r)
    width = max(lengths)
    cdf = np.zeros((len(rows), width), np.int32)
    for k, row in enumerate(rows):
        cdf[k, : len(row)] = row
        cdf[k, len(row) :] = row[-1]
    return CdfTables(cdf, np.asarray(lengths, np.int32), np.asarray(offsets, np.int32))


def quantised_cdf(pmf: np.ndarray) -> np.ndarray:
    """A pmf -> an integer CDF from 0 to 2^TABLE_PRECISION with every step >= 1 (the largest
    frequency absorbs the rounding)."""
    total = 1 << TABLE_PRECISION
    freq = np.maximum(1, np.floor(pmf * (total - len(pmf))).astype(np.int64))
    freq[np.argmax(freq)] += total - freq.sum()
    return np.concatenate([[0], np.cumsum(freq)]).astype(np.int32)
