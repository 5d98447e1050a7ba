"""Music LSD<4k tuning on TRAINING clips (never dev). usage: python tune_lsd.py VARIANT[,VARIANT..] [music|speech|both]
Variants are named configs in VARIANTS (built on the FINAL static config)."""
import os, sys, glob
os.environ.setdefault('OMP_NUM_THREADS', '1')
from math import gcd
import numpy as np, soundfile as sf
from scipy.signal import resample_poly
import evalh, mdct_v2

MUSIC_TRAIN = ['0ad/audio__music__Mirage.ogg', '0ad/audio__music__Taiko_1.ogg', 'etr/etr__music__race1-jt.ogg',
               'hedgewars/hedgewars__Data__Music__sdmusic.ogg', 'wesnoth_music/wesnoth__1.16__data__core__music__battle-epic.ogg',
               'wesnoth_music/wesnoth__1.16__data__core__music__transience.ogg']


def load_music_train(start_s=20):
    """6 training music clips (other games than dev's SuperTuxKart), 8 s from start_s, mono 24 kHz"""
    out = []
    for f in MUSIC_TRAIN:
        x, sr = sf.read('/work/shared/data/audio/music/' + f, dtype='float64')
        if x.ndim > 1: x = x.mean(1)
        g = gcd(24000, sr); x = resample_poly(x, 24000 // g, sr // g)
        out.append(('m_' + os.path.basename(f), x[24000 * start_s:24000 * (start_s + 8)]))
    return out


def load_music_val():
    """validation music (training data, not dev): the same tracks 20 s later + 3 percussive/solo clips"""
    out = [('v' + n, x) for n, x in load_music_train(40)]
    for f in ('gcompris/instruments__resource__bongo.ogg', 'gcompris/instruments__resource__timpani.ogg',
              'gcompris/instruments__resource__piano.ogg'):
        x, sr = sf.read('/work/shared/data/audio/music/' + f, dtype='float64')
        if x.ndim > 1: x = x.mean(1)
        g = gcd(24000, sr); out.append(('v_' + os.path.basename(f), resample_poly(x, 24000 // g, sr // g)[:24000 * 8]))
    return out


def load_speech_tune(extra=0):
    """evalh.load_tune without its empty clip (a codec2 file shorter than 1 s), plus `extra` more
    8-s pyannote training segments (for checking the preset decision only)"""
    out = [(n, x) for n, x in evalh.load_tune() if len(x) > 24000]
    for f in sorted(glob.glob('/work/shared/data/audio/speech/pyannote/*'))[3:3 + extra]:
        x, sr = sf.read(f, dtype='float64')
        if x.ndim > 1: x = x.mean(1)
        g = gcd(24000, sr); out.append(('x_' + os.path.basename(f), resample_poly(x, 24000 // g, sr // g)[24000:24000 * 9]))
    return out


def final_static(kb):
    c = dict(M=480, gamma=0.4, env_step_db=4.5 if kb <= 3 else 3.0, fc=12000, nf_gain=0.5, env_floor_rel=7.0,
             rnd=0.3, ctx_mode='nbr', prior='priors.npz', prior_W=1e9, tilt=0.6)
    if kb <= 3: c['env_tdec'] = 2
    else: c['nf_gain'] = 0.3
    return c


def code_at_rate(x, kbps, cfg, codec=mdct_v2, lo=1e-3, hi=3.0, iters=10):
    """evalh.code_at_rate for any codec module: bisection on log D, real rate <= kbps"""
    dur = len(x) / 24000; best = None
    a, b = np.log(lo), np.log(hi)
    for _ in range(iters):
        m = (a + b) / 2
        _, bits, _ = codec.encode_decode(x, np.exp(m), cfg, decode=False)
        if bits / dur / 1000 <= kbps: best = np.exp(m); b = m
        else: a = m
    y, bits, info = codec.encode_decode(x, hi if best is None else best, cfg)
    info['D'] = hi if best is None else best
    return y, bits / dur / 1000, info


def variant(name):
    """name 'a=1,b=2' -> overrides on final_static; values parsed as float or kept as str"""
    def cfg(kb):
        c = final_static(kb)
        for kv in filter(None, name.split(',')):
            k, v = kv.split('=')
            if '@' in k:  # key@maxkbps: only at rates <= maxkbps; key@-minkbps: only at rates >= minkbps
                k, r = k.split('@'); r = float(r)
                if (r > 0 and kb > r) or (r < 0 and kb < -r): continue
            try: v = int(v) if v.isdigit() else float(v)
            except ValueError: v = None if v == 'None' else v
            c[k] = v
        return c
    return cfg


def evaluate(clips, rates, cfgf, pesq=True):
    rows = {}
    for kb in rates:
        ms = []
        for _, x in clips:
            y, k, info = code_at_rate(x, kb, cfgf(kb))
            m = dict(lsd=evalh.lsd4k(x, y), kbps=k)
            if pesq: m.update({kk: v for kk, v in evalh.metrics(x, y).items() if kk in ('pesq', 'stoi', 'sisnr')})
            ms.append(m)
        rows[kb] = {kk: float(np.nanmean([m[kk] for m in ms])) for kk in ms[0]}
    return rows


if __name__ == '__main__':
    names = sys.argv[1].split(';'); kind = sys.argv[2] if len(sys.argv) > 2 else 'music'
    mrates = [float(r) for r in os.environ.get('MR', '12').split(',')]
    srates = [float(r) for r in os.environ.get('SR_', '3,6,12,24').split(',')]
    mus = load_music_train() if kind in ('music', 'both') else []
    sp = load_speech_tune() if kind in ('speech', 'both') else []
    for n in names:
        if mus:
            for kb, r in evaluate(mus, mrates, variant(n), pesq=os.environ.get('MP', '0') == '1').items():
                print(f'MUS {n:40s} {kb:5.1f} ' + ' '.join(f'{k} {v:.3f}' for k, v in r.items()), flush=True)
        if sp:
            for kb, r in evaluate(sp, srates, variant(n)).items():
                print(f'SPE {n:40s} {kb:5.1f} ' + ' '.join(f'{k} {v:.3f}' for k, v in r.items()), flush=True)
