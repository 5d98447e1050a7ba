"""The top of the image quality range (qualities above 95, the residual layer) against every codec.

The full dev run measures qualities 5-95, where BD-rates are fitted. Above 95 the residual layer
makes aecodec's curve climb past 42 dB, a range where the classic codecs' curves end (JPEG q95
reaches 42.6 dB on the dev photos). This script reads the full run's rows and the top qualities'
rows (``aecodec bench image --codecs aecodec --qualities 96,97,98,99,100``), and prints Markdown:
aecodec's mean points from quality 95 up (with the worst photo's PSNR, and whether every photo's
rate and PSNR rise with quality), then, for every codec, the mean bits per pixel it needs for a
mean PSNR of 39 to 44 dB (interpolated linearly in log rate between its mean points; "-" past its
curve).

    python bench/top_range.py --full bench/results/image-dev/points.jsonl \
        --top bench/results/image-dev-top/points.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from effort_subset import complete_qualities  # noqa: E402

CODECS = ("aecodec", "jpeg", "jpeg444", "webp", "avif", "heif", "jxl", "jpeg2000")
TARGETS = (39.0, 40.0, 41.0, 42.0, 43.0, 44.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, required=True, help="points.jsonl of the full dev run")
    parser.add_argument("--top", type=Path, required=True, help="points.jsonl of aecodec above quality 95")
    args = parser.parse_args()

    from aecodec.bench.image import LAYOUT
    from aecodec.bench.report import mean_points

    rows = [json.loads(line) for path in (args.full, args.top) for line in path.read_text().splitlines()]
    rows = [r for r in rows if r["codec"] in CODECS]
    files: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in rows:
        files[(r["codec"], r["quality"])].add(r["file"])
    photos = set.intersection(*files.values())
    qualities = complete_qualities(rows, photos)
    points = mean_points(LAYOUT, rows, photos, {c: tuple(qualities[c]) for c in CODECS if c in qualities})

    per_photo = defaultdict(dict)
    for r in rows:
        if r["codec"] == "aecodec" and r["file"] in photos:
            per_photo[r["file"]][r["quality"]] = r
    rising = all(
        all(a["bytes"] < b["bytes"] and a["psnr"] < b["psnr"] for a, b in zip(seq, seq[1:]))
        for seq in ([qs[q] for q in sorted(qs)] for qs in per_photo.values())
    )
    print(f"{len(photos)} dev photos. Every photo's rate and PSNR rise with quality over "
          f"{', '.join(map(str, qualities['aecodec']))}: {'yes' if rising else 'NO'}.\n")
    print("| aecodec quality | bpp | PSNR (dB) | worst photo's PSNR | MS-SSIM |")
    print("|---|---|---|---|---|")
    for p in points["aecodec"]:
        if p["quality"] >= 95:
            worst = min(qs[p["quality"]]["psnr"] for qs in per_photo.values())
            print(f"| {p['quality']} | {p['bpp']:.3f} | {p['psnr']:.2f} | {worst:.2f} | {p['ms_ssim']:.4f} |")

    print("\nMean bpp for a mean PSNR of ... (log-linear between each codec's mean points)\n")
    print("| codec | " + " | ".join(f"{t:g} dB" for t in TARGETS) + " | top point |")
    print("|---|" + "---|" * (len(TARGETS) + 1))
    for codec, pts in points.items():
        curve = sorted((p["psnr"], p["bpp"]) for p in pts)
        psnr, bpp = np.array([c[0] for c in curve]), np.log([c[1] for c in curve])
        cells = [f"{np.exp(np.interp(t, psnr, bpp)):.2f}" if psnr[0] <= t <= psnr[-1] else "-" for t in TARGETS]
        print(f"| {codec} | " + " | ".join(cells) + f" | {psnr[-1]:.2f} dB at {np.exp(bpp[-1]):.2f} bpp |")


if __name__ == "__main__":
    main()
