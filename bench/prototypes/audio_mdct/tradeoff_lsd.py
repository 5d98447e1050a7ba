"""Replay decision rules on the per-preset dev results of devrun_v2.py (no re-coding): the LSD vs speech
PESQ trade-off of the guard B_DB (A_DB fixed). Presets over the target rate are never chosen."""
import json, numpy as np
S = json.load(open('res_speech_auto.json')); Mu = json.load(open('res_music_auto.json'))


def pick(r, a, b, allowed):
    p = r['per_preset']; f = p['0']
    ok = ['0'] + [q for q in allowed if p[q]['kbps'] <= r['target'] and f['enc'] - p[q]['enc'] >= a and p[q]['snr_enc'] - f['snr_enc'] >= -b]
    return p[min(ok, key=lambda q: p[q]['enc'])]


print('| rule | speech PESQ 1.5/3/6/12/24 | speech STOI 1.5/3/6/12/24 | music LSD<4k 6/12/24 | music PESQ 12 |')
print('|---|---|---|---|---|')
for name, a, b, allowed in [('FINAL only', 0, -1e9, '12'), ('auto, B=1 dB', 0.3, 1, '12'), ('auto, B=2 dB', 0.3, 2, '12'),
                            ('auto, B=3 dB (chosen on training)', 0.3, 3, '12'), ('auto, B=4 dB', 0.3, 4, '12'),
                            ('auto, no SNR guard', 0.3, 1e9, '12'), ('auto, no guard, M=960 preset only', 0.3, 1e9, '1'),
                            ('always preset 1 (M=960) if within rate', -1e9, 1e9, '1')]:
    sp = {kb: [pick(r, a, b, allowed) for r in S if r['target'] == kb] for kb in (1.5, 3.0, 6.0, 12.0, 24.0)}
    mu = {kb: [pick(r, a, b, allowed) for r in Mu if r['target'] == kb] for kb in (6.0, 12.0, 24.0)}
    f = lambda d, k, fmt: '/'.join(fmt % np.nanmean([m[k] for m in v]) for v in d.values())
    print(f"| {name} | {f(sp, 'pesq', '%.2f')} | {f(sp, 'stoi', '%.3f')} | {f(mu, 'lsd', '%.2f')} | {np.nanmean([m['pesq'] for m in mu[12.0]]):.2f} |")
