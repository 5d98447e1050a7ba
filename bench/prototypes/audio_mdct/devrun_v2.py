"""One dev run of auto_v2 (per-file preset choice). usage: python devrun_v2.py speech|music [rates]
writes res_<kind>_auto.json (per clip: metrics, real kbps incl. header, chosen preset, and every preset's metrics)"""
import sys, json, os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, evalh, auto_v2

kind = sys.argv[1]
rates = [float(r) for r in sys.argv[2].split(',')] if len(sys.argv) > 2 else [1.5, 3.0, 6.0, 12.0, 24.0]
clips = evalh.load_dev(kind)
out = []
for kb in rates:
    for name, x in clips:
        y, k, pid, allp = auto_v2.code_auto(x, kb)
        m = evalh.metrics(x, y)
        # every preset's metrics too, so other decision rules (trade-off curve) can be replayed without re-coding
        per = {str(p): dict(evalh.metrics(x, o['y']), kbps=o['kbps'], enc=o['enc'], snr_enc=o['snr']) for p, o in allp.items()}
        m.update(kbps=k, target=kb, clip=name, preset=pid, per_preset=per, kind=kind)
        out.append(m)
    sub = [m for m in out if m['target'] == kb]
    print(kind, kb, {k2: round(float(np.nanmean([m[k2] for m in sub])), 3) for k2 in ('kbps', 'pesq', 'stoi', 'sisnr', 'lsd')},
          'max kbps', round(max(m['kbps'] for m in sub), 3), 'presets', ''.join(str(m['preset']) for m in sub), flush=True)
    json.dump(out, open(f'res_{kind}_auto.json', 'w'), indent=0)
