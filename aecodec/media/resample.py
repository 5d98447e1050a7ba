"""Sample-rate conversion of long signals block by block, equal to converting them whole.

A windowed-sinc resampler reads a few input samples either side of each output, so a long
signal can be cut into blocks that carry a margin of context and are cropped back to their
core. Block edges fall on the grid where input and output samples coincide (every
``orig / gcd`` input samples), so the blocks' outputs interleave exactly with a whole-signal
conversion: the stream result matches ``resample`` up to float rounding, whatever the blocks.

The filter is torchaudio's (``torchaudio.functional.resample``: Hann-windowed sinc, 6 zero
crossings, roll-off 0.99). For rates whose ratio reduces to large coprime numbers (say
22051 -> 24000) its kernel would take gigabytes, so those go through scipy's polyphase
``resample_poly`` (Kaiser window), whose cost does not grow with the ratio's terms.
"""

from __future__ import annotations

import math

import numpy as np

MAX_KERNEL = 1 << 20  # torchaudio kernel elements (new * (orig + 2 * width)) above which scipy takes over
MIN_BLOCK = 1 << 14  # input samples per resampler call while streaming (fewer calls, same result)


def ratio(orig_hz: int, new_hz: int) -> tuple[int, int]:
    """(orig, new) divided by their gcd: ``orig`` inputs span exactly ``new`` outputs."""
    g = math.gcd(int(orig_hz), int(new_hz))
    return int(orig_hz) // g, int(new_hz) // g


def output_frames(frames: int, orig_hz: int, new_hz: int) -> int:
    """How many samples resampling ``frames`` samples gives: ceil(frames * new / orig)."""
    o, n = ratio(orig_hz, new_hz)
    return -(-frames * n // o)


def resample(x: np.ndarray, orig_hz: int, new_hz: int) -> np.ndarray:
    """Resample float (frames, channels) samples; returns float32 of ``output_frames`` frames."""
    x = np.asarray(x, dtype=np.float32)
    if orig_hz == new_hz:
        return x
    o, n = ratio(orig_hz, new_hz)
    if n * (o + 2 * _torch_width(o, n)) <= MAX_KERNEL:
        import torch
        import torchaudio.functional as AF

        with torch.inference_mode():
            y = AF.resample(torch.from_numpy(np.ascontiguousarray(x.T)), o, n)
        return np.ascontiguousarray(y.numpy().T)
    from scipy.signal import resample_poly

    return resample_poly(x, n, o, axis=0).astype(np.float32)


def _torch_width(o: int, n: int) -> int:
    return math.ceil(6 * o / (0.99 * min(o, n)))


def margin(orig_hz: int, new_hz: int) -> int:
    """Input samples of context either side of a block: covers either filter, a multiple of orig/gcd."""
    o, n = ratio(orig_hz, new_hz)
    reach = max(_torch_width(o, n), math.ceil(10 * max(o, n) / n)) + o + 1
    return -(-reach // o) * o


class StreamResampler:
    """Feed (frames, channels) blocks with ``push``, then call ``finish`` once.

    Every call returns the output samples that are complete so far (possibly none); all the
    returned blocks together are ``resample`` of all the input, ``output_frames`` long.
    """

    def __init__(self, orig_hz: int, new_hz: int, channels: int):
        self.orig_hz, self.new_hz, self.channels = int(orig_hz), int(new_hz), int(channels)
        self.o, self.n = ratio(orig_hz, new_hz)
        self.margin = margin(orig_hz, new_hz)
        self._buf = np.zeros((self.margin, channels), np.float32)  # the zeros before the signal
        self._buf_start = -self.margin  # input index of _buf[0]
        self._next = 0  # input index where the next unconverted group starts (a multiple of o)
        self.frames_in = 0
        self.frames_out = 0

    @property
    def identity(self) -> bool:
        return self.orig_hz == self.new_hz

    def push(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float32).reshape(-1, self.channels)
        self.frames_in += block.shape[0]
        if self.identity:
            self.frames_out += block.shape[0]
            return block
        self._buf = np.concatenate([self._buf, block])
        return self._run(final=False)

    def finish(self) -> np.ndarray:
        if self.identity:
            return np.zeros((0, self.channels), np.float32)
        end = -(-self.frames_in // self.o) * self.o + self.margin  # zeros after the signal
        pad = end - (self._buf_start + self._buf.shape[0])
        if pad > 0:
            self._buf = np.concatenate([self._buf, np.zeros((pad, self.channels), np.float32)])
        out = self._run(final=True)
        emitted = self.frames_out - out.shape[0]
        out = out[: max(0, output_frames(self.frames_in, self.orig_hz, self.new_hz) - emitted)]
        self.frames_out = emitted + out.shape[0]
        return out

    def _run(self, final: bool) -> np.ndarray:
        available = self._buf_start + self._buf.shape[0] - self.margin  # inputs with full right context
        groups = (available - self._next) // self.o
        if groups <= 0 or (not final and groups * self.o < MIN_BLOCK):
            return np.zeros((0, self.channels), np.float32)
        lo = self._next - self.margin - self._buf_start
        segment = self._buf[lo : lo + 2 * self.margin + groups * self.o]
        skip = self.margin // self.o * self.n
        out = resample(segment, self.o, self.n)[skip : skip + groups * self.n]
        self._next += groups * self.o
        keep = self._next - self.margin - self._buf_start
        self._buf, self._buf_start = self._buf[keep:], self._buf_start + keep
        self.frames_out += out.shape[0]
        return out
