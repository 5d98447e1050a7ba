"""Probe (stop 27): steady pure tones over TRAINING speech (not dev), 200 Hz-5 kHz at 5 and 10 dB:
SI-SNR gain (mean and worst clip) and PESQ-WB against the noisy input's.

    AECODEC_MODELS=/tmp/models-v90 python bench/prototypes/denoise_tones/tone_probe.py
"""
import sys, numpy as np
from pathlib import Path
from aecodec.bench.restore_audio import SAMPLE_RATE_HZ as SR, speech_scorers
from aecodec.media.audio import read_mono
from aecodec.restore.degrade import mix_at_snr
from aecodec.metrics.audio import si_snr
from aecodec.restore.audio import denoise_audio
from aecodec.media.types import Audio
P = speech_scorers()['pesq']
root = Path('../shared/data/audio/speech')
files = sorted(p for d in ('amfm', 'pyannote', 'parselmouth', 'codec2', 'tuxpaint') for p in (root/d).glob('*') if p.is_file())
clips = []
for p in files:
    x = read_mono(p, SR)
    if x.size > 3*SR and len([c for c in clips if c[0] == p.parent.name]) < 2:
        clips.append((p.parent.name, x[:8*SR]))
print('clips', [c[0] for c in clips])
for snr in (5.0, 10.0):
    for freq in (200, 400, 800, 1265, 2500, 5000):
        g, pp, pn = [], [], []
        for _, c in clips:
            tone = np.sin(2*np.pi*freq*np.arange(c.size)/SR).astype(np.float32)
            noisy, _ = mix_at_snr(c, tone, snr)
            out = denoise_audio(Audio(noisy[:, None], SR)).samples[:, 0]
            g.append(si_snr(c, out) - si_snr(c, noisy)); pp.append(P(c, out)); pn.append(P(c, noisy))
        print(f'{snr:4.0f} dB {freq:5d} Hz gain {np.mean(g):+6.2f} (worst {min(g):+6.2f})  PESQ {np.mean(pp):.2f} noisy {np.mean(pn):.2f}', flush=True)
