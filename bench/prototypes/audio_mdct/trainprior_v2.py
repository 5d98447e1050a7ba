"""Extra static tables for mdct_v2: power-law quantiser (qpow != 1) and/or M=960, same training
files and step grid as trainprior.py; adds e.g. 'coef_nbr_p0.75', 'coef_nbr_p0.75_M960', 'env3_M960'
to priors.npz. usage: python trainprior_v2.py M P [P ...]   (e.g. 960 0.75)"""
import glob, sys, numpy as np, soundfile as sf
from math import gcd
from scipy.signal import resample_poly
import mdct, mdct_v2
rng = np.random.default_rng(1)
files = []
for sub in ('pyannote', 'tuxpaint', 'codec2', 'klettres', 'ktuberling'):
    fs = sorted(glob.glob(f'/work/shared/data/audio/speech/{sub}/*')); rng.shuffle(fs); files += fs[:6]
fs = sorted(glob.glob('/work/shared/data/audio/music/*/*')); rng.shuffle(fs); files += fs[:10]
out = dict(np.load('priors.npz'))
M = int(sys.argv[1])
for p in map(float, sys.argv[2:]):
    mdct.COLLECT = []
    for f in files:
        x, sr = sf.read(f, dtype='float64')
        if x.ndim > 1: x = x.mean(1)
        g = gcd(24000, sr); x = resample_poly(x, 24000 // g, sr // g)[:24000 * 10]
        if len(x) < 12000 or np.std(x) < 1e-5: continue
        lvl = np.sqrt(np.mean(x ** 2))
        for rel in (0.03, 0.1, 0.3, 1.0):  # same step grid as trainprior.py, widened by the compander
            for es in (3.0, 4.5):
                mdct_v2.encode_decode(x, rel * lvl ** 0.6, dict(M=M, prior='priors.npz', gamma=0.4, env_step_db=es, fc=12000, nf_gain=0.5, env_floor_rel=7.0, rnd=0.3, tilt=0.6, qpow=p), decode=False)
                mdct_v2.encode_decode(x, 2.5 * rel * lvl ** 0.6, dict(M=M, prior='priors.npz', gamma=0.4, env_step_db=es, fc=12000, nf_gain=0.5, env_floor_rel=7.0, rnd=0.3, tilt=0.6, qpow=p), decode=False)
    sfx = '_M%d' % M if M != 480 else ''
    tags = {('coef_nbr' if p == 1 else 'coef_nbr_p%g' % p) + sfx: (120, 16)}
    if M != 480: tags.update({'env3' + sfx: (12, 41), 'env4.5' + sfx: (12, 41)})
    for tag, shp in tags.items():
        cnt = np.zeros(shp)
        for t, ctx, sym in mdct.COLLECT:
            if t == tag: np.add.at(cnt, (ctx, sym), 1)
        out[tag] = (cnt + 0.5) / (cnt + 0.5).sum(1, keepdims=True)
        print(tag, int(cnt.sum()), flush=True)
np.savez('priors.npz', **out)
