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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, required=True, help="points.jsonl of the full dev run")
    parser.add_argument("--effort-rows", type=Path, required=True, help="points.jsonl of the effort rows")
    parser.add_argument("--codec", default="aecodec-e9")
    args = parser.parse_args()

    from aecodec.metrics.bd import bd_rate
    from aecodec.metrics.image import ms_ssim_db

    effort = [json.loads(line) for line in args.effort_rows.read_text().splitlines()]
    effort = [r for r in effort if r["codec"] == args.codec and r["quality"] in QUALITIES]
    seen = defaultdict(set)
    for r in effort:
        seen[r["file"]].add(r["quality"])
    photos = sorted(f for f, qs in seen.items() if set(QUALITIES) <= qs)
    rows = [r for r in effort if r["file"] in photos]
    rows += [json.loads(line) for line in args.full.read_text().splitlines()]
    points: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["file"] in photos:
            points[r["codec"]][r["quality"]].append(r)

    def curve(codec: str, metric: str, qualities=None) -> tuple[list[float], list[float]]:
        qs = sorted(q for q, rs in points[codec].items()
                    if len(rs) == len(photos) and (qualities is None or q in qualities))
        rate = [float(np.mean([r["bpp"] for r in points[codec][q]])) for q in qs]
        value = [float(np.mean([r[metric] for r in points[codec][q]])) for q in qs]
        return rate, [ms_ssim_db(v) for v in value] if metric == "ms_ssim" else value

    print(f"{len(photos)} dev photos: {', '.join(photos)}\n")
    print("| codec | BD-rate vs JPEG (PSNR) | BD-rate vs JPEG (MS-SSIM) | encode s/image |")
    print("|---|---|---|---|")
    for codec in (args.codec, *CODECS):
        if codec not in points:
            continue
        bd = [bd_rate(*curve("jpeg", m), *curve(codec, m)) for m in ("psnr", "ms_ssim")]
        seconds = np.mean([r["encode_s"] for rs in points[codec].values() for r in rs])
        print(f"| {codec} | {bd[0]:+.1f} % | {bd[1]:+.1f} % | {seconds:.1f} |")
    same = [bd_rate(*curve("aecodec", m, QUALITIES), *curve(args.codec, m)) for m in ("psnr", "ms_ssim")]
    print(f"\n{args.codec} against aecodec's default effort at qualities {', '.join(map(str, QUALITIES))}: "
          f"BD-rate {same[0]:+.1f} % (PSNR), {same[1]:+.1f} % (MS-SSIM)")


if __name__ == "__main__":
    main()
