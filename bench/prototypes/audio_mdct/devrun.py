import sys, json, time, numpy as np, evalh
kind = sys.argv[1]; variant = sys.argv[2]
clips = evalh.load_dev(kind)
rates = [float(r) for r in sys.argv[3].split(',')] if len(sys.argv) > 3 else [1.5, 3.0, 6.0, 12.0, 24.0]
def cfg_for(kb):
    c = dict(M=480, gamma=0.4, env_step_db=4.5 if kb <= 3 else 3.0, fc=12000, nf_gain=0.5, env_floor_rel=7.0, rnd=0.3, ctx_mode='nbr')
    if variant == 'env': c['ctx_mode'] = 'env'
    if variant.startswith('M960'): c['M'] = 960
    if variant == 'M960prior': c['prior'] = 'priors.npz'; c['prior_W'] = 32.0
    if variant.startswith('prior'): c['prior'] = 'priors.npz'; c['prior_W'] = 32.0
    if variant == 'prior_lowenv' and kb <= 3: c['env_tdec'] = 2
    if variant == 'prior_nf03' and kb >= 12: c['nf_gain'] = 0.3
    if variant == 'final_static':
        c.update(prior='priors.npz', prior_W=1e9, tilt=0.6)
        if kb <= 3: c['env_tdec'] = 2
        else: c['nf_gain'] = 0.3
    if variant == 'final':
        c.update(prior='priors.npz', prior_W=32.0, tilt=0.6)
        if kb <= 3: c['env_tdec'] = 2
        else: c['nf_gain'] = 0.3
    return c
out = []
for kb in rates:
    cfg = cfg_for(kb)
    for name, x in clips:
        t = time.time()
        y, k, D, info = evalh.code_at_rate(x, kb, cfg)
        m = evalh.metrics(x, y); m.update(kbps=k, target=kb, clip=name, D=D, env_kbps=info['env_bits']/8000*24000/len(x)*8, variant=variant, kind=kind)
        out.append(m)
    sub = [m for m in out if m['target'] == kb]
    print(kind, variant, kb, {k2: round(float(np.nanmean([m[k2] for m in sub])), 3) for k2 in ('kbps', 'env_kbps', 'pesq', 'stoi', 'sisnr', 'lsd')}, flush=True)
    json.dump(out, open(f'res_{kind}_{variant}.json', 'w'), indent=0)
