"""Issue-5 check that the audio denoiser leaves clean music, clean speech and silence alone.

Denoises every clean dev music clip (no noise added) and reports SI-SNR(output, input): high
means the music passed through. With ``--speech``, does the same for clean speech and reports
the mean level change per frequency band, which shows a denoiser that dulls speech (removes
sibilants it takes for noise), and the clips that come out under 10 dB SI-SNR (a voice the
network takes for noise and removes whole). Also denoises 5 s of digital silence and of -60 dBFS white
noise and reports the output level.

    .venv/bin/python bench/check_passthrough.py --music ../shared/data/audio/dev/music \
        --speech ../shared/data/audio/dev/speech --out bench/results/restore-passthrough.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


BAND_EDGES_HZ = (0, 1000, 2000, 4000, 6000, 8000, 12000)
BAND_NAMES = [f"{lo // 1000}-{hi // 1000} kHz" for lo, hi in zip(BAND_EDGES_HZ, BAND_EDGES_HZ[1:])]


def band_levels(audio) -> np.ndarray:
    """Energy (dB) of the first channel in each band of BAND_EDGES_HZ, from one long FFT."""
    x = audio.samples[:, 0].astype(np.float64)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / audio.sample_rate)
    return np.array([10 * np.log10(power[(freqs >= lo) & (freqs < hi)].sum() + 1e-12)
                     for lo, hi in zip(BAND_EDGES_HZ, BAND_EDGES_HZ[1:])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--music", type=Path, required=True)
    ap.add_argument("--speech", type=Path, help="clean speech clips (mono) for the per-band check")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    from aecodec.media.audio import read_audio
    from aecodec.media.types import Audio
    from aecodec.metrics.audio import si_snr
    from aecodec.restore.audio import denoise_audio

    def through(folder: Path):
        """(name, input, output) of every clip in ``folder`` through the denoiser."""
        for path in sorted(folder.iterdir()) if folder else []:
            audio = read_audio(path)
            yield path.name, audio, denoise_audio(audio, device="cpu")

    music = {name: {"si_snr_out_vs_in": si_snr(audio.samples, out.samples),
                    "level_change_db": float(10 * np.log10(np.mean(out.samples**2) / np.mean(audio.samples**2)))}
             for name, audio, out in through(args.music)}
    speech = {name: {"si_snr_out_vs_in": si_snr(audio.samples, out.samples),
                     "band_level_change_db": dict(zip(BAND_NAMES, band_levels(out) - band_levels(audio)))}
              for name, audio, out in through(args.speech)}
    rate = 24000
    silence = denoise_audio(Audio(np.zeros((5 * rate, 1), np.float32), rate), device="cpu").samples
    hiss_in = (1e-3 * np.random.default_rng(0).standard_normal((5 * rate, 1))).astype(np.float32)
    hiss = denoise_audio(Audio(hiss_in, rate), device="cpu").samples
    result = {
        "music": music,
        "music_mean_si_snr_out_vs_in": float(np.mean([m["si_snr_out_vs_in"] for m in music.values()])),
        **({"speech": speech,
            "speech_mean_si_snr_out_vs_in": float(np.mean([m["si_snr_out_vs_in"] for m in speech.values()])),
            # a mean hides a voice taken for noise and removed whole (SI-SNR near 0 dB): name them
            "speech_min_si_snr_out_vs_in": float(min(m["si_snr_out_vs_in"] for m in speech.values())),
            "speech_clips_under_10db": sorted(n for n, m in speech.items() if m["si_snr_out_vs_in"] < 10),
            "speech_mean_band_level_change_db": {b: float(np.mean([m["band_level_change_db"][b] for m in speech.values()]))
                                                 for b in BAND_NAMES}} if speech else {}),
        "silence_peak_out": float(np.abs(silence).max()),
        "hiss_minus60dbfs_level_change_db": float(10 * np.log10(np.mean(hiss**2) / np.mean(hiss_in**2))),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("music", "speech")}, indent=2))


if __name__ == "__main__":
    main()
