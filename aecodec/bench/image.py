"""Image benchmark: bpp, PSNR-RGB and MS-SSIM of codecs x qualities over a folder of images.

Every image is measured as RGB (grayscale expanded, alpha dropped), so all codecs, JPEG
included, see the same pixels. Outputs: see ``aecodec.bench.report``; plots rd_psnr.png and
rd_msssim.png.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import features

from aecodec.bench.report import Layout
from aecodec.bench.sweep import run_benchmark
from aecodec.media.image import EXTENSIONS, read_image
from aecodec.media.types import Image
from aecodec.metrics.image import ms_ssim, psnr_rgb

DEFAULT_CODECS = ("aecodec", "jpeg", "jpeg444", "webp", "avif", "jpeg2000")
BASELINE_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
AECODEC_QUALITIES = (5, 20, 35, 50, 65, 80, 95)
REFERENCE = "jpeg"

LAYOUT = Layout(
    kind="image",
    rate_key="bpp",
    rate_label="bits per pixel",
    metrics=("psnr", "ms_ssim"),
    quality_key="psnr",
    quality_sign=1,
    bd_quality_key="bd_psnr",
    bd_quality_label="BD-PSNR (dB)",
    plots=(("rd_psnr.png", "psnr", "PSNR-RGB (dB)"), ("rd_msssim.png", "ms_ssim", "MS-SSIM (RGB)")),
)


def default_qualities(codec: str) -> tuple[int, ...]:
    return AECODEC_QUALITIES if codec == "aecodec" else BASELINE_QUALITIES


def load_rgb(path: Path) -> Image:
    """Read an image file as RGB. Raises InputError for unreadable files."""
    pixels = read_image(path).pixels
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return Image(np.ascontiguousarray(pixels[:, :, :3]))


def measure_image(item: Image, decoded: Image, n_bytes: int) -> dict[str, Any]:
    """bpp, PSNR (dB, capped at 100) and MS-SSIM (None if the image is under 11 px) of one decode."""
    value = ms_ssim(item.pixels, decoded.pixels)
    return {
        "bpp": 8.0 * n_bytes / (item.height * item.width),
        "psnr": psnr_rgb(item.pixels, decoded.pixels),
        "ms_ssim": None if np.isnan(value) else value,
    }


def bench_images(
    data_dir: Path,
    out_dir: Path,
    codecs: Sequence[str] = DEFAULT_CODECS,
    qualities: Sequence[int] | None = None,
    limit: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Benchmark image ``codecs`` over the images in ``data_dir`` (recursively) into ``out_dir``.

    Args:
        codecs: names for ``get_codec`` (baselines or ``aecodec``); BD values are against jpeg.
        qualities: the same qualities for every codec; default 10..90 and 95 for baselines,
            5..95 in steps of 15 for aecodec.
        limit: use only the first ``limit`` files (sorted by path).
        device: where aecodec's learned codec runs (auto, cpu, cuda).

    Returns:
        The dict written to results.json. Rows already in ``out_dir/points.jsonl`` are reused.

    Raises:
        InputError: bad folder, codec, quality or limit, or an unreadable image.
        ModelError: ``aecodec`` requested but not available.
    """
    image_libraries = {
        f"lib{name}": features.version(feature) or "absent"
        for name, feature in (("jpeg", "jpg"), ("webp", "webp"), ("avif", "avif"), ("openjpeg", "jpg_2000"))
    }
    return run_benchmark(
        LAYOUT,
        Path(data_dir),
        Path(out_dir),
        suffixes=tuple(EXTENSIONS),
        codec_names=codecs,
        qualities=qualities,
        defaults=default_qualities,
        limit=limit,
        load=load_rgb,
        measure=measure_image,
        reference=REFERENCE,
        device=device,
        versions=(("numpy", "Pillow", "torch", "pytorch-msssim"), image_libraries),
    )
