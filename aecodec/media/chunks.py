"""Cutting a long signal into overlapping chunks and joining decoded chunks without clicks.

Pure functions of lengths plus two small stream helpers, so that encoder and decoder agree on
the chunking from the header alone (docs/FORMAT.md, "Audio codec keys").
"""

from __future__ import annotations

import numpy as np


def chunk_spans(frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """[start, stop) of every chunk: starts every chunk - overlap samples, the last one ends at
    ``frames`` and is longer than ``overlap``. One chunk when ``frames <= chunk``."""
    step = chunk - overlap
    return [(k * step, min(k * step + chunk, frames)) for k in range(chunk_count(frames, chunk, overlap))]


def chunk_count(frames: int, chunk: int, overlap: int) -> int:
    return 1 if frames <= chunk else 1 + -(-(frames - chunk) // (chunk - overlap))


class Chunker:
    """Cuts a stream of (frames, channels) blocks into the overlapping ``spans``."""

    def __init__(self, spans: list[tuple[int, int]], channels: int):
        self.spans, self.next = spans, 0
        self._buf, self._start = np.zeros((0, channels), np.float32), 0

    def push(self, block: np.ndarray) -> list[np.ndarray]:
        self._buf = np.concatenate([self._buf, block])
        out = []
        while self.next < len(self.spans) and self._start + self._buf.shape[0] >= self.spans[self.next][1]:
            start, stop = self.spans[self.next]
            out.append(self._buf[start - self._start : stop - self._start])
            self.next += 1
            if self.next < len(self.spans):
                drop = self.spans[self.next][0] - self._start
                self._buf, self._start = self._buf[drop:], self._start + drop
        return out


class Crossfader:
    """Joins decoded chunks: each overlap fades the earlier chunk out and the later one in.

    The fades are sin^2 and cos^2, which sum to one, so a signal decoded identically by both
    chunks passes unchanged and a mismatch becomes a smooth transition instead of a click.
    """

    def __init__(self, overlap: int, channels: int):
        self.overlap, self.tail = overlap, None
        self.fade_in = (np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / max(1, overlap)) ** 2)[:, None].astype(np.float32)

    def push(self, x: np.ndarray, last: bool) -> np.ndarray:
        """One chunk in, the samples that are final out (all of them for the last chunk)."""
        o = self.overlap
        if self.tail is not None:
            x = x.copy()
            x[:o] = self.tail * (1 - self.fade_in) + x[:o] * self.fade_in
        if last or o == 0:
            self.tail = None
            return x
        self.tail = x[-o:]
        return x[:-o]
