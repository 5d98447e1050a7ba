"""Training-clip check of auto_v2's decision rule: codes every training clip with each preset once,
then replays the rule for a grid of (A_DB, B_DB). usage: python tune_auto.py  (writes res_tune_auto.json)"""
import json, os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, evalh, tune_lsd, auto_v2

rows = []
sets = [('speech', tune_lsd.load_speech_tune(3), [1.5, 3.0, 6.0, 12.0, 24.0]),
        ('music', tune_lsd.load_music_train() + tune_lsd.load_music_val(), [3.0, 6.0, 12.0, 24.0])]
for kind, clips, rates in sets:
    for kb in rates:
        for n, x in clips:
            for pid in auto_v2.PRESETS:
                y, k, _ = tune_lsd.code_at_rate(x, kb, auto_v2.preset_cfg(pid, kb))
                m = evalh.metrics(x, y)
                m.update(enc=auto_v2.lsd_enc(x, y), snr_enc=auto_v2.snr(x, y), seg=auto_v2.segsnr(x, y), kbps=k, clip=n, kb=kb, pid=pid, kind=kind)
                rows.append(m)
        print(kind, kb, flush=True)
json.dump(rows, open('res_tune_auto.json', 'w'), indent=0)
g = {}
for r in rows: g.setdefault((r['kind'], r['kb'], r['clip']), {})[r['pid']] = r
for a in (0.0, 0.3, 0.5, 1.0):
    for b in (2.0, 2.5, 3.0, 3.5):
        res = {}
        for (kind, kb, c), p in g.items():
            f = p[0]
            ok = [q for q in p if q == 0 or (f['enc'] - p[q]['enc'] >= a and p[q]['snr_enc'] - f['snr_enc'] >= -b)]
            s = p[min(ok, key=lambda q: p[q]['enc'])]
            res.setdefault((kind, kb), []).append((s['pesq'] - f['pesq'], s['stoi'] - f['stoi'], s['lsd'], f['lsd'], s['pid']))
        sp = ' '.join(f"{kb:g}:{np.nanmean([v[0] for v in r]):+.3f}/{np.mean([v[1] for v in r]):+.3f}" for (kd, kb), r in sorted(res.items()) if kd == 'speech')
        mu = ' '.join(f"{kb:g}:{np.mean([v[2] for v in r]):.2f}({np.mean([v[3] for v in r]):.2f}) tr6 {np.mean([v[2] for v in r[:6]]):.2f} " + ''.join(str(v[4]) for v in r) for (kd, kb), r in sorted(res.items()) if kd == 'music')
        print(f'A={a} B={b} | speech dPESQ/dSTOI {sp} | music LSD {mu}')
