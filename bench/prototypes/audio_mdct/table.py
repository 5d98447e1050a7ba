import json, glob, numpy as np
rows = []
def agg(ms, keys=('kbps', 'pesq', 'stoi', 'sisnr', 'lsd')):
    return {k: float(np.nanmean([m[k] for m in ms])) for k in keys}
out = []
for kind in ('speech', 'music'):
    out.append(f'\n### {kind} (dev/{kind}, {16 if kind=="speech" else 8} clips, same metric code for every row)\n')
    out.append('| codec | target | real kbps | PESQ-WB | STOI | SI-SNR dB | LSD<4k dB |')
    out.append('|---|---|---|---|---|---|---|')
    for v, label in (('env', 'MDCT, ctx=envelope only (KT adaptive)'), ('nbr', 'MDCT, ctx=envelope x neighbours (impr. 1)'), ('prior', 'MDCT, nbr + trained priors (impr. 2)'), ('prior_lowenv', 'MDCT, prior + half-rate envelope at <=3 kbps (impr. 3)'), ('M960prior', 'MDCT M=960 (80 ms window), nbr + priors'), ('prior_nf03', 'MDCT, nbr + priors, noise fill 0.3 at >=12 kbps'), ('final', '**FINAL**: priors + tilt 0.6 + half-rate env <=3 kbps + nf 0.3 >=6 kbps'), ('final_static', 'FINAL with static trained tables only (no adaptation; rANS-table compatible)')):
        try: R = json.load(open(f'res_{kind}_{v}.json'))
        except FileNotFoundError: continue
        for kb in sorted(set(m['target'] for m in R)):
            a = agg([m for m in R if m['target'] == kb])
            out.append(f"| {label} | {kb:g} | {a['kbps']:.2f} | {a['pesq']:.2f} | {a['stoi']:.3f} | {a['sisnr']:.1f} | {a['lsd']:.2f} |")
    B = json.load(open('res_baselines.json'))
    for cod, kb in (('opus', 6), ('mp3', 8), ('opus', 12), ('mp3', 24)):
        a = agg([m for m in B if m['kind'] == kind and m['codec'] == cod and m['target'] == kb])
        out.append(f"| {cod} {kb} kbps (aecodec.codecs.audio_baselines, same clips) | {kb} | {a['kbps']:.2f} | {a['pesq']:.2f} | {a['stoi']:.3f} | {a['sisnr']:.1f} | {a['lsd']:.2f} |")
print('\n'.join(out))
