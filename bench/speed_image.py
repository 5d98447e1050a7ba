"""Issue-2 speed check: aecodec CLI vs CompressAI's ScaleHyperprior(128, 192), start-up included.

aecodec: `aecodec encode` of eight photos into a folder, then `aecodec decode` of the eight
files (two processes). CompressAI: one process that imports compressai, builds
ScaleHyperprior(128, 192) (untrained weights, update(force=True): the speed does not depend
on the weights) and runs compress + decompress on the same eight images. Each side runs
``--repeats`` times, interleaved; the ratio compares the medians, and every run's ratio is kept.

    .venv/bin/python bench/speed_image.py ../shared/data/images/dev --out bench/results/speed_image.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMPRESSAI_RUN = r"""
import sys, torch, numpy as np
from PIL import Image
from compressai.models import ScaleHyperprior
net = ScaleHyperprior(128, 192).eval()
net.update(force=True)
with torch.no_grad():
    for path in sys.argv[1:]:
        x = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
        out = net.compress(x)
        net.decompress(out["strings"], out["shape"])
"""


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--quality", type=float, default=75)
    ap.add_argument("--repeats", type=int, default=5, help="runs of each side; the medians are compared")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    images = sorted(p for p in Path(args.data).glob("*.png"))[: args.count]
    aecodec = [sys.executable, "-m", "aecodec"]
    runs = []
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits both sides
        with tempfile.TemporaryDirectory() as tmp:
            enc, dec = Path(tmp, "enc"), Path(tmp, "dec")
            enc.mkdir(), dec.mkdir()
            enc_s, enc_mb = timed(aecodec + ["encode", *map(str, images), "-o", str(enc), "-q", str(args.quality), "--device", "cpu"])
            dec_s, dec_mb = timed(aecodec + ["decode", *map(str, sorted(enc.iterdir())), "-o", str(dec), "--device", "cpu"])
        ref_s, ref_mb = timed([sys.executable, "-c", COMPRESSAI_RUN, *map(str, images)])
        runs.append({"encode_s": enc_s, "decode_s": dec_s, "total_s": enc_s + dec_s, "reference_s": ref_s,
                     "aecodec_mib": max(enc_mb, dec_mb), "reference_mib": ref_mb})
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {
        "images": [p.name for p in images],
        "threads": os.cpu_count(),
        "repeats": args.repeats,
        "aecodec": {"encode_s": round(med["encode_s"], 2), "decode_s": round(med["decode_s"], 2),
                    "total_s": round(med["total_s"], 2), "peak_rss_mib": max(r["aecodec_mib"] for r in runs)},
        "compressai_scalehyperprior_128_192": {"total_s": round(med["reference_s"], 2),
                                               "peak_rss_mib": max(r["reference_mib"] for r in runs)},
        "ratio": round(med["total_s"] / med["reference_s"], 3),
        "ratios": [round(r["total_s"] / r["reference_s"], 3) for r in runs],
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
