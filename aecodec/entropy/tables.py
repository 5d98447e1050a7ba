"""Integer CDF tables and the rANS encode/decode of symbol arrays against them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aecodec.entropy.ans import ans_module
from aecodec.errors import FormatError


@dataclass(frozen=True)
class CdfTables:
    """``cdf[k, :cdf_length[k]]`` is the quantised CDF of table k over symbols from ``offset[k]``."""

    cdf: np.ndarray  # int32 [K, L]
    cdf_length: np.ndarray  # int32 [K]
    offset: np.ndarray  # int32 [K]

    def __post_init__(self):
        k = self.cdf.shape[0]
        if self.cdf.ndim != 2 or self.cdf_length.shape != (k,) or self.offset.shape != (k,):
            raise ValueError("inconsistent CDF table shapes")

    @property
    def size(self) -> int:
        return int(self.cdf.shape[0])

    def _lists(self):
        # rANS wants python lists; cache them since tables are reused for every file
        lists = getattr(self, "_cached", None)
        if lists is None:
            rows = [row[:n].tolist() for row, n in zip(self.cdf, self.cdf_length)]
            lists = (rows, self.cdf_length.tolist(), self.offset.tolist())
            object.__setattr__(self, "_cached", lists)
        return lists


def table_rows(tables: CdfTables, start: int, stop: int) -> CdfTables:
    return CdfTables(tables.cdf[start:stop], tables.cdf_length[start:stop], tables.offset[start:stop])


def stacked(parts: list[CdfTables]) -> CdfTables:
    """The tables of ``parts`` one after the other (their converted rows too)."""
    out = CdfTables(np.concatenate([p.cdf for p in parts]), np.concatenate([p.cdf_length for p in parts]),
                    np.concatenate([p.offset for p in parts]))
    lists = [p._lists() for p in parts]
    object.__setattr__(out, "_cached", tuple(sum((part[k] for part in lists), []) for k in range(3)))
    return out


def escape_columns(symbols: np.ndarray, span: int) -> np.ndarray:
    """Each symbol's column in a table over -span..span with the escape slot last (2 span + 1),
    where symbols outside the span go, as CompressAI escapes them."""
    return np.where(np.abs(symbols) <= span, symbols + span, 2 * span + 1)


def table_bits(tables: CdfTables, precision: int = 16) -> np.ndarray:
    """(tables, symbols) float64: what each symbol costs in bits (NaN past a table's end)."""
    freq = np.diff(tables.cdf.astype(np.float64), axis=1)
    with np.errstate(divide="ignore"):
        return precision - np.log2(np.where(freq > 0, freq, np.nan))


def geometric_tables(ratios: tuple[int, ...], span: int, precision: int = 16) -> CdfTables:
    """One two-sided geometric (discrete Laplacian) pmf per ratio (its decay per unit, over 256)
    over -span..span, plus the escape slot, as integer CDFs of ``precision`` bits. Integer
    arithmetic only, so every machine builds the same tables."""
    total = 1 << precision
    cdfs = []
    for ratio in ratios:
        weights = [1 << 20]
        for _ in range(span):
            weights.append(max(1, weights[-1] * ratio // 256))
        pmf = weights[:0:-1] + weights + [1]  # -span..span, then the escape slot
        scale = sum(pmf)
        counts = [max(1, w * (total - len(pmf)) // scale) for w in pmf]
        counts[span] += total - sum(counts)  # the rounding remainder goes to symbol 0
        cdfs.append(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    n = len(cdfs[0])
    return CdfTables(np.stack(cdfs), np.full(len(cdfs), n, np.int32), np.full(len(cdfs), -span, np.int32))


# compressai's encoder sizes its output buffer at one 32-bit word a symbol and then flushes two:
# a stream of fewer than 4 symbols can overflow it (heap corruption, seen with one symbol). From
# 4 up it cannot: no symbol costs more than 16 bits, so n symbols emit at most n / 2 + 2 words.
MIN_SYMBOLS = 4


def encode(symbols: np.ndarray, indexes: np.ndarray, tables: CdfTables) -> bytes:
    """rANS-code int symbols, each with the table named by its index (out-of-range: bypass).
    A stream of fewer than MIN_SYMBOLS gets zeros coded with table 0 after its own symbols, up
    to that count; rANS decodes in the order the symbols were given, so decoders never read them."""
    symbols, indexes = symbols.reshape(-1).astype(np.int32), indexes.reshape(-1).astype(np.int32)
    pad = np.zeros(max(0, MIN_SYMBOLS - symbols.size), np.int32)
    cdfs, lengths, offsets = tables._lists()
    enc = ans_module().RansEncoder()
    return enc.encode_with_indexes(
        np.concatenate([symbols, pad]).tolist(), np.concatenate([indexes, pad]).tolist(), cdfs, lengths, offsets)


def encode_pieces(pieces: list[tuple[np.ndarray, np.ndarray, CdfTables]]) -> bytes:
    """:func:`encode` of the pieces' symbols one after the other, each piece with its own tables
    (so a coder whose tables change along the stream converts each set once, not one stack of
    all of them): the same bytes as one call with the tables stacked, when every piece's table 0
    is the stack's (short streams are padded as :func:`encode` pads them, with the last piece's
    table 0)."""
    enc = ans_module().BufferedRansEncoder()
    count = 0
    for k, (symbols, indexes, tables) in enumerate(pieces):
        symbols, indexes = symbols.reshape(-1).astype(np.int32), indexes.reshape(-1).astype(np.int32)
        count += symbols.size
        if k == len(pieces) - 1 and count < MIN_SYMBOLS:
            pad = np.zeros(MIN_SYMBOLS - count, np.int32)
            symbols, indexes = np.concatenate([symbols, pad]), np.concatenate([indexes, pad])
        cdfs, lengths, offsets = tables._lists()
        enc.encode_with_indexes(symbols.tolist(), indexes.tolist(), cdfs, lengths, offsets)
    return enc.flush()


def decode(data: bytes, indexes: np.ndarray, tables: CdfTables) -> np.ndarray:
    """Inverse of :func:`encode`; ``indexes`` fixes how many symbols and which tables."""
    idx = indexes.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= tables.size):
        raise FormatError("damaged stream: CDF index out of range; re-encode the file")
    cdfs, lengths, offsets = tables._lists()
    # The C++ decoder reads without bounds checks. Past the real data a zero stream costs at
    # most 16 bits a symbol, and bypass runs inside the data can ask for at most 15x its
    # length again; padding that much with zeros means a crafted stream (valid CRC, wrong
    # content) only ever reads zeros, never foreign memory.
    padded = bytes(data) + bytes(16 * len(data) + 2 * idx.size + 64)
    dec = ans_module().RansDecoder()
    out = dec.decode_with_indexes(padded, idx.astype(np.int32).tolist(), cdfs, lengths, offsets)
    return np.asarray(out, dtype=np.int32).reshape(indexes.shape)


class StreamDecoder:
    """Reads one rANS stream in pieces, for coders whose next tables depend on the symbols just
    read. ``max_symbols`` bounds how many it may read: the stream is padded for that many, as
    ``decode`` pads for its count."""

    def __init__(self, data: bytes, max_symbols: int):
        self.left = max_symbols
        self.decoder = ans_module().RansDecoder()
        self.decoder.set_stream(bytes(data) + bytes(16 * len(data) + 2 * max_symbols + 64))

    def read(self, indexes: np.ndarray, tables: CdfTables) -> np.ndarray:
        idx = np.asarray(indexes).reshape(-1)
        if idx.size > self.left:
            raise FormatError("damaged stream: more symbols than the file can hold; re-encode the file")
        if idx.size and (idx.min() < 0 or idx.max() >= tables.size):
            raise FormatError("damaged stream: CDF index out of range; re-encode the file")
        self.left -= idx.size
        cdfs, lengths, offsets = tables._lists()
        out = self.decoder.decode_stream(idx.astype(np.int32).tolist(), cdfs, lengths, offsets)
        return np.asarray(out, dtype=np.int64)
