"""How an ``--effort`` recipe compares with the plain encoder, on crops of training photos.

Encodes a centre 384x256 crop of every 29th training photo (three by default) at qualities 10,
35, 65 and 95 with effort 1 and with effort 9 under the recipe given (Adam steps, step size
and its geometric decay, SGA temperatures, the y-only fraction), and prints one JSON line: the
BD-rate of the recipe against effort 1 on the mean curves (real file sizes, decoded PSNR).
Training photos, so the recipe is not tuned on the dev photos it is benchmarked on. One thread.

    .venv/bin/python bench/effort_tuning.py ../shared/data/images/train --name current \
        >> bench/results/effort_tuning.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

QUALITIES = (10, 35, 65, 95)
CROP_H, CROP_W = 256, 384


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of training photos (PNG)")
    parser.add_argument("--name", required=True, help="the recipe's name in the output line")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--lr-end", type=float, default=None, help="decay geometrically to this (default: constant)")
    parser.add_argument("--tau", type=float, nargs=2, default=(0.5, 0.1), metavar=("START", "END"))
    parser.add_argument("--y-only", type=float, default=0.25)
    parser.add_argument("--every", type=int, default=29, help="take every N-th photo (sorted)")
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from aecodec.bench.image import read_as_rgb
    from aecodec.codecs import image_effort
    from aecodec.codecs.image import LearnedImageCodec
    from aecodec.media.image import Image
    from aecodec.metrics.bd import bd_rate
    from aecodec.metrics.image import psnr_rgb

    image_effort.EFFORT_STEPS[9] = args.steps
    image_effort.LR, image_effort.Y_ONLY = args.lr, args.y_only
    image_effort.TAU_START, image_effort.TAU_END = args.tau
    if args.lr_end is not None:
        factor = (args.lr_end / args.lr) ** (1 / max(1, args.steps - 1))

        class Decayed(image_effort.Adam):
            def step(self) -> None:
                super().step()
                self.lr *= factor

        image_effort.Adam = Decayed

    def crop(path: Path) -> Image:
        pixels = read_as_rgb(path).pixels
        top, left = (pixels.shape[0] - CROP_H) // 2, (pixels.shape[1] - CROP_W) // 2
        return Image(np.ascontiguousarray(pixels[top : top + CROP_H, left : left + CROP_W]))

    crops = [crop(p) for p in sorted(args.photos.glob("*.png"))[:: args.every][: args.count]]
    codec = LearnedImageCodec()
    start = time.time()
    curves = {}
    for effort in (1, 9):
        rates, psnrs = [], []
        for quality in QUALITIES:
            coded = [codec.encode(c, quality, effort=effort) for c in crops]
            rates.append(float(np.mean([8 * len(d) / (CROP_H * CROP_W) for d in coded])))
            psnrs.append(float(np.mean([psnr_rgb(c.pixels, codec.decode(d).pixels) for c, d in zip(crops, coded)])))
        curves[effort] = (rates, psnrs)
    print(json.dumps({
        "name": args.name, "steps": args.steps, "lr": args.lr, "lr_end": args.lr_end, "tau": list(args.tau),
        "y_only": args.y_only, "crops": len(crops), "bd_rate_vs_effort_1": round(bd_rate(*curves[1], *curves[9]), 2),
        "effort_9": curves[9], "effort_1": curves[1], "seconds": round(time.time() - start),
    }))


if __name__ == "__main__":
    main()
