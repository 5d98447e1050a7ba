"""MDCT transform codec prototype (issue 15 research). 24 kHz mono.

Pipeline: sine-window MDCT (hop M, window 2M) -> band log-energy envelope (q in 1.5..3 dB steps,
time-delta coded) -> step per band = D * Ehat_b^gamma * tilt_b -> dead-zone scalar quantiser ->
adaptive context-count entropy model (ideal code length, KT estimator per context, reset per
file) -> decoder: dequantise with centroid shift, noise-fill zero bins, IMDCT + OLA (exact TDAC).
"""
import numpy as np

SR = 24000

# ---------------- MDCT ----------------
_cache = {}
def _basis(M):
    if M not in _cache:
        n = np.arange(2 * M)[:, None]; k = np.arange(M)[None, :]
        C = np.cos(np.pi / M * (n + 0.5 + M / 2) * (k + 0.5))
        w = np.sin(np.pi * (np.arange(2 * M) + 0.5) / (2 * M))
        _cache[M] = (w[:, None] * C * np.sqrt(2.0 / M)).astype(np.float64)  # orthonormal TDAC
    return _cache[M]

def mdct(x, M):
    B = _basis(M)
    n = len(x)
    nfr = -(-n // M) + 1
    xp = np.concatenate([np.zeros(M), x, np.zeros((nfr + 1) * M - n - M)])
    fr = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(xp, 2 * M)[::M][:nfr])
    return fr @ B  # (T, M)

def imdct(X, M, n):
    B = _basis(M)
    fr = X @ B.T  # (T, 2M)
    T = X.shape[0]
    y = np.zeros((T + 1) * M)
    for t in range(T):
        y[t * M:t * M + 2 * M] += fr[t]
    return y[M:M + n]

# ---------------- bands ----------------
EDGES_HZ = [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 2000, 2400, 2800, 3200, 4000,
            4800, 5600, 6800, 8000, 9600, 12000]
def band_edges(M):
    e = np.unique(np.round(np.array(EDGES_HZ) / (SR / 2) * M).astype(int))
    return e

# ---------------- adaptive code length ----------------
def adaptive_bits(ctx, sym, K, a=0.5):
    """Ideal code length (bits) of symbols sym[i] in alphabet K coded in order with an adaptive
    per-context frequency-count model p(s|c) = (n_cs + a) / (n_c + a K) (KT for a=0.5),
    counts updated after each symbol. This is what an arithmetic/range coder with that model
    would spend (to within ~2 bytes per file)."""
    ctx = np.asarray(ctx, np.int64); sym = np.asarray(sym, np.int64)
    if len(sym) == 0:
        return 0.0
    def occ_rank(key):
        order = np.argsort(key, kind='stable')
        ks = key[order]
        start = np.r_[0, np.flatnonzero(np.diff(ks)) + 1]
        grp = np.repeat(start, np.diff(np.r_[start, len(ks)]))
        r = np.empty(len(key), np.int64); r[order] = np.arange(len(ks)) - grp
        return r
    n_cs = occ_rank(ctx * K + sym)
    n_c = occ_rank(ctx)
    return float(np.sum(np.log2((n_c + a * K) / (n_cs + a))))

def adaptive_bits_prior(ctx, sym, K, p0, W):
    """As adaptive_bits but each context starts from a trained prior: p(s|c) =
    (n_cs + W p0[c,s]) / (n_c + W). p0 is learned on training clips (floored, renormalised)."""
    ctx = np.asarray(ctx, np.int64); sym = np.asarray(sym, np.int64)
    if len(sym) == 0:
        return 0.0
    def occ_rank(key):
        order = np.argsort(key, kind='stable'); ks = key[order]
        start = np.r_[0, np.flatnonzero(np.diff(ks)) + 1]
        grp = np.repeat(start, np.diff(np.r_[start, len(ks)]))
        r = np.empty(len(key), np.int64); r[order] = np.arange(len(ks)) - grp
        return r
    n_cs = occ_rank(ctx * K + sym); n_c = occ_rank(ctx)
    return float(np.sum(np.log2((n_c + W) / (n_cs + W * p0[ctx, sym]))))

_PRI = {}
def _load_prior(path):
    if path not in _PRI:
        _PRI[path] = dict(np.load(path))
    return _PRI[path]

COLLECT = None  # set to a list to collect (name, ctx, sym) for prior training

def eg0_bits(v):  # exp-Golomb order 0 for v>=0
    return 2 * np.floor(np.log2(v + 1)) + 1

# ---------------- codec ----------------
DEFAULT = dict(M=480, env_step_db=3.0, gamma=0.5, tilt=0.0, rnd=0.35, delta=0.15,
               fc=12000, nf_gain=0.7, nf_cap=0.5, env_floor=-14.0, env_floor_rel=2.0, ctx_mode='env', seed=0)

def encode_decode(x, D, cfg, decode=True):
    """Returns (y, bits_total, info). Everything the decoder uses is derived from coded data."""
    c = dict(DEFAULT); c.update(cfg)
    M = c['M']; e = band_edges(M); nb = len(e) - 1
    X = mdct(x, M); T = X.shape[0]
    bw = np.diff(e)
    # envelope
    E = np.sqrt(np.stack([np.mean(X[:, e[b]:e[b+1]] ** 2, 1) for b in range(nb)], 1) + 1e-12)
    s = c['env_step_db'] / 6.0206  # log2 units
    fl = max(c['env_floor'], np.log2(D) / (1 - c['gamma']) - c['env_floor_rel'])  # rate-relative floor (decoder knows D)
    L = np.maximum(np.log2(E), fl)
    qE = np.round(L / s).astype(np.int64)
    qE = np.maximum(qE, int(np.ceil(fl / s)))
    qfl = int(np.ceil(fl / s))
    qE_full = qE
    if c.get('env_tdec', 1) == 2:  # code the envelope of even frames only; odd = mean of neighbours
        qs = qE[::2]
        nxt = np.vstack([qs[1:], qs[-1:]])
        qi = np.empty_like(qE); qi[::2] = qs
        qi[1::2] = np.floor((qs + nxt) / 2 + 0.5).astype(np.int64)[:qE[1::2].shape[0]]
        qE = qi
    Eh = 2.0 ** (qE * s)
    Enf = np.where(qE <= qfl, 0.0, Eh)  # floor symbol = 'below floor': no noise fill there
    # envelope rate: time-delta, context = band group x (prev band delta class)
    qC = qE[::2] if c.get('env_tdec', 1) == 2 else qE  # what is actually coded
    d = np.diff(np.vstack([np.zeros((1, nb), np.int64), qC]), axis=0)
    d[0, 1:] = np.diff(qC[0])  # first frame: frequency delta
    d[0, 0] = qC[0, 0]
    KE = 41
    dc = np.clip(d + 20, 0, KE - 1)
    esc = np.abs(d) >= 20
    prevd = np.zeros_like(d); prevd[:, 1:] = d[:, :-1]
    ctxE = (np.minimum(np.arange(nb) // 5, 3)[None, :] * 3 + np.clip(prevd, -1, 1) + 1)
    tagE = 'env%g' % c['env_step_db']
    if COLLECT is not None:
        COLLECT.append((tagE, ctxE.ravel(), dc.ravel()))
    if c.get('prior'):
        P = _load_prior(c['prior'])
        env_bits = adaptive_bits_prior(ctxE.ravel(), dc.ravel(), KE, P[tagE], c.get('prior_W', 24.0))
    else:
        env_bits = adaptive_bits(ctxE.ravel(), dc.ravel(), KE)
    env_bits += np.sum(eg0_bits(np.abs(d[esc]) - 20)) + 16
    # quantiser step per band (decoder-known)
    fcb = int(round(c['fc'] / (SR / 2) * M))
    centers = (e[:-1] + e[1:]) / 2 / M * (SR / 2)
    tilt = (np.maximum(centers, 1000) / 1000.0) ** c['tilt']
    step_b = D * Eh ** c['gamma'] * tilt[None, :]  # (T, nb)
    step = np.zeros((T, M))
    for b in range(nb):
        step[:, e[b]:e[b+1]] = step_b[:, b:b+1]
    step[:, fcb:] = np.inf
    step[:, e[-1]:] = np.inf
    r = np.abs(X) / step
    q = np.floor(r + c['rnd']).astype(np.int64)
    q = np.where(np.isfinite(step), q, 0)
    sgn = np.sign(X)
    # coefficient rate
    coded = np.isfinite(step)

    Ehb = np.zeros((T, M))
    for b in range(nb):
        Ehb[:, e[b]:e[b+1]] = Eh[:, b:b+1]
    with np.errstate(divide='ignore', invalid='ignore'):
        mu = np.where(coded, Ehb / np.where(coded, step, 1.0), 0.0)
    c1 = np.clip(np.round(2 * np.log2(np.maximum(mu, 1e-6))) + 8, 0, 23).astype(np.int64)
    aq = np.abs(q)
    KQ = 16
    sym = np.minimum(aq, KQ - 1)
    if c['ctx_mode'] == 'env':
        ctx = c1
    else:  # env x neighbourhood (prev frame k-1,k,k+1 ; current frame k-1,k-2)
        P = np.zeros_like(aq); P[1:] = aq[:-1]
        Pp = np.pad(P, ((0, 0), (1, 1)))
        cur1 = np.zeros_like(aq); cur1[:, 1:] = aq[:, :-1]
        cur2 = np.zeros_like(aq); cur2[:, 2:] = aq[:, :-2]
        m = 2 * Pp[:, 1:-1] + Pp[:, :-2] + Pp[:, 2:] + 2 * cur1 + cur2
        c2 = np.digitize(m, [1, 3, 6, 12])  # 5 classes
        ctx = c1 * 5 + c2
    cm = coded.ravel()
    tagC = 'coef_' + c['ctx_mode']
    if COLLECT is not None:
        COLLECT.append((tagC, ctx.ravel()[cm], sym.ravel()[cm]))
    if c.get('prior'):
        P = _load_prior(c['prior'])
        coef_bits = adaptive_bits_prior(ctx.ravel()[cm], sym.ravel()[cm], KQ, P[tagC], c.get('prior_W', 24.0))
    else:
        coef_bits = adaptive_bits(ctx.ravel()[cm], sym.ravel()[cm], KQ)
    coef_bits += np.sum(aq > 0) + np.sum(eg0_bits(aq[aq >= KQ - 1] - (KQ - 1)))
    f0_bits = 0.0
    if c.get('harm'):
        import harm
        f0 = harm.estimate_f0(x, M, T, c.get('harm_thr', 0.55))
        qf, fh = harm.quantise_f0(f0)
        v = (qf > 0).astype(np.int64); pv = np.r_[0, v[:-1]]
        f0_bits = adaptive_bits(pv, v, 2)  # voicing flag, ctx = previous flag
        # f0 index: delta to the previous voiced index when the previous frame was voiced, else raw 8 bits
        prevq = np.r_[0, qf[:-1]]
        dv = v.astype(bool) & (pv == 1)
        dd = np.clip(qf[dv] - prevq[dv], -15, 15) + 15
        f0_bits += adaptive_bits(np.zeros(dv.sum(), np.int64), dd, 31)
        f0_bits += np.sum(np.abs(qf[dv] - prevq[dv]) >= 15) * 8 + np.sum(v.astype(bool) & (pv == 0)) * 8
    bits = env_bits + coef_bits + f0_bits + 32  # + header (D, length)
    if not decode:
        return None, bits, dict(env_bits=env_bits, coef_bits=coef_bits, f0_bits=f0_bits)
    # ---------- decoder ----------
    Y = np.where(aq > 0, sgn * (aq - c['delta']) * np.where(coded, step, 0), 0.0)
    rng = np.random.default_rng(c['seed'])
    noise = rng.choice([-1.0, 1.0], size=Y.shape) * (0.5 + 0.5 * rng.random(Y.shape))
    noise /= np.sqrt(np.mean(noise ** 2))
    if c.get('harm'):
        Hc = mdct(harm.synth(fh, M, len(x)), M)
        hv = fh > 0
    for b in range(nb):
        sl = slice(e[b], e[b+1]); n = bw[b]
        Yb = Y[:, sl]; zero = (aq[:, sl] == 0)
        nz = zero.sum(1)
        resid = np.maximum(n * Enf[:, b] ** 2 - np.sum(Yb ** 2, 1), 0.0)
        lvl = np.sqrt(resid / np.maximum(nz, 1))
        stb = step[:, e[b]]
        cap = np.where(np.isfinite(stb), c['nf_cap'] * np.where(np.isfinite(stb), stb, 0), np.inf)
        lvl_n = np.minimum(lvl, cap) * c['nf_gain']
        fill = noise[:, sl] * lvl_n[:, None]
        if c.get('harm') and (e[b] + e[b+1]) / 2 / M * (SR / 2) < c.get('harm_fmax', 4000):
            Hb = np.where(zero, Hc[:, sl], 0.0)
            hr = np.sqrt(np.sum(Hb ** 2, 1) / np.maximum(nz, 1))
            lvl_h = np.minimum(lvl, c.get('harm_cap', 1.0) * np.where(np.isfinite(stb), stb, np.inf)) * c.get('harm_gain', 0.8)
            hf = Hb / np.maximum(hr, 1e-12)[:, None] * lvl_h[:, None]
            fill = np.where((hv & (hr > 0))[:, None], hf, fill)
        Y[:, sl] = np.where(zero, fill, Yb)
    y = imdct(Y, M, len(x))
    return y, bits, dict(env_bits=env_bits, coef_bits=coef_bits, nz=float(np.mean(aq > 0)))
