"""MDCT codec v2 (issue 15, music LSD<4k work): mdct.py's FINAL pipeline with extra switches for the
noise-fill level, per-region bit allocation and coded noise-fill side info. With no new switch set
it reproduces mdct.encode_decode (no harmonic fill) bit for bit. Every side-info bit is counted."""
import numpy as np
import mdct
from mdct import SR, band_edges, adaptive_bits, adaptive_bits_prior, _load_prior, eg0_bits

DEFAULT = dict(M=480, env_step_db=3.0, gamma=0.5, tilt=0.0, rnd=0.35, delta=0.15,
               fc=12000, nf_gain=0.7, nf_cap=0.5, env_floor=-14.0, env_floor_rel=2.0, ctx_mode='env', seed=0,
               # v2 switches (defaults = v1 behaviour)
               lf_hz=4000, lf_step=1.0,
               nf_tsmooth=0.0, nfq_bits=0, nfq_step_db=3.0, nfq_tgain=0.7, nf_table=None, nf_tgain=1.0, qpow=1.0, win='sine')


def fill_ctx(aq):
    """decoder-side class of each bin from decoded |q| around it (frame t-1 and t, both sides):
    prev-frame same bin (0,1,2+) x current-frame k+-1 max (0,1,2+) x any of prev k+-1, current k+-2 (0,1)"""
    a = np.minimum(aq, 2)
    P = np.zeros_like(a); P[1:] = a[:-1]
    Pp = np.pad(P, ((0, 0), (1, 1))); Cp = np.pad(a, ((0, 0), (2, 2)))
    n2 = np.maximum(Cp[:, 1:-3], Cp[:, 3:-1])
    n3 = ((Pp[:, :-2] + Pp[:, 2:] + Cp[:, :-4] + Cp[:, 4:]) > 0).astype(np.int64)
    return (P * 3 + n2) * 2 + n3  # 18 classes


_B = {}
def _basis(M, win):
    """orthonormal TDAC MDCT basis; win 'sine' (as mdct.py) or 'kbdA' (Kaiser-Bessel-derived, alpha A, as AAC)"""
    if (M, win) not in _B:
        n = np.arange(2 * M)[:, None]; k = np.arange(M)[None, :]
        C = np.cos(np.pi / M * (n + 0.5 + M / 2) * (k + 0.5))
        if win == 'sine':
            w = np.sin(np.pi * (np.arange(2 * M) + 0.5) / (2 * M))
        else:
            kw = np.cumsum(np.kaiser(M + 1, np.pi * float(win[3:])))
            h = np.sqrt(kw[:M] / kw[-1]); w = np.r_[h, h[::-1]]
        _B[(M, win)] = w[:, None] * C * np.sqrt(2.0 / M)
    return _B[(M, win)]


def fwd(x, M, win='sine'):
    B = _basis(M, win); n = len(x); nfr = -(-n // M) + 1
    xp = np.concatenate([np.zeros(M), x, np.zeros((nfr + 1) * M - n - M)])
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(xp, 2 * M)[::M][:nfr]) @ B


def imdct(X, M, n, win='sine'):
    fr = X @ _basis(M, win).T
    y = np.zeros((X.shape[0] + 1) * M)
    for t in range(X.shape[0]):
        y[t * M:t * M + 2 * M] += fr[t]
    return y[M:M + n]


def _bits(c, tag, ctx, sym, K):
    """code length with the trained table tag+M suffix (e.g. coef_nbr_p0.75_M960) if trained, else tag"""
    if c.get('prior'):
        P = _load_prior(c['prior'])
        t = tag + ('_M%d' % c['M'] if c['M'] != 480 else '')
        if mdct.COLLECT is not None:
            mdct.COLLECT.append((t, ctx, sym))
        for t in (t, tag):
            if t in P:
                return adaptive_bits_prior(ctx, sym, K, P[t], c.get('prior_W', 24.0))
    return adaptive_bits(ctx, sym, K)


def _envelope(X, D, c, e):
    """quantised band envelope (decoder view) and its bit cost"""
    T, nb = X.shape[0], len(e) - 1
    E = np.sqrt(np.stack([np.mean(X[:, e[b]:e[b+1]] ** 2, 1) for b in range(nb)], 1) + 1e-12)
    s = c['env_step_db'] / 6.0206
    # rate-relative floor from the low-band step scale (D * lf_step; = D when lf_step = 1)
    fl = max(c['env_floor'], np.log2(D * c['lf_step']) / (1 - c['gamma']) - c['env_floor_rel'])
    qfl = int(np.ceil(fl / s))
    qE = np.maximum(np.round(np.maximum(np.log2(E), fl) / s).astype(np.int64), qfl)
    if c.get('env_tdec', 1) == 2:  # even frames coded, odd = rounded mean of neighbours
        qs = qE[::2]
        nxt = np.vstack([qs[1:], qs[-1:]])
        qi = np.empty_like(qE); qi[::2] = qs
        qi[1::2] = np.floor((qs + nxt) / 2 + 0.5).astype(np.int64)[:qE[1::2].shape[0]]
        qE = qi
    qC = qE[::2] if c.get('env_tdec', 1) == 2 else qE
    d = np.diff(np.vstack([np.zeros((1, nb), np.int64), qC]), axis=0)
    d[0, 1:] = np.diff(qC[0]); d[0, 0] = qC[0, 0]
    KE = 41
    dc = np.clip(d + 20, 0, KE - 1)
    prevd = np.zeros_like(d); prevd[:, 1:] = d[:, :-1]
    ctxE = (np.minimum(np.arange(nb) // 5, 3)[None, :] * 3 + np.clip(prevd, -1, 1) + 1)
    bits = _bits(c, 'env%g' % c['env_step_db'], ctxE.ravel(), dc.ravel(), KE)
    bits += np.sum(eg0_bits(np.abs(d[np.abs(d) >= 20]) - 20)) + 16
    return qE, qfl, 2.0 ** (qE * s), bits


def encode_decode(x, D, cfg, decode=True, want_X=False):
    """Returns (y, bits_total, info)."""
    c = dict(DEFAULT); c.update(cfg)
    M = c['M']; e = band_edges(M); nb = len(e) - 1; bw = np.diff(e)
    X = fwd(x, M, c['win']); T = X.shape[0]
    qE, qfl, Eh, env_bits = _envelope(X, D, c, e)
    Enf = np.where(qE <= qfl, 0.0, Eh)
    centers = (e[:-1] + e[1:]) / 2 / M * (SR / 2)
    lf = centers < c['lf_hz']
    tilt = (np.maximum(centers, 1000) / 1000.0) ** c['tilt'] * np.where(lf, c['lf_step'], 1.0)
    step_b = D * Eh ** c['gamma'] * tilt[None, :]
    step = np.repeat(step_b, bw, axis=1)
    step[:, int(round(c['fc'] / (SR / 2) * M)):] = np.inf
    coded = np.isfinite(step)
    p = c['qpow']  # power-law (companding) quantiser as in MP3/AAC: levels uniform in (|x|/step)^p
    q = np.where(coded, np.floor((np.abs(X) / step) ** p + c['rnd']), 0).astype(np.int64)
    aq = q
    mu = np.where(coded, np.repeat(Eh, bw, axis=1) / np.where(coded, step, 1.0), 0.0)
    c1 = np.clip(np.round(2 * np.log2(np.maximum(mu, 1e-6))) + 8, 0, 23).astype(np.int64)
    KQ = 16
    sym = np.minimum(aq, KQ - 1)
    Pq = np.zeros_like(aq); Pq[1:] = aq[:-1]
    Pp = np.pad(Pq, ((0, 0), (1, 1)))
    cur1 = np.zeros_like(aq); cur1[:, 1:] = aq[:, :-1]
    cur2 = np.zeros_like(aq); cur2[:, 2:] = aq[:, :-2]
    m = 2 * Pp[:, 1:-1] + Pp[:, :-2] + Pp[:, 2:] + 2 * cur1 + cur2
    ctx = c1 * 5 + np.digitize(m, [1, 3, 6, 12])
    cm = coded.ravel()
    tagC = 'coef_nbr' if p == 1 else 'coef_nbr_p%g' % p
    coef_bits = _bits(c, tagC, ctx.ravel()[cm], sym.ravel()[cm], KQ)
    coef_bits += np.sum(aq > 0) + np.sum(eg0_bits(aq[aq >= KQ - 1] - (KQ - 1)))
    sgn = np.sign(X)
    Y = np.where(aq > 0, sgn * np.maximum(aq - c['delta'], 0) ** (1 / p) * np.where(coded, step, 0), 0.0)
    # decoder's noise-fill level per (frame, band): energy left by the envelope, bounded
    zero = (aq == 0)
    nz = np.add.reduceat(zero, e[:-1], axis=1)
    resid = np.maximum(bw * Enf ** 2 - np.add.reduceat(Y ** 2, e[:-1], axis=1), 0.0)
    lvl = np.sqrt(resid / np.maximum(nz, 1))
    stb = np.where(np.isfinite(step_b), step_b, 0.0)
    capv = np.where(np.isfinite(step_b), c['nf_cap'] * stb, np.inf)
    lvl_n = np.minimum(lvl, capv) * c['nf_gain']
    if c['nf_tsmooth'] > 0:  # decoder-side recursive smoothing of the fill level over time, per band
        a = c['nf_tsmooth']
        for t in range(1, T):
            lvl_n[t] = np.where(lvl_n[t] > 0, (1 - a) * lvl_n[t] + a * np.where(lvl_n[t - 1] > 0, lvl_n[t - 1], lvl_n[t]), 0.0)
    lvl_bin = np.repeat(lvl_n, bw, axis=1)
    if c['nf_table'] is not None:  # trained table: E[log2 |X|/step | zeroed, c1, fill class] (static, decoder-side)
        tab = _load_prior(c['nf_table'])['lvl']
        tl = np.where(coded, np.where(coded, step, 0) * 2.0 ** tab[c1, fill_ctx(aq)] * c['nf_tgain'], 0.0)
        lvl_bin = np.where(np.repeat(Enf > 0, bw, axis=1) & coded, tl, lvl_bin)
    nfq_bits = 0.0
    if c['nfq_bits'] > 0:  # coded per-band (<lf_hz) correction of the fill level to the true zeroed-bin RMS
        Xz2 = np.add.reduceat(np.where(zero, X, 0.0) ** 2, e[:-1], axis=1)
        true = np.sqrt(Xz2 / np.maximum(nz, 1)) * c['nfq_tgain']
        act = lf[None, :] & (lvl_n > 0) & (nz > 0)
        sq = c['nfq_step_db'] / 20 * np.log2(10)  # log2 units
        K = 2 ** c['nfq_bits']
        k = np.clip(np.round(np.log2(np.maximum(true, 1e-12) / np.maximum(lvl_n, 1e-12)) / sq) + K // 2, 0, K - 1)
        k = k.astype(np.int64)
        bctx = np.minimum(np.arange(nb) // 5, 3)[None, :].repeat(T, 0)
        nfq_bits = _bits(dict(), 'nfq', bctx[act], k[act], K)
        lvl_bin = lvl_bin * np.repeat(np.where(act, 2.0 ** ((k - K // 2) * sq), 1.0), bw, axis=1)
    bits = env_bits + coef_bits + nfq_bits + 32
    info = dict(env_bits=env_bits, coef_bits=coef_bits, nfq_bits=nfq_bits, nz=float(np.mean(aq > 0)))
    if not decode:
        return None, bits, info
    rng = np.random.default_rng(c['seed'])
    noise = rng.choice([-1.0, 1.0], size=Y.shape) * (0.5 + 0.5 * rng.random(Y.shape))
    noise /= np.sqrt(np.mean(noise ** 2))
    Y = np.where(zero, noise * lvl_bin, Y)
    if want_X:
        info.update(X=X, Y=Y, aq=aq, step=step, c1=c1, coded=coded, Enf=Enf)
    return imdct(Y, M, len(x), c['win']), bits, info
