"""Folders of audio as an endless stream of random mono segments at the model's sample rate."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from aecodec.errors import InputError
from aecodec.media.kinds import AUDIO_SUFFIXES

log = logging.getLogger(__name__)


def list_audio(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"training data folder '{folder}' does not exist; pass --data DIR")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"no audio files in '{folder}'; put WAV/FLAC/OGG/MP3 files there")
    return files


def load_mono(files: list[Path], sample_rate: int, max_seconds: float | None = None) -> list[torch.Tensor]:
    """Decode every file once, mixed to mono and resampled to ``sample_rate``, as float16 tensors
    (an hour of audio is ~170 MB). Unreadable files are skipped with a log message."""
    from aecodec.errors import AecError
    from aecodec.media.audio import read_mono

    clips, skipped = [], []
    for f in files:
        try:
            x = read_mono(f, sample_rate, max_seconds)
        except AecError as e:
            skipped.append((f, e))
            continue
        clips.append(torch.from_numpy(np.clip(x, -1, 1)).to(torch.float16))
    if not clips:  # one error line, not a notice per file before it
        first = f"; the first: {skipped[0][1]}" if skipped else ""
        raise InputError(f"no training audio could be read ({len(skipped)} files failed{first}); check --data")
    for f, e in skipped:  # the run goes on without them: say which
        log.warning("skipping %s: %s", f, e)
    return clips


class RandomSegments:
    """Random segments from folders of clips: a folder uniformly, then a clip in proportion to its
    length (so long music tracks are not drowned by short words), then a random offset; clips
    shorter than the segment are zero-padded at a random position. Gain augmentation draws a
    gain in ``gain_db`` (never clipping) and flips the polarity half of the time."""

    def __init__(self, folders: list[list[torch.Tensor]], gain_db: tuple[float, float] = (-20.0, 6.0)):
        self.folders = [f for f in folders if f]
        self.weights = [torch.tensor([c.shape[0] for c in clips], dtype=torch.float64) for clips in self.folders]
        self.gain_db = gain_db

    def batch(self, size: int, frames: int, gen: torch.Generator) -> torch.Tensor:
        """float32 [size, frames] in [-1, 1]."""
        out = torch.zeros(size, frames)
        lo, hi = self.gain_db
        for i in range(size):
            folder = int(torch.randint(len(self.folders), (1,), generator=gen))
            clip_index = int(torch.multinomial(self.weights[folder], 1, generator=gen))
            clip = self.folders[folder][clip_index]
            n = clip.shape[0]
            if n >= frames:
                start = int(torch.randint(n - frames + 1, (1,), generator=gen))
                out[i] = clip[start : start + frames].float()
            else:
                at = int(torch.randint(frames - n + 1, (1,), generator=gen))
                out[i, at : at + n] = clip.float()
            gain = 10 ** ((lo + (hi - lo) * float(torch.rand(1, generator=gen))) / 20)
            if torch.rand(1, generator=gen) < 0.5:
                gain = -gain
            x = out[i] * gain
            peak = float(x.abs().max())
            out[i] = x * (0.99 / peak) if peak > 0.99 else x
        return out
