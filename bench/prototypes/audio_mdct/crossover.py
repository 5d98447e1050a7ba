"""Where the music model starts to beat the default one: training music clips (train6 + val9, not dev): both MDCT models at kbps K: LSD<4k, LSD, ViSQOL.
usage: python crossover.py KBPS [KBPS ...]  (the codec's choice starts at 10 kbps: codecs/audio_choice.py)"""
import sys, numpy as np
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
import tune_lsd
from aecodec.codecs import audio_codec
from aecodec.media.types import Audio
from aecodec.metrics.audio import lsd, visqol
clips = tune_lsd.load_music_train() + tune_lsd.load_music_val()
for kb in map(float, sys.argv[1:]):
    for m in ('audio-mdct', 'audio-mdct-music'):
        c = audio_codec(m, quality_unit='kbps'); r = []
        for n, x in clips:
            a = Audio(x.astype(np.float32)[:, None], 24000)
            y = c.decode(c.encode(a, kb)).samples
            r.append([lsd(a.samples, y, 24000, max_hz=4000), lsd(a.samples, y, 24000), visqol(a.samples, y, 24000)])
        r = np.array(r)
        print(kb, m, 'LSD<4k %.2f LSD %.2f ViSQOL %.2f' % tuple(r.mean(0)), flush=True)
