"""The speech/music detector on dev data: which files `aecodec encode` would give the music model.

    python bench/music_detector_check.py --dev ../shared/data/audio/dev [--snr 0,10] [--kbps 12]

Prints p(music) for every dev speech and music clip, then, for each SNR, how many of the mixtures
of each dev speech clip with each dev noise (looped to the clip's length, scaled to the SNR) it
calls music, by noise. With --kbps, the mixtures called music are coded by both models at that
rate and scored against the noisy input (PESQ-WB, STOI, LSD < 4 kHz): what the choice costs them.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from aecodec.codecs import audio_codec
from aecodec.codecs.audio_choice import DETECTOR, detector, music_probability
from aecodec.media.audio import read_audio
from aecodec.media.resample import resample
from aecodec.media.types import Audio
from aecodec.metrics.audio import lsd, pesq_wb, stoi
from aecodec.models.registry import read_card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", required=True, help="folder with speech/, music/ and noise/")
    ap.add_argument("--snr", default="0,10", help="SNRs of the noisy speech, dB")
    ap.add_argument("--kbps", type=float, default=None, help="also code the mixtures called music at this rate")
    args = ap.parse_args()
    card = read_card(DETECTOR)
    threshold = detector().config.threshold
    p_music = music_probability  # as the codec hears it

    def clips(kind: str) -> list[tuple[str, Audio]]:
        return [(p.name, read_audio(p)) for p in sorted((Path(args.dev) / kind).iterdir()) if p.is_file()]

    speech, music, noises = clips("speech"), clips("music"), clips("noise")
    print(f"detector {card['name']} v{card['version']}, threshold {threshold}")
    for kind, items in (("speech", speech), ("music", music)):
        p = [p_music(a) for _, a in items]
        print(f"dev {kind}: called music {sum(v >= threshold for v in p)} of {len(p)}; p(music)",
              " ".join(f"{name[:12]}={v:.2f}" for (name, _), v in zip(items, p)))
    codecs = [audio_codec(m, quality_unit="kbps") for m in ("audio-mdct", "audio-mdct-music")] if args.kbps else []
    for snr in (float(v) for v in args.snr.split(",")):
        called, scores = collections.Counter(), []
        for _, a in speech:
            x = a.samples.mean(axis=1)
            for name, n in noises:
                y = np.resize(resample(n.samples.mean(axis=1, keepdims=True), n.sample_rate, a.sample_rate)[:, 0], len(x))
                mix = x + y * np.sqrt(np.mean(x**2) / (np.mean(y**2) + 1e-12)) * 10 ** (-snr / 20)
                item = Audio((mix / max(1.0, float(np.abs(mix).max()))).astype(np.float32)[:, None], a.sample_rate)
                if p_music(item) < threshold:
                    continue
                called[name] += 1
                row = []
                for codec in codecs:
                    decoded = codec.decode(codec.encode(item, args.kbps)).samples
                    row += [pesq_wb(item.samples, decoded, a.sample_rate), stoi(item.samples, decoded, a.sample_rate),
                            lsd(item.samples, decoded, a.sample_rate, max_hz=4000)]
                scores.append(row)
        total = len(speech) * len(noises)
        print(f"speech + noise at {snr:g} dB: called music {sum(called.values())} of {total}:", dict(called))
        if codecs and scores:
            m = np.nanmean(np.array(scores, float), axis=0)
            print(f"  coded at {args.kbps:g} kbps, against the noisy input: default model PESQ-WB {m[0]:.2f} "
                  f"STOI {m[1]:.3f} LSD<4k {m[2]:.2f}; music model {m[3]:.2f} {m[4]:.3f} {m[5]:.2f}")


if __name__ == "__main__":
    main()
