"""Could the encoder choose between preset 0 and tuned preset 1 by decoding both (analysis by
synthesis)? Per clip: LSD gain of preset 1 with a 1024-point STFT, its LSD loss with a 128-point one
(time smearing), and its SI-SNR and segmental-SNR losses, on training speech (30 segments), training
music (10) and dev. usage: python choose_by_synthesis.py 12"""
import sys, os, glob, numpy as np, soundfile as sf
import auto_v2, tune_lsd
from math import gcd
from scipy.signal import resample_poly, stft
def lsdn(r, e, n, hz=8000):
    f,_,R = stft(r,24000,nperseg=n,noverlap=n*3//4); E = stft(e,24000,nperseg=n,noverlap=n*3//4)[2]
    k=f<=hz; R=np.abs(R[k])**2; E=np.abs(E[k])**2; fl=max(1e-8*R.max(),1e-300)
    d=10*np.log10(np.maximum(R,fl))-10*np.log10(np.maximum(E,fl)); return float(np.mean(np.sqrt(np.mean(d**2,0))))
def load(f, starts):
    x, sr = sf.read(f, dtype='float64'); x = x if x.ndim == 1 else x.mean(1)
    g = gcd(24000, sr); x = resample_poly(x, 24000//g, sr//g); out=[]
    for s in starts:
        seg = x[int(s*24000):int((s+8)*24000)]
        if len(seg) >= 4*24000 and np.std(seg) > 1e-4: out.append(seg)
    return out
sets = {'train speech': [s for f in sorted(glob.glob('/work/shared/data/audio/speech/*/*')) for s in load(f, (0, 10))][:30],
        'train music': [s for f in sorted(glob.glob('/work/shared/data/audio/music/*/*'))[::2] for s in load(f, (20,))],
        'dev speech': [s for f in sorted(glob.glob('/work/shared/data/audio/dev/speech/*')) for s in load(f, (0,))],
        'dev music': [s for f in sorted(glob.glob('/work/shared/data/audio/dev/music/*')) for s in load(f, (0,))]}
kb = float(sys.argv[1])
for name, clips in sets.items():
    rows = []
    for x in clips:
        c0 = auto_v2.preset_cfg(0, kb); c1 = auto_v2.preset_cfg(1, kb); c1.update(auto_v2.TUNED[1])
        y0 = tune_lsd.code_at_rate(x, kb, c0, hi=3.0)[0]; y1 = tune_lsd.code_at_rate(x, kb, c1, hi=30.0)[0]
        rows.append((lsdn(x,y0,1024)-lsdn(x,y1,1024), lsdn(x,y1,128)-lsdn(x,y0,128), auto_v2.snr(x,y0)-auto_v2.snr(x,y1), auto_v2.segsnr(x,y0)-auto_v2.segsnr(x,y1)))
    a = np.array(rows)
    print(name, len(clips), 'gain_long min/med/max', np.round(np.percentile(a[:,0],[0,50,100]),2), 'loss_short', np.round(np.percentile(a[:,1],[0,50,100]),2),
          'diff', np.round(np.percentile(a[:,0]-a[:,1],[0,10,50,90,100]),2), 'segsnr loss', np.round(np.percentile(a[:,3],[0,50,100]),2), flush=True)
