"""Learned speech/music classifier probe for the preset decision: 16 kHz log-mel (40 bands, 10 ms hop,
mean removed) -> two 1-D convolutions -> bidirectional GRU (32) -> mean over time -> logit; 4 s
segments, batches of 32, AdamW 2e-3 with a cosine decay. Training data only: speech (long recordings,
and concatenated words half of the time) against music, with speed 0.8-1.25x, level, recorded noise at
0-30 dB (60 %) and a tilt EQ (30 %); the codec2 speech and hedgewars music sources are held out as a
check. A clip's score is the mean logit over 4 s windows. usage: python classify_net.py 4000

With --varied-music the music is more varied: a third of the music segments are synthetic (1-3
voices of saw, square, sine or FM notes on a scale at 70-170 bpm, over a drum machine 70 % of the
time), and a quarter of the real ones get a second music segment or a drum machine mixed in.
The trained net is saved as classify_net.pt (classify_net_varied.pt with --varied-music)."""
import glob, sys, numpy as np, soundfile as sf, torch, torchaudio
from math import gcd
from scipy.signal import resample_poly
torch.manual_seed(0); rng = np.random.default_rng(0); SR = 16000
def read(f):
    x, sr = sf.read(f, dtype='float32'); x = x if x.ndim == 1 else x.mean(1)
    g = gcd(SR, sr); return resample_poly(x, SR//g, sr//g).astype(np.float32)
HOLD = ('codec2', 'hedgewars')   # sources held out of training, for a check before dev
def group(f): return f.split('/')[-2]
sp_long = [read(f) for f in sorted(glob.glob('/work/shared/data/audio/speech/*/*')) if group(f) in ('pyannote', 'parselmouth', 'codec2', 'amfm')]
sp_names = [group(f) for f in sorted(glob.glob('/work/shared/data/audio/speech/*/*')) if group(f) in ('pyannote', 'parselmouth', 'codec2', 'amfm')]
words = [read(f) for f in sorted(glob.glob('/work/shared/data/audio/speech/*/*')) if group(f) in ('klettres', 'ktuberling', 'tuxpaint')]
mus = [read(f) for f in sorted(glob.glob('/work/shared/data/audio/music/*/*'))]
mu_names = [group(f) for f in sorted(glob.glob('/work/shared/data/audio/music/*/*'))]
noise = [read(f) for f in sorted(glob.glob('/work/shared/data/audio/noise/*/*'))]
N = 4 * SR
def crop(x, n=N):
    if len(x) < n: x = np.pad(x, (0, n - len(x)))
    s = rng.integers(0, len(x) - n + 1); return x[s:s+n]
def words_seg(n=N):
    out = []
    while sum(map(len, out)) < n:
        out += [words[rng.integers(len(words))], np.zeros(int(rng.uniform(0.03, 0.5) * SR), np.float32)]
    return np.concatenate(out)[:n]
def speech_seg(train=True):
    pool = [i for i, g in enumerate(sp_names) if (g not in HOLD) == train]
    if train and rng.random() < 0.5: return words_seg()
    return crop(sp_long[pool[rng.integers(len(pool))]])
VARIED = '--varied-music' in sys.argv
def music_seg(train=True):
    pool = [i for i, g in enumerate(mu_names) if (g not in HOLD) == train]
    if not (train and VARIED): return crop(mus[pool[rng.integers(len(pool))]])
    if rng.random() < 1 / 3: return synth_music()
    x = crop(mus[pool[rng.integers(len(pool))]])
    if rng.random() < 0.25:
        y = crop(mus[pool[rng.integers(len(pool))]]) if rng.random() < 0.5 else drums(N, 60 / rng.uniform(70, 170))
        x = x / (np.std(x) + 1e-6) + y / (np.std(y) + 1e-6) * rng.uniform(0.3, 1)
    return x.astype(np.float32)
def drums(n, beat):
    x = np.zeros(n, np.float32)
    for k in range(int(n / SR / beat * 2) + 1):
        at = int(k * beat / 2 * SR)
        if at >= n: break
        kind = rng.choice(['kick', 'snare', 'hat']) if k % 2 else 'kick'
        m = min(n - at, int(0.25 * SR)); tt = np.arange(m) / SR
        if kind == 'kick': w = np.sin(2 * np.pi * (50 + 100 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)
        elif kind == 'snare': w = rng.standard_normal(m) * np.exp(-tt * 25) * 0.5
        else: w = np.diff(rng.standard_normal(m + 1)) * np.exp(-tt * 60) * 0.3
        x[at:at + m] += w * rng.uniform(0.5, 1)
    return x
def synth_music(n=N):
    beat = 60 / rng.uniform(70, 170)
    x = np.zeros(n, np.float32)
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    scale = [0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.5 else [0, 2, 3, 5, 7, 8, 10]
    for voice in range(rng.integers(1, 4)):
        octave, note = rng.choice([0.5, 1, 2, 4]), beat * rng.choice([0.25, 0.5, 1, 2])
        wave, decay, pos = rng.choice(['saw', 'square', 'sine', 'fm']), rng.uniform(0, 6), 0.0
        while pos < n / SR:
            f = root * octave * 2 ** ((scale[rng.integers(len(scale))] + 12 * rng.integers(0, 2)) / 12)
            i0, i1 = int(pos * SR), min(n, int((pos + note) * SR)); tt = np.arange(i1 - i0) / SR
            if wave == 'saw': w = 2 * ((f * tt) % 1) - 1
            elif wave == 'square': w = np.sign(np.sin(2 * np.pi * f * tt))
            elif wave == 'sine': w = np.sin(2 * np.pi * f * tt)
            else: w = np.sin(2 * np.pi * f * tt + rng.uniform(0.5, 3) * np.sin(4 * np.pi * f * tt))
            x[i0:i1] += w * np.minimum(1, tt / 0.01) * np.exp(-tt * decay) * rng.uniform(0.3, 1); pos += note
    if rng.random() < 0.7:
        d = drums(n, beat); x = x / (np.std(x) + 1e-6) + d / (np.std(d) + 1e-6) * rng.uniform(0.3, 1.5)
    return x.astype(np.float32)
def speed(x):
    r = np.exp(rng.uniform(np.log(0.8), np.log(1.25))); n = len(x)
    return np.interp(np.arange(n) * r, np.arange(n), x, right=0).astype(np.float32)
def degrade(x):
    if rng.random() < 0.5: x = speed(x)
    x = x / (np.abs(x).max() + 1e-6) * 10 ** rng.uniform(-1.5, 0)
    if rng.random() < 0.6:
        nz = crop(noise[rng.integers(len(noise))], len(x))
        x = x + nz * np.sqrt(np.mean(x**2) / (np.mean(nz**2) + 1e-12)) * 10 ** (-rng.uniform(0, 30) / 20)
    if rng.random() < 0.3:   # random tilt EQ
        X = np.fft.rfft(x); f = np.fft.rfftfreq(len(x), 1 / SR).clip(50); X *= (f / 1000) ** rng.uniform(-0.7, 0.7); x = np.fft.irfft(X, len(x))
    return x.astype(np.float32)
mel = torchaudio.transforms.MelSpectrogram(SR, n_fft=512, hop_length=160, n_mels=40)
def feats(x): 
    m = torch.log(mel(torch.as_tensor(x)) + 1e-6); return m - m.mean(dim=(-1, -2), keepdim=True)
class Net(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.conv = torch.nn.Sequential(torch.nn.Conv1d(40, 48, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv1d(48, 48, 5, stride=2, padding=2), torch.nn.ReLU())
        s.gru = torch.nn.GRU(48, 32, batch_first=True, bidirectional=True); s.out = torch.nn.Linear(64, 1)
    def forward(s, m):   # [B, 40, T]
        h, _ = s.gru(s.conv(m).transpose(1, 2)); return s.out(h.mean(1))[:, 0]
net = Net(); opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-3)
steps = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1500
def batch(train=True, B=32):
    y = (np.arange(B) % 2).astype(np.float32)
    xs = [degrade(music_seg(train) if t else speech_seg(train)) for t in y]
    return torch.stack([feats(x) for x in xs]), torch.as_tensor(y)
for step in range(steps):
    m, y = batch(); loss = torch.nn.functional.binary_cross_entropy_with_logits(net(m), y)
    opt.zero_grad(); loss.backward(); opt.step()
    for g_ in opt.param_groups: g_['lr'] = 2e-3 * 0.5 * (1 + np.cos(np.pi * (step + 1) / steps))
    if (step + 1) % 250 == 0:
        with torch.no_grad():
            m, y = batch(False, 64); p = torch.sigmoid(net(m))
        print(step + 1, 'loss %.3f held-out-source acc speech %.2f music %.2f' % (loss.item(), float((p[y == 0] < 0.5).float().mean()), float((p[y == 1] >= 0.5).float().mean())), flush=True)
def clip_prob(x):   # mean logit over 4 s windows, hop 2 s
    ws = [x[i:i+N] for i in range(0, max(1, len(x) - N + 1), N // 2)]
    with torch.no_grad(): return float(torch.sigmoid(net(torch.stack([feats(crop(w)) for w in ws])).mean()))
for kind in ('speech', 'music'):
    print('dev', kind, 'p(music)', np.round([clip_prob(read(f)) for f in sorted(glob.glob(f'/work/shared/data/audio/dev/{kind}/*'))], 2))
torch.save(net.state_dict(), 'classify_net_varied.pt' if VARIED else 'classify_net.pt')
for kind in ('speech', 'music'):
    print('dev', kind, [f.split('/')[-1][:20] for f in sorted(glob.glob(f'/work/shared/data/audio/dev/{kind}/*'))])
