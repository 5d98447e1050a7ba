"""`make demo`: what one encode/decode of a bundled photo achieved, next to JPEG at equal PSNR."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np


def jpeg_at_psnr(rgb: np.ndarray, target: float) -> tuple[int, int, float] | None:
    """Smallest Pillow JPEG (4:2:0, optimize) whose PSNR reaches ``target``: (bytes, quality, psnr)."""
    from PIL import Image

    from aecodec.metrics.image import psnr_rgb

    for q in range(1, 101):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=q, optimize=True, subsampling=2)
        decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        p = psnr_rgb(rgb, decoded)
        if p >= target:
            return len(buf.getvalue()), q, p
    return None


def main(original: str, aec: str, decoded: str) -> None:
    from aecodec.media.image import read_image
    from aecodec.metrics.image import psnr_rgb

    ref = read_image(original).pixels
    out = read_image(decoded).pixels
    size = Path(aec).stat().st_size
    h, w = ref.shape[:2]
    psnr = psnr_rgb(ref, out)
    print(f"\n{original}: {w}x{h}")
    print(f"  aecodec : {size:7d} bytes  {size * 8 / (h * w):.3f} bpp  PSNR {psnr:.2f} dB")
    jpeg = jpeg_at_psnr(ref[:, :, :3], psnr)
    if jpeg is None:
        print("  JPEG    : no quality reaches that PSNR")
    else:
        n, q, p = jpeg
        print(f"  JPEG    : {n:7d} bytes  {n * 8 / (h * w):.3f} bpp  PSNR {p:.2f} dB (quality {q}, 4:2:0)")
        print(f"  aecodec needs {100 * size / n:.0f}% of JPEG's bytes for the same PSNR")


if __name__ == "__main__":
    main(*sys.argv[1:4])
