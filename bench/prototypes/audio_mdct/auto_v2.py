"""Per-file preset decision for mdct_v2 (issue 15, music LSD<4k). The encoder codes the file with each
preset at the target rate, decodes it itself, and keeps a long-window 'music' preset only when it lowers
its own log-spectral error (512-pt STFT, 0-8 kHz; not the evaluation's 1024-pt LSD<4k) by >= A_DB while
losing <= B_DB of SI-SNR against the FINAL preset. The choice costs 2 header bits, counted."""
import numpy as np
from scipy.signal import stft
import mdct_v2, tune_lsd

LONG = dict(qpow=0.75, gamma=0.6, lf_step=0.4, delta=0.05, rnd=0.35, env_tdec=1, nf_gain=0.4, tilt=0.3)
PRESETS = {0: {}, 1: dict(LONG, M=960), 2: dict(LONG, M=1920, gamma=0.7)}  # 0 = FINAL static
# The long presets after tune_long.py (training music only, 2026-12-05): finer steps below 4 kHz,
# a lower fill cap, a stronger compander. Sharper for music, worse for speech (dev_tuned.py).
TUNED = {1: dict(gamma=0.7, qpow=0.65, lf_step=0.3, rnd=0.3, tilt=0.15, nf_cap=0.4),
         2: dict(nf_gain=0.3, qpow=0.65, lf_step=0.3, tilt=0.15, nf_cap=0.4)}
A_DB, B_DB = 0.3, 3.0
HDR_BITS = 2


def preset_cfg(pid, kb):
    c = tune_lsd.final_static(kb); c.update(PRESETS[pid])
    return c


def lsd_enc(ref, deg):
    """encoder-side objective: log-spectral distance 0-8 kHz with a 512-point STFT"""
    _, _, R = stft(ref, 24000, nperseg=512, noverlap=384); _, _, D = stft(deg, 24000, nperseg=512, noverlap=384)
    k = int(8000 / 24000 * 512) + 1
    fl = 1e-8 * np.max(np.abs(R[:k]) ** 2)
    a = 10 * np.log10(np.maximum(np.abs(R[:k]) ** 2, fl)); b = 10 * np.log10(np.maximum(np.abs(D[:k]) ** 2, fl))
    return float(np.mean(np.sqrt(np.mean((a - b) ** 2, 0))))


def snr(ref, est):
    ref = ref - ref.mean(); est = est - est.mean()
    t = np.sum(est * ref) / (np.sum(ref ** 2) + 1e-8) * ref
    return float(10 * np.log10((np.sum(t ** 2) + 1e-8) / (np.sum((est - t) ** 2) + 1e-8)))


def segsnr(ref, est, n=480):
    """segmental SNR (20-ms frames, each clipped to [-10, 35] dB, frames within 50 dB of the loudest)"""
    T = len(ref) // n
    r = ref[:T * n].reshape(T, n); e = (est[:T * n] - ref[:T * n]).reshape(T, n)
    pr = np.sum(r ** 2, 1); keep = pr > 1e-5 * pr.max()
    s = 10 * np.log10((pr + 1e-12) / (np.sum(e ** 2, 1) + 1e-12))
    return float(np.mean(np.clip(s, -10, 35)[keep]))


def code_auto(x, kbps, presets=(0, 1, 2), a=A_DB, b=B_DB):
    """returns y, real kbps (header bits included), chosen preset id, every preset's output and scores"""
    dur = len(x) / 24000
    kb_eff = kbps - HDR_BITS / dur / 1000  # leave room for the preset id
    out = {}
    for pid in presets:  # FINAL keeps the prototype's bisection range; the long presets need larger D
        y, k, info = tune_lsd.code_at_rate(x, kb_eff, preset_cfg(pid, kbps), hi=3.0 if pid == 0 else 30.0)
        out[pid] = dict(y=y, kbps=k + HDR_BITS / dur / 1000, enc=lsd_enc(x, y), snr=snr(x, y))
    f = out[0]
    ok = [p for p in presets if p == 0 or (out[p]['kbps'] <= kbps and f['enc'] - out[p]['enc'] >= a
                                          and out[p]['snr'] - f['snr'] >= -b)]
    pid = min(ok, key=lambda p: out[p]['enc'])
    return out[pid]['y'], out[pid]['kbps'], pid, out
