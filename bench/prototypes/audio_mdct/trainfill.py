"""Train the decoder's noise-fill level table (fillprior.npz) on TRAINING clips that are neither the
tuning clips (evalh.load_tune, tune_lsd.MUSIC_TRAIN) nor dev: lvl[c1, fill class] = mean log2(|X|/step)
over zeroed, coded bins of non-silent bands, coded with the FINAL static config at 3/6/12/24 kbps."""
import glob, os
os.environ.setdefault('OMP_NUM_THREADS', '1')
from math import gcd
import numpy as np, soundfile as sf
from scipy.signal import resample_poly
import mdct_v2, tune_lsd
from mdct import band_edges

rng = np.random.default_rng(2)
files = []
for sub in ('tuxpaint', 'klettres', 'ktuberling'):
    fs = sorted(glob.glob(f'/work/shared/data/audio/speech/{sub}/*')); rng.shuffle(fs); files += fs[:4]
fs = sorted(glob.glob('/work/shared/data/audio/speech/pyannote/*'))[3:]; rng.shuffle(fs); files += fs[:2]
fs = [f for f in sorted(glob.glob('/work/shared/data/audio/music/*/*')) if os.path.relpath(f, '/work/shared/data/audio/music') not in tune_lsd.MUSIC_TRAIN]
rng.shuffle(fs); files += fs[:12]
NC = 18
S = np.zeros((24, NC)); N = np.zeros((24, NC))
for f in files:
    x, sr = sf.read(f, dtype='float64')
    if x.ndim > 1: x = x.mean(1)
    g = gcd(24000, sr); x = resample_poly(x, 24000 // g, sr // g)
    x = x[len(x) // 4:][:24000 * 8]
    if len(x) < 24000 or np.std(x) < 1e-4: continue
    for kb in (3.0, 6.0, 12.0, 24.0):
        c = tune_lsd.final_static(kb)
        _, _, info = tune_lsd.code_at_rate(x, kb, c)
        _, _, o = mdct_v2.encode_decode(x, info['D'], c, want_X=True)
        e = band_edges(480)
        live = np.repeat(o['Enf'] > 0, np.diff(e), axis=1)
        sel = (o['aq'] == 0) & o['coded'] & live & (np.abs(o['X']) > 0)
        cls = mdct_v2.fill_ctx(o['aq'])
        v = np.log2(np.abs(o['X'][sel]) / o['step'][sel])
        np.add.at(S, (o['c1'][sel], cls[sel]), v); np.add.at(N, (o['c1'][sel], cls[sel]), 1)
    print(os.path.basename(f), int(N.sum()), flush=True)
marg = S.sum(1) / np.maximum(N.sum(1), 1)  # per-c1 fallback for rare cells
lvl = (S + 20 * marg[:, None]) / (N + 20)
np.savez('fillprior.npz', lvl=lvl, n=N)
np.set_printoptions(precision=2, suppress=True, linewidth=200)
print(lvl[4:16]); print(N.sum(0))
