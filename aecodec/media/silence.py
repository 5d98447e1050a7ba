"""Digital silence: runs of frames in which every channel is exactly zero.

A waveform decoder does not reproduce exact zeros: it leaves a faint hiss where the input was
digitally silent (padding, gated recordings, gaps between takes). The hiss is quiet but plainly
wrong, and log-spectral measures such as the mel distance punish it hard, since silence sits at
their floor. So the encoder lists the silent runs (a few bytes a run) and the decoder writes
exact zeros there. Short runs are left to the model: a run must last ``min_run`` frames.
"""

from __future__ import annotations

import numpy as np

MIN_RUN_SECONDS = 0.01  # shorter runs (zero crossings, clicks) are not worth a header entry
MAX_RUNS = 16384  # bounds the header (under 400 kB); the longest runs win when a file has more


def min_run_frames(sample_rate: int) -> int:
    return max(1, round(MIN_RUN_SECONDS * sample_rate))


def zero_runs(silent: np.ndarray, min_run: int) -> np.ndarray:
    """[start, stop) of every run of True at least ``min_run`` long in a 1-D bool array, shape [N, 2]."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2)
    return runs[runs[:, 1] - runs[:, 0] >= min_run]


def silence_mask(x: np.ndarray, min_run: int) -> np.ndarray:
    """Bool mask of the samples of ``x`` [..., L] inside zero runs of at least ``min_run``, per row."""
    flat = x.reshape(-1, x.shape[-1])
    mask = np.zeros(flat.shape, bool)
    for row, samples in zip(mask, flat):
        for start, stop in zero_runs(samples == 0, min_run):
            row[start:stop] = True
    return mask.reshape(x.shape)


class SilenceFinder:
    """Finds the silent runs of a stream of (frames, channels) blocks, in order, in one pass."""

    def __init__(self, min_run: int):
        self.min_run = min_run
        self.runs: list[tuple[int, int]] = []
        self._frames = 0
        self._open: int | None = None  # start of a run that reaches the end of the last block

    def push(self, block: np.ndarray) -> None:
        if not block.shape[0]:
            return
        runs = (zero_runs(~block.any(axis=1), 1) + self._frames).tolist()
        if self._open is not None:
            if runs and runs[0][0] == self._frames:
                runs[0][0] = self._open  # the run the previous block ended in goes on
            else:
                self._close(self._open, self._frames)
        self._open = None
        end = self._frames + block.shape[0]
        if runs and runs[-1][1] == end:
            self._open = runs.pop()[0]  # may go on in the next block
        for start, stop in runs:
            self._close(start, stop)
        self._frames = end

    def finish(self) -> list[tuple[int, int]]:
        """The runs, [start, stop) in frames; at most MAX_RUNS of them (the longest)."""
        if self._open is not None:
            self._close(self._open, self._frames)
            self._open = None
        if len(self.runs) > MAX_RUNS:
            longest = sorted(self.runs, key=lambda r: r[0] - r[1])[:MAX_RUNS]
            self.runs = sorted(longest)
        return self.runs

    def _close(self, start: int, stop: int) -> None:
        if stop - start >= self.min_run:
            self.runs.append((start, stop))


def pack_runs(runs: list[tuple[int, int]]) -> list[int]:
    """Runs -> [gap, length, gap, length, ...], each gap counted from the previous run's end
    (small numbers: a short header)."""
    out, end = [], 0
    for start, stop in runs:
        out += [start - end, stop - start]
        end = stop
    return out


def unpack_runs(flat: list, frames: int) -> list[tuple[int, int]]:
    """The inverse of ``pack_runs``. Raises ValueError unless the runs are non-empty, ordered,
    disjoint and inside ``frames``."""
    if not isinstance(flat, list) or len(flat) % 2 or len(flat) > 2 * MAX_RUNS:
        raise ValueError("silence runs must be a list of [gap, length] pairs")
    runs, end = [], 0
    for gap, length in zip(flat[::2], flat[1::2]):
        if type(gap) is not int or type(length) is not int or gap < 0 or length < 1:
            raise ValueError("silence runs hold non-negative gaps and positive lengths")
        start = end + gap
        end = start + length
        if end > frames:
            raise ValueError("a silence run ends after the audio")
        runs.append((start, end))
    return runs


class SilenceWriter:
    """Zeroes the silent runs in consecutive decoded (frames, channels) blocks."""

    def __init__(self, runs: list[tuple[int, int]]):
        self.runs, self._next, self._frames = runs, 0, 0

    def apply(self, block: np.ndarray) -> np.ndarray:
        lo, hi = self._frames, self._frames + block.shape[0]
        self._frames = hi
        while self._next < len(self.runs) and self.runs[self._next][1] <= lo:
            self._next += 1
        k = self._next
        if k < len(self.runs) and self.runs[k][0] < hi:
            block = block.copy()
        while k < len(self.runs) and self.runs[k][0] < hi:
            start, stop = self.runs[k]
            block[max(start, lo) - lo : min(stop, hi) - lo] = 0
            k += 1
        return block
