"""Issue-2 memory check: peak RSS of encoding and decoding a 6000x4000 photo.

The photo is a dev image upscaled (LANCZOS) to 6000x4000, so it has photographic content.

    .venv/bin/python bench/memory_large.py ../shared/data/images/dev/lomiri_bridge_klootwijk.png \
        --out bench/results/memory_large.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from speed_image import timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("photo")
    ap.add_argument("--size", default="6000x4000")
    ap.add_argument("--quality", type=float, default=75)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from PIL import Image

    w, h = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src, aec, png = Path(tmp, "big.png"), Path(tmp, "big.aec"), Path(tmp, "big_out.png")
        Image.open(args.photo).convert("RGB").resize((w, h), Image.LANCZOS).save(src)
        cli = [sys.executable, "-m", "aecodec"]
        enc_s, enc_mb = timed(cli + ["encode", str(src), "-o", str(aec), "-q", str(args.quality), "--device", "cpu"])
        dec_s, dec_mb = timed(cli + ["decode", str(aec), "-o", str(png), "--device", "cpu"])
        size = aec.stat().st_size
        out_size = Image.open(png).size
    result = {"size": [w, h], "quality": args.quality, "bytes": size, "bpp": round(size * 8 / (w * h), 4),
              "encode": {"seconds": round(enc_s, 1), "peak_rss_mib": enc_mb},
              "decode": {"seconds": round(dec_s, 1), "peak_rss_mib": dec_mb}, "decoded_size": list(out_size)}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
