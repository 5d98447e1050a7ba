"""Issue-5 speed check of the shipped restoration models, in-process (models loaded, one warm-up).

- image denoising of a 481x321 crop (the CBSD68 size) of every given photo: seconds per image;
- image inpainting of the full photos with a protocol brush-stroke mask: seconds per image;
- audio denoising of a 60 s mixture (dev speech + noise, 24 kHz mono): real-time factor
  (processing seconds / audio seconds; < 0.1 is 10x faster than real time).

    .venv/bin/python bench/speed_restore.py --images ../shared/data/images/dev \
        --speech ../shared/data/audio/dev/speech --noise ../shared/data/audio/dev/noise \
        --threads 2 --out bench/results/speed_restore.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--speech", type=Path, required=True)
    ap.add_argument("--noise", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from aecodec.media.audio import read_audio
    from aecodec.media.image import read_image
    from aecodec.media.resample import resample
    from aecodec.media.types import Audio, Image
    from aecodec.restore.audio import denoise_audio
    from aecodec.restore.degrade import add_awgn_uint8, mix_at_snr
    from aecodec.restore.image import denoise_image, inpaint_image
    from aecodec.restore.masks import brush_stroke_mask

    rng = np.random.default_rng(0)
    photos = sorted(args.images.glob("*.png"))[: args.limit]
    denoise_s, inpaint_s = [], []
    for path in photos:
        px = read_image(path).pixels[:, :, :3]
        h, w = px.shape[:2]
        ch, cw = (321, 481) if w >= h else (481, 321)
        crop = np.ascontiguousarray(px[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw])
        noisy = Image(add_awgn_uint8(crop, 25, rng))
        denoise_image(noisy, device="cpu")  # warm-up (model load, first-call allocations)
        denoise_s.append(best_of(lambda: denoise_image(noisy, device="cpu")))
        mask = brush_stroke_mask(h, w, rng)
        inpaint_image(Image(px), mask, device="cpu")
        inpaint_s.append(best_of(lambda: inpaint_image(Image(px), mask, device="cpu")))

    rate = 24000
    speech = np.concatenate([resample(read_audio(p).samples.mean(1, keepdims=True), read_audio(p).sample_rate, rate)[:, 0]
                             for p in sorted(args.speech.iterdir())])
    speech = np.tile(speech, int(np.ceil(60 * rate / speech.size)))[: 60 * rate]
    noise_file = sorted(args.noise.iterdir())[0]
    noise = resample(read_audio(noise_file).samples.mean(1, keepdims=True), read_audio(noise_file).sample_rate, rate)[:, 0]
    mixture, _ = mix_at_snr(speech, noise, 0.0, rng)
    audio = Audio((0.5 * mixture / np.abs(mixture).max())[:, None].astype(np.float32), rate)
    denoise_audio(Audio(audio.samples[:rate], rate), device="cpu")
    audio_s = best_of(lambda: denoise_audio(audio, device="cpu"), repeat=2)

    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}",
        "torch": torch.__version__,
        "image_denoise_481x321": {"images": len(photos), "mean_s": float(np.mean(denoise_s)),
                                  "max_s": float(np.max(denoise_s))},
        "image_inpaint_full": {"images": len(photos), "size": "768x512", "mean_s": float(np.mean(inpaint_s))},
        "audio_denoise_60s": {"seconds": 60.0, "processing_s": audio_s, "real_time_factor": audio_s / 60.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
