"""Coordinate search around a long-window preset of auto_v2 (1 or 2) on TRAINING music only (the 6
tune_lsd.load_music_train clips; the 9 load_music_val clips are printed, never used to choose):
music LSD<4k at 12 kbps, two passes over the grid, a change kept when it gains >= 0.01 dB.
Writes tuned_p{1,2}.json (the values auto_v2.TUNED holds). usage: python tune_long.py 1|2"""
import sys, os, json, numpy as np
import auto_v2, tune_lsd, evalh
tune = tune_lsd.load_music_train(20); val = tune_lsd.load_music_val()
def score(clips, cfg, kb=12):
    return float(np.mean([evalh.lsd4k(x, tune_lsd.code_at_rate(x, kb, cfg, hi=30.0)[0]) for _, x in clips]))
pid = int(sys.argv[1])
base = auto_v2.preset_cfg(pid, 12)
grid = {'nf_gain': [0.3, 0.5, 0.6], 'gamma': [0.5, 0.6, 0.7, 0.8], 'qpow': [0.65, 0.75, 0.85], 'lf_step': [0.3, 0.4, 0.55],
        'rnd': [0.3, 0.35, 0.42], 'delta': [0.0, 0.05, 0.1], 'tilt': [0.15, 0.3, 0.5], 'nf_cap': [0.4, 0.5, 0.7], 'lf_hz': [3000, 4000, 5000]}
best = score(tune, base); print('base', pid, round(best, 3), 'val', round(score(val, base), 3), flush=True)
cfg = dict(base)
for rnd_ in range(2):
    for k, vals in grid.items():
        for v in vals:
            if cfg.get(k) == v: continue
            c = dict(cfg); c[k] = v; s = score(tune, c)
            if s < best - 0.01: best, cfg = s, c; print('  take', k, v, round(s, 3), flush=True)
    print('round', rnd_, round(best, 3), {k: cfg.get(k) for k in grid}, 'val', round(score(val, cfg), 3), flush=True)
json.dump({k: cfg.get(k) for k in grid}, open(f'tuned_p{pid}.json', 'w'))
