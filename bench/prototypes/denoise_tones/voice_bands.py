"""Probe (stop 28): which part of a removed clean voice makes the denoiser take it for noise.

Runs the installed denoiser on dev speech clips (first 10 s) with no noise and prints the SI-SNR
of its output against its input: as is; high-passed (an FFT brick wall) at 20-300 Hz; with a DC
offset (0.3 x the clip's RMS) or a 50 Hz hum (0.1 x RMS) added; played backwards; cut to its
first 2 s; and after 5 s of a voice the network keeps (pocketsphinx librivox; scored on the clip's
part only). On v90 the five voices it removes come back when their lowest band goes
(ktuberling gl -1.6 dB as is, 24.8 high-passed at 200 Hz): the network keys on the voices'
fundamental and first harmonics, not on DC, hum, the words or what comes before.

    AECODEC_MODELS=/tmp/models-v90 python bench/prototypes/denoise_tones/voice_bands.py
"""

from pathlib import Path

import numpy as np

from aecodec.bench.restore_audio import SAMPLE_RATE_HZ as SR
from aecodec.media.audio import read_mono
from aecodec.media.types import Audio
from aecodec.metrics.audio import si_snr
from aecodec.restore.audio import denoise_audio

DEV = Path("../shared/data/audio/dev/speech")
CLIPS = ("ktuberling_gl", "tuxpaint_be", "kajongg_en_male2", "kajongg_en_female2", "ami_tst00",
         "silero_test", "ktuberling_nn")  # the five removed voices, then two kept ones
HIGH_PASS_HZ = (20, 100, 200, 300)


def denoise(x: np.ndarray) -> np.ndarray:
    return denoise_audio(Audio(x[:, None].astype(np.float32), SR)).samples[:, 0]


def high_pass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.size, 1 / SR) < cutoff_hz] = 0
    return np.fft.irfft(spectrum, x.size).astype(np.float32)


def passthrough(x: np.ndarray) -> float:
    return si_snr(x, denoise(x))


def main() -> None:
    kept_voice = read_mono(DEV / "pocketsphinx_librivox.flac", SR)[: 5 * SR]
    print("clip                  as is | " + " ".join(f"hp{hz:<4d}" for hz in HIGH_PASS_HZ)
          + " |   +DC  +50Hz | reversed first2s  after-kept")
    for name in CLIPS:
        clip = read_mono(DEV / f"{name}.flac", SR)[: 10 * SR]
        rms = np.sqrt(np.mean(clip**2))
        hum = 0.1 * rms * np.sin(2 * np.pi * 50 * np.arange(clip.size) / SR)
        after_kept = denoise(np.concatenate([kept_voice, clip]))[kept_voice.size :]
        cells = [passthrough(clip), *(passthrough(high_pass(clip, hz)) for hz in HIGH_PASS_HZ),
                 passthrough(clip + 0.3 * rms), passthrough(clip + hum),
                 passthrough(clip[::-1].copy()), passthrough(clip[: 2 * SR]), si_snr(clip, after_kept)]
        print(f"{name:20s} {cells[0]:6.1f} | " + " ".join(f"{v:6.1f}" for v in cells[1:5])
              + f" | {cells[5]:5.1f} {cells[6]:6.1f} | {cells[7]:8.1f} {cells[8]:7.1f} {cells[9]:11.1f}", flush=True)


if __name__ == "__main__":
    main()
