"""Probe (stop 28): which part of a removed clean voice makes the denoiser take it for noise.

Runs the installed denoiser on dev speech clips with no noise and prints the SI-SNR of its output
against its input: as is, high-passed (an FFT brick wall) at 1-200 Hz, with a DC offset (0.3 x
the clip's RMS) and with a 50 Hz hum (0.1 x RMS) added. On v90 the five voices it removes come
back when their lowest band goes (ktuberling gl -1.6 dB as is, 24.8 high-passed at 200 Hz): the
network keys on the voices' fundamental and first harmonics, not on DC or hum.

    AECODEC_MODELS=/tmp/models-v90 python bench/prototypes/denoise_tones/voice_bands.py
"""
from pathlib import Path

import numpy as np

from aecodec.bench.restore_audio import SAMPLE_RATE_HZ as SR
from aecodec.media.audio import read_mono
from aecodec.metrics.audio import si_snr
from aecodec.restore.audio import denoise_audio
from aecodec.media.types import Audio
dev = Path('../shared/data/audio/dev/speech')
def run(x): return denoise_audio(Audio(x[:, None].astype(np.float32), SR)).samples[:, 0]
def hp(x, lo):
    X = np.fft.rfft(x); fr = np.fft.rfftfreq(x.size, 1/SR); X[fr<lo] = 0; return np.fft.irfft(X, x.size).astype(np.float32)
t = np.arange(SR*10)/SR
for name in ['ktuberling_gl','tuxpaint_be','kajongg_en_male2','kajongg_en_female2','ami_tst00','silero_test','ktuberling_nn']:
    c = read_mono(dev/f'{name}.flac', SR)[:SR*10]
    r = [si_snr(c, run(c))]
    for lo in (1, 20, 60, 100, 150, 200):
        x = hp(c, lo); r.append(si_snr(x, run(x)))
    rms = np.sqrt(np.mean(c**2))
    x = c + 0.3*rms; r.append(si_snr(x, run(x)))
    x = c + 0.1*rms*np.sin(2*np.pi*50*t[:c.size]); r.append(si_snr(x, run(x)))
    print(f'{name:20s} plain {r[0]:5.1f} | hp1 {r[1]:5.1f} hp20 {r[2]:5.1f} hp60 {r[3]:5.1f} hp100 {r[4]:5.1f} hp150 {r[5]:5.1f} hp200 {r[6]:5.1f} | +DC {r[7]:5.1f} +50Hz {r[8]:5.1f}', flush=True)
