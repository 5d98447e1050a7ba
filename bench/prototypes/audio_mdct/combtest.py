import numpy as np, evalh, mdct
from scipy.signal import welch
sr = 24000; t = np.arange(sr * 4) / sr
tone = sum(0.3 / h * np.sin(2 * np.pi * 220 * h * t) for h in range(1, 11))
f = 200 * (4000 / 200) ** (t / 4); chirp = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / sr)
cfg = dict(M=480, gamma=0.4, env_step_db=3.0, fc=12000, nf_gain=0.3, env_floor_rel=7.0, rnd=0.3, ctx_mode='nbr', prior='priors.npz', prior_W=32.0, tilt=0.6)
for name, x in (('harmonic 220 Hz', tone), ('chirp 200-4000 Hz', chirp)):
    y, k, D, _ = evalh.code_at_rate(x, 12.0, cfg)
    fx, Px = welch(x, sr, nperseg=4800); _, Py = welch(y, sr, nperseg=4800)  # 5 Hz bins
    ex = 10 * np.log10((Py + 1e-12) / (Px + 1e-12))
    band = (fx > 20) & (fx < 8000)
    # frame-rate comb test: output power at multiples of 50 Hz (24000/480) vs neighbours, where input is weak
    comb = [int(round(m / 5)) for m in np.arange(50, 8000, 50)]
    weak = [i for i in comb if 10 * np.log10(Px[i] + 1e-12) < 10 * np.log10(Px.max()) - 60]
    cz = np.mean([10 * np.log10(Py[i] + 1e-15) - 10 * np.log10(np.mean(Py[[i - 3, i - 2, i + 2, i + 3]]) + 1e-15) for i in weak]) if weak else float('nan')
    pk = 10 * np.log10(Py[band].max() / Px[band].max())
    print(f'{name}: real {k:.2f} kbps, SI-SNR {evalh.si_snr(x, y):.1f} dB, output peak vs input peak {pk:+.2f} dB, '
          f'mean level at 50-Hz multiples (frame rate) where input < -60 dB rel. peak, vs +-10-15 Hz neighbours: {cz:+.2f} dB over {len(weak)} lines; '
          f'output-minus-input spectrum, 95th pct over 20-8000 Hz: {np.percentile(ex[band], 95):+.1f} dB')
