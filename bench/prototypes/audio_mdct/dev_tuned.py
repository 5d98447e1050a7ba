"""Dev check of the tuned long presets (auto_v2.TUNED) against preset 0: LSD<4k per clip for presets
0/1/2 at one rate, the per-clip oracle between 1 and 2, and the pick by the encoder-side measure
(auto_v2.lsd_enc); PESQ-WB too on speech. usage: python dev_tuned.py music 12 | speech 6"""
import sys, os, glob, numpy as np, soundfile as sf
import auto_v2, tune_lsd, evalh
kind = sys.argv[1]; kb = float(sys.argv[2])
def cfg(pid):
    c = auto_v2.preset_cfg(pid, kb)
    c.update(auto_v2.TUNED.get(pid, {}))
    return c
R = {p: [] for p in (0, 1, 2)}; E = {p: [] for p in (0, 1, 2)}; P = {p: [] for p in (0, 1, 2)}
for f in sorted(glob.glob(f'/work/shared/data/audio/dev/{kind}/*.flac')):
    x, sr = sf.read(f, dtype='float64'); x = x if x.ndim == 1 else x.mean(1)
    for p in (0, 1, 2):
        y, k, _ = tune_lsd.code_at_rate(x, kb, cfg(p), hi=3.0 if p == 0 else 30.0)
        R[p].append(evalh.lsd4k(x, y)); E[p].append(auto_v2.lsd_enc(x, y))
        if kind == 'speech': P[p].append(evalh.metrics(x, y)['pesq'])
    print(os.path.basename(f), [round(R[p][-1], 2) for p in (0, 1, 2)], 'enc', [round(E[p][-1], 2) for p in (0, 1, 2)], flush=True)
R = {p: np.array(v) for p, v in R.items()}; E = {p: np.array(v) for p, v in E.items()}
print('means', {p: round(R[p].mean(), 3) for p in R}, 'oracle 1/2', round(np.minimum(R[1], R[2]).mean(), 3),
      'enc-picked 1/2', round(np.where(E[1] <= E[2], R[1], R[2]).mean(), 3))
if kind == 'speech': print('pesq', {p: round(np.mean(P[p]), 3) for p in P})
