import sys, json, numpy as np, evalh
sys.path.insert(0, '/work/main')
from aecodec.codecs.audio_baselines import MP3, Opus
from aecodec.media.types import Audio
import inspect
out = []
for kind in ('speech', 'music'):
    clips = evalh.load_dev(kind)
    for codec, kb in ((MP3(), 8), (MP3(), 24), (Opus(), 6), (Opus(), 12)):
        for name, x in clips:
            data = codec.encode(Audio(x.astype(np.float32)[:, None], 24000), kb)
            y = codec.decode(data).samples[:, 0].astype(np.float64)
            assert len(y) == len(x), (len(y), len(x))
            m = evalh.metrics(x, y); m.update(kbps=len(data) * 8 / (len(x) / 24000) / 1000, target=kb, clip=name, codec=codec.name, kind=kind)
            out.append(m)
        sub = [m for m in out if m['target'] == kb and m['codec'] == codec.name and m['kind'] == kind]
        print(kind, codec.name, kb, {k2: round(float(np.nanmean([m[k2] for m in sub])), 3) for k2 in ('kbps', 'pesq', 'stoi', 'sisnr', 'lsd')}, flush=True)
json.dump(out, open('res_baselines.json', 'w'), indent=0)
