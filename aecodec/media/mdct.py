"""The MDCT (modified discrete cosine transform) with a sine window, streamed in blocks.

Frame ``t`` of ``M`` coefficients covers samples ``[(t - 1) M, (t + 1) M)`` of the signal (zeros
outside it), so a signal of ``n`` samples has ``ceil(n / M) + 1`` frames and the inverse
transform, overlap-adding neighbours, gives it back exactly (time-domain aliasing cancellation:
the window is a Princen-Bradley one and the basis orthonormal). Analysis and synthesis both run
block by block, so memory does not grow with the length of the audio.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def basis(m: int) -> np.ndarray:
    """(2M, M) float32: windowed cosines, scaled so that analysis then synthesis is the identity."""
    n = np.arange(2 * m)[:, None]
    k = np.arange(m)[None, :]
    window = np.sin(np.pi * (np.arange(2 * m) + 0.5) / (2 * m))[:, None]
    cosines = np.cos(np.pi / m * (n + 0.5 + m / 2) * (k + 0.5))
    return np.ascontiguousarray((window * cosines * np.sqrt(2.0 / m)).astype(np.float32))


def frame_count(samples: int, m: int) -> int:
    return -(-samples // m) + 1


class Analyser:
    """Samples in (any block sizes), MDCT frames out: ``push`` then ``finish`` give
    ``frame_count(n, M)`` frames in all for ``n`` samples."""

    def __init__(self, m: int):
        self.m = m
        self.buffer = np.zeros(m, np.float32)  # the first frame's zero half
        self.samples = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        self.samples += x.shape[0]
        self.buffer = np.concatenate([self.buffer, x.astype(np.float32, copy=False)])
        return self._frames()

    def finish(self) -> np.ndarray:
        wanted = (frame_count(self.samples, self.m) + 1) * self.m  # padded length the frames span
        emitted = (self.samples + self.m - self.buffer.shape[0]) // self.m  # frames already out
        pad = wanted - self.m * emitted - self.buffer.shape[0]
        self.buffer = np.concatenate([self.buffer, np.zeros(max(pad, 0), np.float32)])
        return self._frames()

    def _frames(self) -> np.ndarray:
        m = self.m
        count = max(0, self.buffer.shape[0] // m - 1)
        if count == 0:
            return np.zeros((0, m), np.float32)
        # contiguous (count, 2M) windows: a strided view would make the matmul ~30x slower
        windows = np.stack([self.buffer[t * m : t * m + 2 * m] for t in range(count)])
        self.buffer = self.buffer[count * m :]
        return windows @ basis(m)


class Synthesiser:
    """MDCT frames in, samples out: each ``push`` returns the samples its frames complete; the
    first M samples (before the signal) are dropped and the output stops after ``samples``."""

    def __init__(self, m: int, samples: int):
        self.m = m
        self.tail = np.zeros(m, np.float32)
        self.skip = m
        self.left = samples

    def push(self, frames: np.ndarray) -> np.ndarray:
        m = self.m
        if frames.shape[0] == 0:
            return np.zeros(0, np.float32)
        pieces = frames.astype(np.float32, copy=False) @ basis(m).T  # (T, 2M)
        out = np.empty(frames.shape[0] * m, np.float32)
        tail = self.tail
        for t in range(frames.shape[0]):
            out[t * m : (t + 1) * m] = tail + pieces[t, :m]
            tail = pieces[t, m:]
        self.tail = tail.copy()
        drop = min(self.skip, out.shape[0])
        self.skip -= drop
        out = out[drop:][: self.left]
        self.left -= out.shape[0]
        return out
