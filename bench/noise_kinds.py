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
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for line in points.read_text().splitlines():
        row = json.loads(line)
        if Path(row["noise"]).stem in noises:
            label = f"{row['method']} ({row['model']})" if row.get("model") else row["method"]
            groups[(row["snr_db"], label)].append(row)
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    lines = ["| input SNR | method | SI-SNR gain (dB) | PESQ-WB | STOI | noisy PESQ-WB / STOI | clips |",
             "|---|---|---|---|---|---|---|"]
    for (snr, label), rows in sorted(groups.items()):
        lines.append(f"| {snr:g} dB | {label} | {mean(rows, 'si_snr_improvement'):+.2f} | {mean(rows, 'pesq'):.3f} | "
                     f"{mean(rows, 'stoi'):.3f} | {mean(rows, 'noisy_pesq'):.3f} / {mean(rows, 'noisy_stoi'):.3f} | {len(rows)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a denoise-audio benchmark folder")
    parser.add_argument("--noises", required=True, help="comma-separated noise file stems to average over")
    args = parser.parse_args()
    noises = {n.strip() for n in args.noises.split(",") if n.strip()}
    print(summarise(args.results / "points.jsonl", noises))


if __name__ == "__main__":
    main()
