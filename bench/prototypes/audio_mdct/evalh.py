import os, sys, time, glob, json
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, soundfile as sf
from scipy.signal import resample_poly, stft
import pesq as _pesq, pystoi
import mdct

DEV = '/work/shared/data/audio/dev'
def load_dev(kind):
    fs = sorted(glob.glob(f'{DEV}/{kind}/*.flac'))
    out = []
    for f in fs:
        x, sr = sf.read(f, dtype='float64'); assert sr == 24000
        if x.ndim > 1: x = x.mean(1)
        out.append((os.path.basename(f), x))
    return out

def load_tune():
    """training-set clips (never dev) for tuning: 8-s segments at 24 kHz"""
    out = []
    sp = sorted(glob.glob('/work/shared/data/audio/speech/pyannote/*'))[:3] + \
         sorted(glob.glob('/work/shared/data/audio/speech/codec2/*16k*'))[:2] + \
         sorted(glob.glob('/work/shared/data/audio/speech/tuxpaint/*'))[:0]
    for f in sp:
        x, sr = sf.read(f, dtype='float64')
        if x.ndim > 1: x = x.mean(1)
        from math import gcd
        g = gcd(24000, sr); x = resample_poly(x, 24000 // g, sr // g)
        x = x[24000:24000 * 9]
        out.append(('t_' + os.path.basename(f), x))
    return out

def lsd4k(ref, deg):
    _, _, R = stft(ref, 24000, nperseg=1024, noverlap=768)
    _, _, D = stft(deg, 24000, nperseg=1024, noverlap=768)
    k = int(4000 / 24000 * 1024) + 1
    fl = 1e-8 * np.max(np.abs(R[:k]) ** 2)  # floor: 80 dB below the reference's peak bin
    a = 10 * np.log10(np.maximum(np.abs(R[:k]) ** 2, fl)); b = 10 * np.log10(np.maximum(np.abs(D[:k]) ** 2, fl))
    return float(np.mean(np.sqrt(np.mean((a - b) ** 2, 0))))

def si_snr(ref, est):
    ref = ref - ref.mean(); est = est - est.mean()
    s = np.sum(est * ref) / (np.sum(ref ** 2) + 1e-8); t = s * ref; n = est - t
    return float(10 * np.log10((np.sum(t ** 2) + 1e-8) / (np.sum(n ** 2) + 1e-8)))

def metrics(ref, deg, speech=True):
    r16 = resample_poly(ref, 2, 3); d16 = resample_poly(deg, 2, 3)
    m = dict(lsd=lsd4k(ref, deg), sisnr=si_snr(ref, deg))
    try: m['pesq'] = float(_pesq.pesq(16000, r16, d16, 'wb'))
    except Exception as e: m['pesq'] = float('nan')
    m['stoi'] = float(pystoi.stoi(ref, deg, 24000))
    return m

def code_at_rate(x, kbps, cfg, lo=1e-3, hi=3.0, iters=10):
    """bisection on global step D (log) so real rate <= kbps; returns y, real kbps, D"""
    dur = len(x) / 24000
    best = None
    a, b = np.log(lo), np.log(hi)
    for _ in range(iters):
        m = (a + b) / 2
        _, bits, info = mdct.encode_decode(x, np.exp(m), cfg, decode=False)
        k = bits / dur / 1000
        if k <= kbps:
            best = (None, k, np.exp(m), info); b = m
        else:
            a = m
    if best is None:
        y, bits, info = mdct.encode_decode(x, hi, cfg); best = (y, bits / dur / 1000, hi, info)
    y, bits, info = mdct.encode_decode(x, best[2], cfg)
    return y, bits / dur / 1000, best[2], info

def run(clips, kbps_list, cfg_for_rate, speech=True, tag=''):
    rows = []
    for kb in kbps_list:
        cfg = cfg_for_rate(kb)
        ms = []; ks = []
        for name, x in clips:
            y, k, D, info = code_at_rate(x, kb, cfg)
            m = metrics(x, y, speech); m['kbps'] = k; ms.append(m)
        agg = {key: float(np.nanmean([m[key] for m in ms])) for key in ms[0]}
        agg['target'] = kb; agg['tag'] = tag
        rows.append(agg)
        print(f"{tag:14s} {kb:5.1f} real {agg['kbps']:6.2f}  PESQ {agg['pesq']:.3f}  STOI {agg['stoi']:.3f}  SI-SNR {agg['sisnr']:6.2f}  LSD {agg['lsd']:.2f}", flush=True)
    return rows
