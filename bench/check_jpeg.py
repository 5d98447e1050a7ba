"""Independent check of a results.json: re-measure Pillow JPEG 4:2:0 bpp and PSNR-RGB without aecodec.

Usage (same --data and --limit as the bench run):

    python bench/check_jpeg.py --data DIR --results OUT/results.json [--limit N] [--tolerance 0.03]

Encodes every image (found like the bench does: recursively, sorted by path, RGB) at each JPEG
quality in the results, with its own PSNR code, then prints the relative deviation per point
and the maximum. Exit code 0 if the maximum is within the tolerance, 1 if not.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}


def rgb_pixels(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10.0 * math.log10(255.0**2 / mse)


def measure(images: list[Image.Image], quality: int) -> tuple[float, float]:
    """Mean bpp and mean PSNR of Pillow JPEG (4:2:0, optimize) at ``quality`` over ``images``."""
    bpps, psnrs = [], []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, subsampling="4:2:0", optimize=True)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        bpps.append(8.0 * buffer.tell() / (image.width * image.height))
        psnrs.append(psnr(np.asarray(image), decoded))
    return float(np.mean(bpps)), float(np.mean(psnrs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tolerance", type=float, default=0.03)
    args = parser.parse_args()

    points = json.loads(args.results.read_text())["codecs"]["jpeg"]["points"]
    files = sorted(p for p in args.data.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)[: args.limit]
    images = [rgb_pixels(path) for path in files]
    print(f"{len(files)} files, {len(points)} JPEG points from {args.results}")
    print("quality  bpp(results)  bpp(check)  rel.dev   psnr(results)  psnr(check)  rel.dev")
    worst = 0.0
    for point in points:
        bpp, value = measure(images, point["quality"])
        bpp_dev = abs(bpp - point["bpp"]) / point["bpp"]
        psnr_dev = abs(value - point["psnr"]) / point["psnr"]
        worst = max(worst, bpp_dev, psnr_dev)
        print(f"{point['quality']:7d}  {point['bpp']:12.4f}  {bpp:10.4f}  {bpp_dev:7.2%}   "
              f"{point['psnr']:13.3f}  {value:11.3f}  {psnr_dev:7.2%}")
    print(f"max relative deviation: {worst:.4%} (tolerance {args.tolerance:.0%})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
