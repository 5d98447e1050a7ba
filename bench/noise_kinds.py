"""Means of a denoise-audio benchmark over a subset of its noises: how each method (and each
model of a learned one) does on the noise kinds a training recipe held out.

    python bench/noise_kinds.py --results bench/results/restore-audio-denoise-heldout \
        --noises stk_birds,stk_river,stk_steam_locomotive,stk_waterfall,wesnoth_campfire,wesnoth_night,wesnoth_ship

Reads the folder's points.jsonl (every row ``aecodec bench denoise-audio`` measured, whatever
model made it) and prints a Markdown table by input SNR: SI-SNR gain, PESQ-WB and STOI, with the
noisy input's PESQ-WB and STOI.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def summarise(points: Path, noises: set[str]) -> str:
    from aecodec.bench.restore import mean, table

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for line in points.read_text().splitlines():
        row = json.loads(line)
        if Path(row["noise"]).stem in noises:
            label = f"{row['method']} ({row['model']})" if row.get("model") else row["method"]
            groups[(row["snr_db"], label)].append(row)
    body = []
    for (snr, label), rows in sorted(groups.items()):
        means = {key: mean([r[key] for r in rows]) for key in
                 ("si_snr_improvement", "pesq", "stoi", "noisy_pesq", "noisy_stoi")}
        body.append([f"{snr:g} dB", label, f"{means['si_snr_improvement']:+.2f}", f"{means['pesq']:.3f}",
                     f"{means['stoi']:.3f}", f"{means['noisy_pesq']:.3f} / {means['noisy_stoi']:.3f}", str(len(rows))])
    return "\n".join(table(["input SNR", "method", "SI-SNR gain (dB)", "PESQ-WB", "STOI", "noisy PESQ-WB / STOI",
                             "clips"], body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a denoise-audio benchmark folder")
    parser.add_argument("--noises", required=True, help="comma-separated noise file stems to average over")
    args = parser.parse_args()
    noises = {n.strip() for n in args.noises.split(",") if n.strip()}
    print(summarise(args.results / "points.jsonl", noises))


if __name__ == "__main__":
    main()
