"""Probe (stop 27): which property of the dev night-insect noise makes the denoiser remove speech.

Mixes three dev speech clips at 5 and 10 dB with the recording and with versions of it (the same
long-term spectrum as steady noise, only its 0.8-2.5 kHz band, only the rest, a pure tone at its
peak, noise gated by its envelope) and prints SI-SNR gain and PESQ-WB against the noisy input's:

    AECODEC_MODELS=/tmp/models-v90 python bench/prototypes/denoise_tones/insects_diag.py v90
"""
import os, sys, numpy as np
from pathlib import Path
models = sys.argv[1].split(',')
from aecodec.bench.restore_audio import SAMPLE_RATE_HZ as SR
from aecodec.media.audio import read_mono
from aecodec.restore.degrade import mix_at_snr
from aecodec.metrics.audio import si_snr
from aecodec.bench.restore_audio import speech_scorers
_P = speech_scorers()['pesq']
def pesq(sr, a, b, mode): return _P(a, b)
from scipy.signal import stft, butter, sosfiltfilt
dev = Path('../shared/data/audio/dev')
clips = [read_mono(dev/'speech'/n, SR)[:SR*10] for n in ('ktuberling_gl.flac', 'tuxpaint_be.flac', 'ami_dev00.flac')]
ins = read_mono(dev/'noise'/'wesnoth_night.flac', SR)
rng = np.random.default_rng(0)
f, t, Z = stft(ins, SR, nperseg=512)
mag = np.abs(Z); lt = np.sqrt((mag**2).mean(1))
print('insect spectrum peak bins (Hz, dB):', [(int(f[i]), round(20*np.log10(lt[i]/lt.max()),1)) for i in np.argsort(lt)[::-1][:8]])
env = np.sqrt((mag**2).sum(0)); print('frame-level modulation std/mean', env.std()/env.mean())
def steady(x):  # same long-term spectrum, random phase, no modulation
    spec = np.fft.rfft(x); ph = np.exp(2j*np.pi*rng.random(spec.size)); return np.fft.irfft(np.abs(spec)*ph, x.size)
def band(x, lo, hi):
    return sosfiltfilt(butter(6, [lo, hi], 'bandpass', fs=SR, output='sos'), x)
def tone(n):
    pk = f[np.argmax(lt)]; tt = np.arange(n)/SR; return np.sin(2*np.pi*pk*tt)
def am_noise(x):  # white noise bandpassed to the insect band, modulated by the insects' envelope
    b = band(x, 800, 2500); e = np.abs(b); e = np.convolve(e, np.ones(80)/80, 'same')
    return band(rng.standard_normal(x.size), 800, 2500)*e
variants = {'insects': ins, 'steady-same-spectrum': steady(ins), 'insects 0.8-2.5k only': band(ins, 800, 2500),
            'insects outside 0.8-2.5k': ins - band(ins, 800, 2500), 'pure tone at peak': tone(ins.size), 'AM noise 0.8-2.5k': am_noise(ins)}
from aecodec.restore.audio import denoise_audio
from aecodec.media.types import Audio
import aecodec.restore.networks as nets
for m in models:
    print('==', m, os.environ.get('AECODEC_MODELS'))
    for name, noise in variants.items():
        res = []
        for snr in (5, 10):
            for c in clips:
                noisy, _ = mix_at_snr(c, noise.astype(np.float32), snr, np.random.default_rng(1))
                pk = np.abs(noisy).max(); s = 0.99/pk if pk > 1 else 1.0
                out = denoise_audio(Audio(noisy[:, None]*s, SR)).samples[:, 0]
                res.append((snr, si_snr(c, out) - si_snr(c, noisy), pesq(SR, c*s, out, 'wb'), pesq(SR, c*s, noisy*s, 'wb')))
        r = np.array(res)
        for snr in (5, 10):
            q = r[r[:, 0] == snr]
            print(f'{name:26s} {snr:2d} dB gain {q[:,1].mean():+6.2f}  PESQ {q[:,2].mean():.2f} (noisy {q[:,3].mean():.2f})')
