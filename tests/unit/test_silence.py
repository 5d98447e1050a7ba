"""Finding runs of digital silence in streamed blocks, packing them for the header, zeroing them on decode."""

from __future__ import annotations

import numpy as np
import pytest

from aecodec.media import silence
from aecodec.media.silence import SilenceFinder, SilenceWriter, pack_runs, silence_mask, unpack_runs, zero_runs


def gappy(rng, frames: int, channels: int) -> np.ndarray:
    """Noise with zero runs of random lengths, some in one channel only."""
    x = rng.uniform(-1, 1, (frames, channels)).astype(np.float32)
    for _ in range(20):
        start, length = rng.integers(frames), rng.integers(1, 400)
        cols = slice(None) if rng.random() < 0.8 else slice(0, 1)
        x[start : start + length, cols] = 0
    return x


def test_zero_runs_keeps_runs_of_the_minimum_length():
    silent = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1], bool)
    assert zero_runs(silent, 1).tolist() == [[0, 2], [3, 6], [8, 9]]
    assert zero_runs(silent, 3).tolist() == [[3, 6]]
    x = np.array([[0, 0, 0, 1, 0], [1, 0, 0, 0, 0]], np.float32)
    assert silence_mask(x, 3).tolist() == [[True, True, True, False, False], [False, True, True, True, True]]


@pytest.mark.parametrize("seed", range(5))
def test_streamed_runs_match_the_whole_signal_whatever_the_blocks(seed):
    rng = np.random.default_rng(seed)
    x = gappy(rng, 20000, 2)
    expected = [tuple(r) for r in zero_runs(~x.any(axis=1), 50).tolist()]
    finder = SilenceFinder(50)
    cuts = np.sort(rng.integers(0, len(x), 30))
    for block in np.split(x, cuts):  # some blocks are empty, some end inside a run
        finder.push(block)
    assert finder.finish() == expected and expected


def test_a_run_to_the_end_and_across_blocks_is_one_run():
    finder = SilenceFinder(4)
    for block in (np.ones((3, 1)), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros((1, 1))):
        finder.push(block)
    assert finder.finish() == [(3, 8)]


def test_only_the_longest_runs_are_kept_past_the_limit(monkeypatch):
    monkeypatch.setattr(silence, "MAX_RUNS", 2)
    finder = SilenceFinder(1)
    x = np.ones((30, 1))
    x[2:4] = x[10:15] = x[20:23] = 0
    finder.push(x)
    assert finder.finish() == [(10, 15), (20, 23)]


def test_runs_pack_to_gaps_and_lengths_and_back():
    runs = [(5, 10), (10, 11), (100, 200)]
    assert pack_runs(runs) == [5, 5, 0, 1, 89, 100]
    assert unpack_runs(pack_runs(runs), 200) == runs
    for bad in ([1], [0, 0], [-1, 2], [0, 201], [0, 2.0], "0,2", [0, True], None):
        with pytest.raises(ValueError):
            unpack_runs(bad, 200)


def test_writer_zeroes_exactly_the_runs_across_blocks():
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 1, (1000, 2)).astype(np.float32)
    runs = [(0, 3), (100, 350), (999, 1000)]
    writer = SilenceWriter(runs)
    out = np.concatenate([writer.apply(b) for b in np.split(x, [1, 120, 300, 301, 700])])
    mask = np.zeros(1000, bool)
    for a, b in runs:
        mask[a:b] = True
    assert not out[mask].any() and np.array_equal(out[~mask], x[~mask])
