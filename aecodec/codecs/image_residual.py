"""The fidelity layer of image qualities above 95: the pixel residual of the learned decode,
quantised with an odd step and context-coded, so the top qualities reach high PSNR and quality 100
keeps every sample within 3 of the original.

The learned model's curve flattens near 39 dB: its capacity, not its rate, stops it. Above quality
95 the encoder decodes its own file, quantises the difference to the original with an odd step
(``residual_step``: 15 at quality 96 down to 7 at 100; an error is at most (step - 1) / 2) and
codes the symbols plane by plane, row by row. Each symbol's table is picked by a context of
symbols decoded before it (the three above it and the same pixel of the previous plane), so a
whole row decodes at once; for every plane and context the encoder names, in the header, the
two-sided geometric table that codes those symbols shortest. Only integers pick tables, so the
layer decodes the same everywhere; the learned base under it is the float decoder's, as at every
quality. Coding a lossy decode's residual is old (Mentzer et al., CVPR 2020, code it losslessly);
here it stops at a chosen step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from aecodec.codecs.base import cheapest_bits, min_stream_bytes
from aecodec.entropy.tables import CdfTables, StreamDecoder, encode, geometric_tables
from aecodec.errors import FormatError

TOP_BASE_QUALITY = 95  # qualities above it carry the layer; at or below it files are as before
CONTEXTS = 16
SPAN = 64  # symbols beyond +-SPAN are escaped (bypass coded)
# Decay per unit of the tables, over 256: P(0) from 0.97 (ratio 4) down to 0.004.
RATIOS = (4, 12, 24, 40, 56, 72, 88, 104, 120, 136, 152, 166, 180, 192, 203, 213, 222, 229, 235, 240,
          244, 247, 250, 252, 254)
ESCAPE_BITS = 12  # what the table choice charges a bypass-coded symbol beyond its escape slot


def residual_step(quality: float) -> int | None:
    """The quantiser step at ``quality`` (None: no layer): 7 at 100, 2 more for each quality
    point below, so PSNR and rate rise with quality."""
    if quality <= TOP_BASE_QUALITY:
        return None
    return 7 + 2 * math.ceil(100 - quality)


@lru_cache(maxsize=1)
def tables() -> CdfTables:
    return geometric_tables(RATIOS, SPAN)


def bands(height: int, width: int, max_symbols: int) -> list[tuple[int, int]]:
    """(first, end) rows of each stream of a plane: as many whole rows as fit ``max_symbols``
    (at least one; bounds the rANS coder's lists)."""
    rows = max(1, max_symbols // width)
    return [(first, min(first + rows, height)) for first in range(0, height, rows)]


def stream_count(planes: int, height: int, width: int, max_symbols: int) -> int:
    return planes * len(bands(height, width, max_symbols))


def quantise(original: np.ndarray, decoded: np.ndarray, step: int) -> np.ndarray:
    """(planes, height, width) int16 symbols of ``original - decoded`` (both height x width x
    planes uint8), rounded to multiples of the odd ``step`` (no ties)."""
    symbols = np.empty((original.shape[2],) + original.shape[:2], np.int16)
    for plane in range(original.shape[2]):
        residual = original[:, :, plane].astype(np.int16) - decoded[:, :, plane]
        symbols[plane] = np.floor_divide(residual + step // 2, step)
    return symbols


def reconstruct(decoded: np.ndarray, symbols: np.ndarray, step: int) -> np.ndarray:
    """The decoded base plus the dequantised residual, clipped to 8 bits (height x width x planes)."""
    out = np.empty_like(decoded)
    for plane in range(symbols.shape[0]):
        residual = np.clip(symbols[plane], -256, 256).astype(np.int32) * step  # |s| > 255 changes nothing
        out[:, :, plane] = np.clip(decoded[:, :, plane] + residual, 0, 255)
    return out


def contexts(above: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Each symbol's context from |s| of the three symbols above it (zeros past the edges and on
    the first row) plus twice the same pixel's |s| in the previous plane, capped. ``above`` and
    ``previous`` are rows, or whole planes shifted so that row r holds what row r of the output
    needs."""
    a = np.minimum(np.abs(above.astype(np.int32)), CONTEXTS).astype(np.int8)
    c = a.copy()
    c[..., 1:] += a[..., :-1]
    c[..., :-1] += a[..., 1:]
    if previous is not None:
        c += 2 * np.minimum(np.abs(previous.astype(np.int32)), CONTEXTS).astype(np.int8)
    return np.minimum(c, CONTEXTS - 1)


def band_contexts(symbols: np.ndarray, plane: int, first: int, end: int) -> np.ndarray:
    """``contexts`` of rows first..end of a plane at once (the encoder knows every symbol)."""
    above = np.zeros_like(symbols[plane, first:end])
    above[1:] = symbols[plane, first : end - 1]
    if first:
        above[0] = symbols[plane, first - 1]
    return contexts(above, symbols[plane - 1, first:end] if plane else None)


def choose_tables(symbols: np.ndarray, max_symbols: int) -> np.ndarray:
    """(planes, CONTEXTS) int: for each plane and context, the table that codes its symbols in the
    fewest bits (escapes priced at ESCAPE_BITS more; unused contexts get table 0)."""
    t = tables()
    freq = np.diff(t.cdf.astype(np.float64), axis=1)[:, : 2 * SPAN + 2]
    cost = np.log2(65536.0) - np.log2(freq)  # (tables, symbols and the escape)
    cost[:, -1] += ESCAPE_BITS
    planes, height, width = symbols.shape
    choice = np.zeros((planes, CONTEXTS), np.int64)
    for plane in range(planes):
        hist = np.zeros(CONTEXTS * (2 * SPAN + 2), np.int64)
        for first, end in bands(height, width, max_symbols):
            slot = symbols[plane, first:end].astype(np.int32) + SPAN
            slot[(slot < 0) | (slot > 2 * SPAN)] = 2 * SPAN + 1  # the escape
            ctx = band_contexts(symbols, plane, first, end).astype(np.int32)
            hist += np.bincount((ctx * (2 * SPAN + 2) + slot).ravel(), minlength=hist.size)
        choice[plane] = np.argmin(hist.reshape(CONTEXTS, -1) @ cost.T, axis=1)
    return choice


def encode_planes(symbols: np.ndarray, choice: np.ndarray, max_symbols: int) -> list[bytes]:
    """The streams: each plane in ``bands`` of rows, in order."""
    planes, height, width = symbols.shape
    streams = []
    for plane in range(planes):
        for first, end in bands(height, width, max_symbols):
            idx = choice[plane][band_contexts(symbols, plane, first, end)]
            streams.append(encode(symbols[plane, first:end], idx, tables()))
    return streams


def decode_planes(streams: list[bytes], choice: np.ndarray, height: int, width: int, max_symbols: int,
                  tick: Callable[[], None] | None = None) -> np.ndarray:
    """Inverse of ``encode_planes``: (planes, height, width) int16, a row at a time (``tick``, if
    given, is called after each stream). Symbols are clipped to +-256: a crafted stream's larger
    ones would change neither a pixel nor a context."""
    planes = choice.shape[0]
    symbols = np.zeros((planes, height, width), np.int16)
    zeros = np.zeros(width, np.int16)
    streams = iter(streams)
    for plane in range(planes):
        for first, end in bands(height, width, max_symbols):
            reader = StreamDecoder(next(streams), (end - first) * width)
            for r in range(first, end):
                ctx = contexts(symbols[plane, r - 1] if r else zeros, symbols[plane - 1, r] if plane else None)
                symbols[plane, r] = np.clip(reader.read(choice[plane][ctx], tables()), -256, 256)
            if tick is not None:
                tick()
    return symbols


def check_header(layer, planes: int) -> tuple[int, np.ndarray]:
    """(step, table choice) of a header's ``residual`` value, or FormatError."""
    try:
        step, choice = layer["step"], layer["tables"]
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 255 or step % 2 == 0:
            raise ValueError
        if not isinstance(choice, list) or len(choice) != planes:
            raise ValueError
        for row in choice:
            if not isinstance(row, list) or len(row) != CONTEXTS:
                raise ValueError
            if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(RATIOS) for v in row):
                raise ValueError
    except (KeyError, TypeError, ValueError):
        raise FormatError("the image header's residual layer is invalid (step or tables); the file is damaged") from None
    return step, np.asarray(choice, np.int64)


def check_streams(streams: list[bytes], choice: np.ndarray, height: int, width: int, max_symbols: int) -> None:
    """Refuse residual streams too short for the symbols the geometry implies, before decoding."""
    cheapest = cheapest_bits(tables())
    streams = iter(streams)
    for plane in range(choice.shape[0]):
        bits = float(cheapest[choice[plane]].min())
        for first, end in bands(height, width, max_symbols):
            stream = next(streams)
            need = min_stream_bytes((end - first) * width * bits)
            if len(stream) < need:
                raise FormatError(f"a residual stream has {len(stream)} bytes, its symbols need at least {need}; "
                                  "the file is damaged")
