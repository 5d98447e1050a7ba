"""Would switching windows within a file (block switching) beat the per-file preset choice on
music LSD<4k? Codes each dev clip with presets 0/1/2 (auto_v2.PRESETS) at one rate and, per
segment of 0.5/1/2 s, keeps the preset whose metric frames score best there: a per-segment oracle
that ignores transition windows and moves no bits between segments (so it is optimistic).
Needs priors.npz (trainprior.py, then trainprior_v2.py 960 0.75 / 1920 0.75 / 480 0.75).
usage: python segment_oracle.py music 12"""
import sys, glob, numpy as np, soundfile as sf
import os
import auto_v2, tune_lsd
from scipy.signal import stft
def frames_lsd(r, e):
    f,_,R = stft(r,24000,nperseg=1024,noverlap=768); E = stft(e,24000,nperseg=1024,noverlap=768)[2]
    k=f<=4000; R=np.abs(R[k])**2; E=np.abs(E[k])**2; fl=max(1e-8*R.max(),1e-300)
    d=10*np.log10(np.maximum(R,fl))-10*np.log10(np.maximum(E,fl)); return np.sqrt(np.mean(d**2,0))
kind = sys.argv[1]; kb = float(sys.argv[2])
res = {p: [] for p in (0,1,2)}; seg = {s: [] for s in (0.5,1,2)}; best=[]
for p in sorted(glob.glob(f'/work/shared/data/audio/dev/{kind}/*.flac')):
    x, sr = sf.read(p, dtype='float64'); x = x if x.ndim==1 else x.mean(1)
    fl = {}
    for pid in (0,1,2):
        y, k, _ = tune_lsd.code_at_rate(x, kb, auto_v2.preset_cfg(pid, kb), hi=3.0 if pid==0 else 30.0)
        fl[pid] = frames_lsd(x, y); res[pid].append(fl[pid].mean())
    best.append(min(fl[q].mean() for q in fl))
    F = np.stack([fl[q] for q in (0,1,2)])
    for s in seg:
        n = int(s*24000/256); T=F.shape[1]; tot=[]
        for a in range(0,T,n): tot.append(F[:,a:a+n].mean(1).min()*F[:,a:a+n].shape[1])
        seg[s].append(sum(tot)/T)
    print(os.path.basename(p), [round(res[q][-1],2) for q in (0,1,2)], {s: round(seg[s][-1],2) for s in seg}, flush=True)
print('mean presets', [round(np.mean(res[q]),2) for q in (0,1,2)], 'clip oracle', round(np.mean(best),2), 'segment oracle', {s: round(np.mean(seg[s]),2) for s in seg})
