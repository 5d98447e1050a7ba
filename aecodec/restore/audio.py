"""Audio denoising with the shipped recurrent mask estimator, and gap filling.

Streaming: blocks in, blocks out, any length with bounded memory. The network runs at its own
sample rate; what it removes (its output minus its input) is resampled back and subtracted
from the original samples, so content above the model's band and the exact sample count,
rate and channel layout are kept. Channels are denoised independently.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable, Iterator

import numpy as np

from aecodec.device import to_device
from aecodec.errors import InputError
from aecodec.media.types import Audio

log = logging.getLogger(__name__)

DENOISER = "audio-denoise-gru"
CHUNK_SECONDS = 30.0  # the network sees this much at once (bounded memory)
OVERLAP_SECONDS = 1.0  # warm-up of the recurrent state, cross-faded between chunks
MAX_GAP_SECONDS = 1.0
SPINS = 2  # the mask network's frame grid at two offsets, averaged (SpectralMaskNet.forward)


def denoise_blocks(blocks: Iterable[np.ndarray], sample_rate: int, channels: int, strength: float = 1.0,
                   device: str = "auto") -> Iterator[np.ndarray]:
    """Denoise a stream of float32 (frames, channels) blocks; yields blocks that add up to
    exactly as many frames as went in."""
    import torch

    from aecodec.media.audio import check_sample_rate
    from aecodec.media.chunks import Crossfader
    from aecodec.media.resample import StreamResampler
    from aecodec.restore.networks import shipped

    if not 0.0 <= strength <= 1.0:
        raise InputError(f"--strength must be between 0 and 1, got {strength}")
    check_sample_rate(sample_rate)  # resampling a "1 Hz" stream to the model's rate makes gigabytes
    net, dev = shipped(DENOISER, device)
    rate = net.config.sample_rate
    chunk, overlap = int(CHUNK_SECONDS * rate), int(OVERLAP_SECONDS * rate)
    down, up = StreamResampler(sample_rate, rate, channels), StreamResampler(rate, sample_rate, channels)
    fader = Crossfader(overlap, channels)
    pending = np.zeros((0, channels), np.float32)  # model-rate input not yet run
    originals: list[np.ndarray] = []  # input blocks waiting for their correction
    held = 0  # frames in `originals`

    def run(x: np.ndarray, last: bool) -> np.ndarray:
        with torch.inference_mode():
            t = to_device(torch.from_numpy(np.ascontiguousarray(x.T)), dev)
            return fader.push((net(t, spins=SPINS) - t).T.cpu().numpy(), last)

    def corrections(block: np.ndarray, last: bool) -> Iterator[np.ndarray]:
        nonlocal pending
        pending = np.concatenate([pending, block])
        while pending.shape[0] > chunk or (pending.shape[0] == chunk and not last):
            yield run(pending[:chunk], False)
            pending = pending[chunk - overlap :]
        if last:
            yield run(pending, True)

    def emit(correction: np.ndarray, final: bool) -> Iterator[np.ndarray]:
        nonlocal originals, held
        x = np.concatenate(originals) if originals else np.zeros((0, channels), np.float32)
        n = x.shape[0] if final else min(x.shape[0], correction.shape[0])
        c = np.zeros((n, channels), np.float32)
        c[: min(n, correction.shape[0])] = correction[:n]
        originals, held = [x[n:]], x.shape[0] - n
        if n:
            yield x[:n] + strength * c

    for block in blocks:
        block = np.asarray(block, np.float32).reshape(-1, channels)
        originals.append(block)
        held += block.shape[0]
        for corr in corrections(down.push(block), False):
            yield from emit(up.push(corr), False)
    for corr in corrections(down.finish(), True):
        yield from emit(up.push(corr), False)
    yield from emit(up.finish(), True)


def denoise_audio(audio: Audio, strength: float = 1.0, device: str = "auto") -> Audio:
    """In-memory ``denoise_blocks``: same rate, channels and length out."""
    blocks = denoise_blocks([audio.samples], audio.sample_rate, audio.channels, strength, device)
    parts = list(blocks)
    return Audio(np.concatenate(parts) if parts else audio.samples[:0], audio.sample_rate)


# --- gap filling ------------------------------------------------------------------------------

GAP_EXAMPLE = "e.g. --gap 12.30-12.45 or --gap 1:02.5+0.2"
_TIME = re.compile(r"(?:(?:([0-9]+):)?([0-9]+):)?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # [[hh:]mm:]ss[.frac]


def parse_gaps(text: str) -> list[tuple[float, float, str]]:
    """``--gap`` -> [(start, end, the part it came from)] in seconds, as given: comma-separated
    START-END or START+DURATION, each time [[hh:]mm:]ss[.frac] as in ffmpeg and sox. The old
    START:END is refused, not guessed: 12.30:12.45 would read as minutes:seconds there."""
    gaps = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.count("-") + part.count("+") != 1:
            if ":" in part and "-" not in part and "+" not in part:
                raise InputError(f"--gap '{part}' is START:END, which is not accepted (':' separates minutes "
                                 f"from seconds, as in ffmpeg and sox); write START-END or START+DURATION, "
                                 f"{GAP_EXAMPLE}")
            raise InputError(f"--gap '{part}' is not START-END or START+DURATION; {GAP_EXAMPLE}")
        sign = "-" if "-" in part else "+"
        first, second = (_seconds(v.strip(), part) for v in part.split(sign))
        end = second if sign == "-" else first + second
        if not end > first:
            raise InputError(f"--gap '{part}' ends where or before it starts; give END after START, {GAP_EXAMPLE}")
        gaps.append((first, end, part))
    if not gaps:
        raise InputError(f"--gap is empty; {GAP_EXAMPLE}")
    return gaps


def _seconds(time: str, part: str) -> float:
    """'[[hh:]mm:]ss[.frac]' -> seconds; the error names the time and the gap it is in."""
    match = _TIME.fullmatch(time)
    hours, minutes, seconds = match.groups() if match else (None, None, None)
    if not match or (minutes is not None and float(seconds) >= 60) or (hours is not None and int(minutes) >= 60):
        raise InputError(f"--gap '{part}': '{time}' is not a time; write [[hh:]mm:]ss[.frac] (seconds and "
                         "minutes below 60 after a ':'), e.g. 75.5 or 1:15.5")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def gap_spans(gaps: list[tuple[float, float, str]], sample_rate: int, frames: int) -> list[tuple[int, int]]:
    """``parse_gaps``' seconds -> sorted, merged [start, end) sample spans of audio ``frames``
    long: a gap running past the end is cut there, gaps wholly past it are left out (with one
    warning), and what remains of each gap must be at most MAX_GAP_SECONDS."""
    spans, past = [], []
    for start_s, end_s, part in gaps:
        start, end = int(round(start_s * sample_rate)), min(int(round(end_s * sample_rate)), frames)
        if start >= frames:
            past.append(part)
            continue
        if end <= start:
            raise InputError(f"--gap '{part}' is shorter than one sample at {sample_rate} Hz; make it longer")
        if end - start > MAX_GAP_SECONDS * sample_rate:
            raise InputError(f"--gap '{part}' is {(end - start) / sample_rate:.2f} s long; gaps up to "
                             f"{MAX_GAP_SECONDS:.0f} s can be filled, split it or fill less")
        spans.append((start, end))
    if past:
        log.warning("--gap %s start%s at or after the end of the audio (%.2f s); nothing to fill there",
                    ", ".join(f"'{p}'" for p in past), "s" * (len(past) == 1), frames / sample_rate)
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def inpaint_audio(audio: Audio, gaps: list[tuple[int, int]]) -> Audio:
    """Fill each [start, end) sample span from its surroundings; samples outside the gaps are
    unchanged. Linear prediction (Burg) extrapolates the signal forwards from the left context
    and backwards from the right one, and the two are cross-faded across the gap (Etter 1996):
    pitch and resonances continue through the gap instead of a hole or a click."""
    parts = list(inpaint_blocks([audio.samples], gaps, audio.sample_rate, audio.channels))
    return Audio(np.concatenate(parts) if parts else audio.samples.copy(), audio.sample_rate)


def inpaint_blocks(blocks: Iterable[np.ndarray], gaps: list[tuple[int, int]], sample_rate: int,
                   channels: int) -> Iterator[np.ndarray]:
    """``inpaint_audio`` on a stream: yields blocks adding up to the input, each gap filled
    exactly as the whole signal would have it, while holding only the samples around the gap
    being filled (at most a few seconds: a gap is at most MAX_GAP_SECONDS, its context four
    times that). Gaps past the end of the stream (a header that promised more) are cut to it."""
    pending = [_plan(start, end, sample_rate) for start, end in sorted(gaps)]
    filled: list[tuple[int, int, np.ndarray]] = []  # (start, end, unclipped fill)
    held, first = np.zeros((0, channels), np.float32), 0  # input samples [first, first + len(held))

    def fill_ready(final: bool) -> None:
        while pending and (final or first + held.shape[0] >= pending[0][1] + pending[0][2]):
            start, end, context = pending.pop(0)
            total = first + held.shape[0]
            if start >= total:  # the stream ended before the gap
                continue
            if end > total:
                start, end, context = _plan(start, total, sample_rate)
            filled.append((start, end, _fill(held, first, start, end, context, filled)))

    def release(final: bool) -> np.ndarray:
        """The samples no gap still to fill needs, with the gaps filled so far patched in."""
        nonlocal held, first, filled
        upto = first + held.shape[0]
        if pending and not final:  # keep every sample a gap still to fill will look at
            upto = min(upto, max(first, min(max(0, start - context) for start, _, context in pending)))
        out = held[: upto - first].copy()
        for start, end, fill in filled:
            lo, hi = max(start, first), min(end, upto)
            if lo < hi:
                out[lo - first : hi - first] = np.clip(fill[lo - start : hi - start], -1, 1)
        held, first = held[upto - first :], upto
        filled = [f for f in filled if f[1] > first]
        return out

    for block in blocks:
        held = np.concatenate([held, np.asarray(block, np.float32).reshape(-1, channels)])
        fill_ready(False)
        out = release(False)
        if out.shape[0]:
            yield out
    fill_ready(True)
    out = release(True)
    if out.shape[0]:
        yield out


def _plan(start: int, end: int, sample_rate: int) -> tuple[int, int, int]:
    """(start, end, context): a gap and how many samples each side of it the prediction uses."""
    return start, end, max(4 * (end - start), int(0.05 * sample_rate))


def _fill(held: np.ndarray, first: int, start: int, end: int, context: int,
          filled: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """The unclipped float64 fill of [start, end) from the samples held (starting at ``first``),
    with the earlier gaps' fills in place of their samples, as filling a whole signal in order
    would see them."""
    lo, hi = max(0, start - context), min(end + context, first + held.shape[0])
    x = held[lo - first : hi - first].astype(np.float64)
    for s, e, fill in filled:
        a, b = max(s, lo), min(e, hi)
        if a < b:
            x[a - lo : b - lo] = fill[a - s : b - s]
    n = end - start
    order = int(min(max(16, 2 * n), context // 2, 1024))
    left, right = x[: start - lo], x[end - lo :]
    fade = np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2
    out = np.empty((n, x.shape[1]))
    for ch in range(x.shape[1]):
        fwd = _extrapolate(left[:, ch], n, order)
        bwd = _extrapolate(right[::-1, ch], n, order)[::-1]
        if left.shape[0] < 2:
            fwd = bwd
        if right.shape[0] < 2:
            bwd = fwd
        out[:, ch] = (1 - fade) * fwd + fade * bwd
    return out


def _extrapolate(context: np.ndarray, n: int, order: int) -> np.ndarray:
    """The next ``n`` samples after ``context`` predicted by its order-``order`` LPC model."""
    if context.shape[0] < 2 or not np.any(context):
        return np.zeros(n)
    order = min(order, context.shape[0] - 1)
    a = _burg(context, order)
    buf = np.concatenate([context[-order:], np.zeros(n)])
    for i in range(n):
        buf[order + i] = -np.dot(a[1:], buf[i : order + i][::-1])
    return buf[order:]


def _burg(x: np.ndarray, order: int) -> np.ndarray:
    """Burg's method: prediction polynomial a[0..order] with a[0] = 1 (always stable)."""
    f, b = x[1:].copy(), x[:-1].copy()
    a = np.array([1.0])
    for _ in range(order):
        den = np.dot(f, f) + np.dot(b, b)
        k = -2 * np.dot(f, b) / den if den > 0 else 0.0
        a = np.concatenate([a, [0.0]])
        a = a + k * a[::-1]
        f, b = (f + k * b)[1:], (b + k * f)[:-1]
        if f.size == 0:
            break
    return a
