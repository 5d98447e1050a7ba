"""Probe (stops 27, 29): SI-SNR of a clean steady chord (440 + 554 Hz, 3 s) through the installed
denoiser, the signal tests/unit/test_restore_shipped.py asks the shipped model to keep (> 15 dB),
and, with ``--baselines``, through RNNoise and DeepFilterNet3 (the ``bench`` extra). Stop 29:
both remove it (-17.6 and -20.8 dB): they take a steady tone for noise, as the held-out twins
do; v3 keeps it (43.9).

    AECODEC_MODELS=/tmp/models-v88 python bench/prototypes/denoise_tones/chord.py [--baselines]
"""
import sys

import numpy as np

from aecodec.media.types import Audio
from aecodec.metrics.audio import si_snr
from aecodec.restore.audio import denoise_audio

rate = 24000
t = np.arange(3 * rate) / rate
chord = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 554 * t)).astype(np.float32)
kept = denoise_audio(Audio(chord[:, None], rate), device="cpu").samples[:, 0]
print("aecodec: chord kept SI-SNR", round(si_snr(chord, kept), 1))
if "--baselines" in sys.argv:
    from aecodec.bench.denoisers import deepfilternet3, rnnoise

    for name, method in (("rnnoise", rnnoise()), ("deepfilternet3", deepfilternet3())):
        print(f"{name}: chord kept SI-SNR", round(si_snr(chord, method(chord, rate)), 1))
