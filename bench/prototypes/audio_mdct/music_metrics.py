"""Preset 0 against tuned preset 1 on dev music with the product's metrics (aecodec.metrics.audio):
ViSQOL, SI-SNR, STOI, LSD<4k and full-band LSD. usage: python music_metrics.py 12"""
import sys, os, glob, numpy as np, soundfile as sf
import auto_v2, tune_lsd
from aecodec.metrics import audio as M
kb = float(sys.argv[1])
out = {0: [], 1: []}
for f in sorted(glob.glob('/work/shared/data/audio/dev/music/*.flac')):
    x, sr = sf.read(f, dtype='float64'); x = x if x.ndim == 1 else x.mean(1)
    for p in (0, 1):
        c = auto_v2.preset_cfg(p, kb); c.update(auto_v2.TUNED.get(p, {}))
        y, k, _ = tune_lsd.code_at_rate(x, kb, c, hi=3.0 if p == 0 else 30.0)
        r, d = x[:, None].astype(np.float32), y[:, None].astype(np.float32)
        out[p].append((M.visqol(r, d, 24000), M.si_snr(r, d), M.stoi(r, d, 24000), M.lsd(r, d, 24000, 4000), M.lsd(r, d, 24000)))
    print(os.path.basename(f), [tuple(round(v, 2) for v in out[p][-1]) for p in (0, 1)], flush=True)
for p in (0, 1):
    a = np.array(out[p]); print('preset', p, 'visqol %.3f sisnr %.2f stoi %.3f lsd4k %.3f lsd %.3f' % tuple(a.mean(0)))
