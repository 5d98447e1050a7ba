"""Does denoising less buy STOI? Scores the shipped audio denoiser at several --strength values
with the denoise-audio benchmark's mixtures (rows labelled "shipped strength S"), into OUT:

    cp -r bench/results/restore-audio-denoise-heldout /tmp/strength
    .venv/bin/python bench/prototypes/denoise_strength/strength_probe.py --out /tmp/strength 0.9 0.8
    .venv/bin/python bench/noise_kinds.py --results /tmp/strength \
        --noises stk_birds,stk_river,stk_steam_locomotive,stk_waterfall,wesnoth_campfire,wesnoth_night,wesnoth_ship
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aecodec.bench.restore_audio import bench_audio_denoise
from aecodec.media.types import Audio
from aecodec.restore import audio as restore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strengths", type=float, nargs="+")
    ap.add_argument("--speech", type=Path, default=Path("../shared/data/audio/dev/speech"))
    ap.add_argument("--noise", type=Path, default=Path("../shared/data/audio/dev/noise"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    methods = {}
    for s in args.strengths:
        def method(noisy, rate, s=s):
            return restore.denoise_audio(Audio(noisy[:, None], rate), strength=s, device="cpu").samples
        method.model = f"shipped strength {s}"
        methods[f"aecodec-strength-{s}"] = method
    bench_audio_denoise(args.speech, args.noise, args.out, snr_db=[0.0, 5.0, 10.0], methods=methods)


if __name__ == "__main__":
    main()
