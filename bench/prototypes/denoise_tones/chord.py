"""Probe (stop 27): SI-SNR of a clean steady chord (440 + 554 Hz, 3 s) through the installed
denoiser, the signal tests/unit/test_restore_shipped.py asks the shipped model to keep (> 15 dB).

    AECODEC_MODELS=/tmp/models-v88 python bench/prototypes/denoise_tones/chord.py
"""
import numpy as np
from aecodec.restore.audio import denoise_audio
from aecodec.media.types import Audio
from aecodec.metrics.audio import si_snr
rate = 24000; t = np.arange(3 * rate) / rate
chord = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 554 * t)).astype(np.float32)[:, None]
kept = denoise_audio(Audio(chord, rate), device="cpu").samples
print('chord kept SI-SNR', round(si_snr(chord[:, 0], kept[:, 0]), 2))
