"""Markdown rows for REPORT_LSD.md from res_<kind>_auto.json (devrun_v2.py) and res_<kind>_final_static.json"""
import json, numpy as np
K = ('kbps', 'pesq', 'stoi', 'sisnr', 'lsd')
print('| set | codec | target | real kbps (max) | PESQ-WB | STOI | SI-SNR | LSD<4k | presets chosen (0/1/2) |')
print('|---|---|---|---|---|---|---|---|---|')
for kind in ('speech', 'music'):
    for tag, f in (('FINAL static (prototype run)', f'res_{kind}_final_static.json'), ('**auto_v2**', f'res_{kind}_auto.json')):
        R = json.load(open(f))
        for kb in sorted(set(m['target'] for m in R)):
            s = [m for m in R if m['target'] == kb]
            a = {k: float(np.nanmean([m[k] for m in s])) for k in K}
            ch = '/'.join(str(sum(m.get('preset') == p for m in s)) for p in (0, 1, 2)) if 'preset' in s[0] else ''
            print(f"| {kind} | {tag} | {kb:g} | {a['kbps']:.2f} ({max(m['kbps'] for m in s):.2f}) | {a['pesq']:.2f} | {a['stoi']:.3f} | {a['sisnr']:.1f} | {a['lsd']:.2f} | {ch} |")
