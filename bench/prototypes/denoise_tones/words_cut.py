"""Probe (stop 32): how much of a clean voice the installed denoiser cuts, frame by frame.

SI-SNR of a clean voice through the denoiser against itself mixes two things: a little change
everywhere and whole words removed. This counts the second: for each dev speech clip (first
10 s, no noise), the share of its loud 100 ms frames (within 25 dB of the clip's loudest) that
come out more than 6 dB quieter. Prints the mean and largest share over the clips, how many clips
lose more than 5 % of their loud frames, and the five worst (share / SI-SNR in dB). v3: mean
0.027, largest 0.139 (silero aepyx), 3 clips over 5 %.

    AECODEC_MODELS=/tmp/models-66 python bench/prototypes/denoise_tones/words_cut.py
"""

from pathlib import Path

import numpy as np

from aecodec.media.audio import read_audio
from aecodec.media.types import Audio
from aecodec.metrics.audio import si_snr
from aecodec.restore.audio import denoise_audio

SPEECH = Path("../shared/data/audio/dev/speech")  # run from the repository root, as the other probes


def frame_db(x: np.ndarray, frame: int) -> np.ndarray:
    n = len(x) // frame
    return 10 * np.log10((x[: n * frame].reshape(n, frame) ** 2).mean(1) + 1e-12)


def main() -> None:
    rows = []
    for path in sorted(SPEECH.iterdir()):
        audio = read_audio(path)
        rate = audio.sample_rate
        x = audio.samples[: 10 * rate, 0]
        y = denoise_audio(Audio(x[:, None], rate), device="cpu").samples[:, 0]
        before, after = frame_db(x, rate // 10), frame_db(y, rate // 10)
        loud = before > before.max() - 25
        rows.append((path.stem, float(((after - before)[loud] < -6).mean()), si_snr(x, y)))
    cut = np.array([r[1] for r in rows])
    print(f"words cut: mean {cut.mean():.3f} max {cut.max():.3f}; clips with >5% loud frames cut: "
          f"{(cut > 0.05).sum()}/{len(rows)}")
    print("  " + ", ".join(f"{s[:16]} {c:.2f}/{v:.1f}" for s, c, v in sorted(rows, key=lambda r: -r[1])[:5]))


if __name__ == "__main__":
    main()
