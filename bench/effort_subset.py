"""BD-rates of a slow ``--effort`` on the dev photos it was run on, against every codec on the same photos.

An effort-9 run over all 24 dev photos takes hours of CPU, so it runs photo by photo (one
``aecodec bench image --codecs aecodec-e9 --qualities 5,35,65,95`` per photo, into its own
folder) on as many photos as a session allows. This script takes the photos whose effort rows
are complete, the same photos' rows of every other codec from the full run's points.jsonl, and
prints a Markdown table: BD-rate against JPEG (PSNR and MS-SSIM, mean curves over those photos,
as ``aecodec bench image``), and the effort against the default encoder at the same qualities.

    python bench/effort_subset.py --full bench/results/image-dev/points.jsonl \
        --effort-rows bench/results/image-dev-effort9/points.jsonl --codec aecodec-e9
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

QUALITIES = (5, 35, 65, 95)
CODECS = ("aecodec", "avif", "heif", "jpeg2000", "jxl", "webp")


def complete_qualities(rows: list[dict], photos: set[str]) -> dict[str, list[int]]:
    """Per codec, in rising order, the qualities that ``rows`` measure on every one of ``photos``."""
    files: dict[tuple[str, int], set[str]] = defaultdict(set)  # the photos each (codec, quality) has
    for r in rows:
        if r["file"] in photos:
            files[(r["codec"], r["quality"])].add(r["file"])
    complete = defaultdict(list)
    for (codec, quality), have in sorted(files.items()):
        if have == photos:
            complete[codec].append(quality)
    return complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, required=True, help="points.jsonl of the full dev run")
    parser.add_argument("--effort-rows", type=Path, required=True, help="points.jsonl of the effort rows")
    parser.add_argument("--codec", default="aecodec-e9")
    args = parser.parse_args()

    from aecodec.bench.image import LAYOUT
    from aecodec.bench.report import bd_tables, extra_bd_rates, mean_points

    effort = [json.loads(line) for line in args.effort_rows.read_text().splitlines()]
    effort = [r for r in effort if r["codec"] == args.codec and r["quality"] in QUALITIES]
    seen = defaultdict(set)
    for r in effort:
        seen[r["file"]].add(r["quality"])
    photos = sorted(f for f, qs in seen.items() if set(QUALITIES) <= qs)
    rows = effort + [json.loads(line) for line in args.full.read_text().splitlines()]
    complete = complete_qualities(rows, set(photos))
    codecs = [c for c in ("jpeg", args.codec, *CODECS) if c in complete]
    points = mean_points(LAYOUT, rows, set(photos), {c: tuple(complete[c]) for c in codecs})
    psnr, _ = bd_tables(LAYOUT, points, "jpeg")
    ms_ssim = extra_bd_rates(LAYOUT, points, "jpeg")["bd_rate_ms_ssim"]

    print(f"{len(photos)} dev photos: {', '.join(photos)}\n")
    print("| codec | BD-rate vs JPEG (PSNR) | BD-rate vs JPEG (MS-SSIM) | encode s/image |")
    print("|---|---|---|---|")
    for codec in codecs[1:]:
        seconds = np.mean([p["encode_s"] for p in points[codec]])
        print(f"| {codec} | {psnr[codec]:+.1f} % | {ms_ssim[codec]:+.1f} % | {seconds:.1f} |")
    same = mean_points(LAYOUT, rows, set(photos), {"aecodec": QUALITIES, args.codec: QUALITIES})
    print(f"\n{args.codec} against aecodec's default effort at qualities {', '.join(map(str, QUALITIES))}: "
          f"BD-rate {bd_tables(LAYOUT, same, 'aecodec')[0][args.codec]:+.1f} % (PSNR), "
          f"{extra_bd_rates(LAYOUT, same, 'aecodec')['bd_rate_ms_ssim'][args.codec]:+.1f} % (MS-SSIM)")


if __name__ == "__main__":
    main()
