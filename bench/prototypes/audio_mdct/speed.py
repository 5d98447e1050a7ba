import time, numpy as np, evalh, mdct
clips = evalh.load_dev('speech')[:4] + evalh.load_dev('music')[:2]
cfg = dict(M=480, gamma=0.4, env_step_db=3.0, fc=12000, nf_gain=0.5, env_floor_rel=7.0, rnd=0.3, ctx_mode='nbr', prior='priors.npz')
dur = sum(len(x) for _, x in clips) / 24000
for D in (0.05,):
    te = td = 0
    for _, x in clips:
        Dx = D * np.sqrt(np.mean(x**2))**0.6
        t = time.perf_counter(); mdct.encode_decode(x, Dx, cfg, decode=False); te += time.perf_counter() - t
        t = time.perf_counter(); mdct.encode_decode(x, Dx, cfg, decode=True); tb = time.perf_counter() - t
        td += tb
    td -= te  # decode-only part ~= full - encode-only
    print(f'audio {dur:.0f}s  encode (1 pass, fixed step) {dur/te:.0f}x RT   decode (dequant+noisefill+IMDCT) {dur/max(td,1e-9):.0f}x RT   full enc+dec {dur/(te+td):.0f}x RT')
    # MDCT / IMDCT alone
    x = clips[0][1]; t = time.perf_counter(); X = mdct.mdct(x, 480); y = mdct.imdct(X, 480, len(x)); print('mdct+imdct only', f'{len(x)/24000/(time.perf_counter()-t):.0f}x RT')
