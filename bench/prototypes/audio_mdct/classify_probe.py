"""Speech/music clip classifier probe for the preset decision: 8 hand features (frame-energy dynamic range,
low-energy fraction, 4 Hz modulation share, spectral flux, voicing fraction and on/off rate, centroid
spread, level spread), numpy logistic regression, trained on training speech (long recordings and 8 s
of concatenated words) and training music, each also with recorded noise at 0-20 dB; leave-one-source-out
errors, then dev once. usage: python classify_probe.py"""
import glob, numpy as np, soundfile as sf
from math import gcd
from scipy.signal import resample_poly, stft
rng = np.random.default_rng(0)
SR = 24000
def read(f):
    x, sr = sf.read(f, dtype='float64'); x = x if x.ndim == 1 else x.mean(1)
    g = gcd(SR, sr); return resample_poly(x, SR//g, sr//g)
def feats(x):
    f, t, S = stft(x, SR, nperseg=480, noverlap=240); P = np.abs(S)**2 + 1e-10   # 10 ms hop
    e = P.sum(0); le = 10*np.log10(e); act = le > le.max() - 50
    dyn = np.percentile(le, 95) - np.percentile(le, 20)
    low = np.mean(e < 0.5*e.mean())
    env = np.sqrt(e) - np.sqrt(e).mean()
    M = np.abs(np.fft.rfft(env*np.hanning(len(env))))**2; fm = np.fft.rfftfreq(len(env), 0.01)
    mod4 = M[(fm>=2)&(fm<=8)].sum()/(M[(fm>=0.5)&(fm<=16)].sum()+1e-12)
    L = np.log(P[:160]); dL = np.diff(L, axis=1)
    flux = np.mean(np.abs(dL)[:, act[1:]]) if act[1:].any() else 0
    # voicing: normalised autocorrelation peak in 2.5-12.5 ms lags (80-400 Hz), per 40 ms frame
    n = 960; fr = [x[i:i+n] for i in range(0, len(x)-n, 480)]
    v = []
    for a in fr:
        a = a - a.mean(); r = np.correlate(a, a, 'full')[n-1:]; 
        v.append(r[60:300].max()/(r[0]+1e-12) if r[0] > 1e-9 else 0)
    v = np.array(v); voiced = v > 0.5
    switches = np.mean(np.abs(np.diff(voiced.astype(int)))) if len(v) > 1 else 0   # voicing on/off rate
    # centroid variability
    cen = (f[:, None]*P).sum(0)/P.sum(0); cstd = np.std(cen[act])/(np.mean(cen[act])+1e-9)
    return np.array([dyn, low, mod4, flux, np.mean(voiced), switches, cstd, np.std(le[act])])
NAMES = ['dyn', 'low', 'mod4', 'flux', 'voiced', 'vswitch', 'cstd', 'lestd']
noise = [read(f) for f in sorted(glob.glob('/work/shared/data/audio/noise/*/*'))[:30]]
def add_noise(x):
    nz = noise[rng.integers(len(noise))]
    if len(nz) < len(x): nz = np.tile(nz, len(x)//len(nz)+1)
    s = rng.integers(0, len(nz)-len(x)+1); nz = nz[s:s+len(x)]
    snr = rng.uniform(0, 20); return x + nz*np.sqrt(np.mean(x**2)/(np.mean(nz**2)+1e-12))*10**(-snr/20)
def segments(kind, every, label):
    """8 s segments (at least 4 s, not silent) every ``every`` seconds of each training file of ``kind``."""
    out = []
    for f in sorted(glob.glob(f'/work/shared/data/audio/{kind}/*/*')):
        x = read(f)
        for s in range(0, max(1, len(x)//SR - 7), every):
            seg = x[s*SR:(s+8)*SR]
            if len(seg) >= 4*SR and np.std(seg) > 1e-4: out.append((label + f.split('/')[-2], seg))
    return out
def speech_clips():
    out = segments('speech', 10, 'long:')
    shorts = [f for f in sorted(glob.glob('/work/shared/data/audio/speech/*/*')) if f.split('/')[-2] in ('klettres', 'ktuberling', 'tuxpaint')]
    for k in range(60):   # 8 s of words with short pauses, as running speech
        seg = []
        while sum(map(len, seg)) < 8*SR:
            w = read(shorts[rng.integers(len(shorts))]); seg += [w, np.zeros(int(rng.uniform(0.05, 0.4)*SR))]
        out.append(('words', np.concatenate(seg)[:8*SR]))
    return out
sp, mu = speech_clips(), segments('music', 20, 'music:')
X, y, g = [], [], []
for lab, clips in ((0, sp), (1, mu)):
    for name, x in clips:
        X.append(feats(x)); y.append(lab); g.append(name)
        X.append(feats(add_noise(x))); y.append(lab); g.append(name + '+noise')
X, y = np.array(X), np.array(y)
print('train', (y==0).sum(), 'speech', (y==1).sum(), 'music')
def fit(X, y, l2=1e-2, iters=3000):
    mu_, sd_ = X.mean(0), X.std(0)+1e-9; Z = (X-mu_)/sd_; w = np.zeros(Z.shape[1]); b = 0.0
    cw = np.where(y==1, 0.5/np.mean(y==1), 0.5/np.mean(y==0))
    for _ in range(iters):
        p = 1/(1+np.exp(-(Z@w+b))); gr = (p-y)*cw
        w -= 0.1*(Z.T@gr/len(y) + l2*w); b -= 0.1*gr.mean()
    return mu_, sd_, w, b
def prob(m, X): mu_, sd_, w, b = m; return 1/(1+np.exp(-(((X-mu_)/sd_)@w+b)))
m = fit(X, y); p = prob(m, X)
print('train acc speech %.3f music %.3f' % (np.mean(p[y==0] < 0.5), np.mean(p[y==1] >= 0.5)))
print('coef', dict(zip(NAMES, np.round(m[2], 2))))
# held-out by source group
groups = sorted(set(n.split('+')[0] for n in g)); errs = []
for grp in groups:
    te = np.array([n.split('+')[0] == grp for n in g]); mm = fit(X[~te], y[~te]); pp = prob(mm, X[te])
    errs.append((grp, int(te.sum()), float(np.mean((pp >= 0.5) != y[te]))))
print('leave-one-source-out errors', [(a, n, round(e, 2)) for a, n, e in errs])
for kind in ('speech', 'music'):
    ps = [float(prob(m, feats(read(f))[None])[0]) for f in sorted(glob.glob(f'/work/shared/data/audio/dev/{kind}/*'))]
    print('dev', kind, 'p(music)', np.round(ps, 2))
