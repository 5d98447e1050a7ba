"""Image benchmark: bpp, PSNR-RGB and MS-SSIM of codecs x qualities over a folder of images.

Every image is measured as RGB (grayscale expanded, alpha dropped), so all codecs, JPEG
included, see the same pixels. Outputs: see ``aecodec.bench.report``; BD-rates against JPEG on
PSNR (``bd_rate``) and on MS-SSIM in dB (``bd_rate_ms_ssim``, -10 log10(1 - MS-SSIM) of the mean
MS-SSIM of each point); plots rd_psnr.png and rd_msssim.png (MS-SSIM in dB).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import features

from aecodec.bench.report import Layout
from aecodec.bench.sweep import MediaBench, run_benchmark
from aecodec.codecs.baselines import BENCH_EXTRA, missing_package
from aecodec.media.image import read_image
from aecodec.media.kinds import IMAGE_SUFFIXES
from aecodec.media.types import Image
from aecodec.metrics.image import ms_ssim, ms_ssim_db, psnr_rgb

log = logging.getLogger(__name__)

DEFAULT_CODECS = ("aecodec", "jpeg", "jpeg444", "webp", "avif", "jpeg2000", "jxl", "heif")
"""What ``bench_images`` runs by default; jxl and heif only where their packages are installed."""
BASELINE_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
AECODEC_QUALITIES = (5, 20, 35, 50, 65, 80, 95)
# x265 through libheif: quality 5 (~30.4 dB on dev photos) to 70 (~2 bpp, 43 dB) spans what JPEG
# 10..95 does; above 70 its rate saturates (90, 95 and 100 give one size and PSNR on a dev photo)
# and the flat end would bend the cubic BD fits. Steps of 5, about 1.4x the rate each.
HEIF_QUALITIES = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70)

LAYOUT = Layout(
    kind="image",
    rate_key="bpp",
    rate_label="bits per pixel",
    metrics=("psnr", "ms_ssim"),
    quality_key="psnr",
    quality_sign=1,
    bd_quality_key="bd_psnr",
    bd_quality_label="BD-PSNR (dB)",
    plots=(("rd_psnr.png", "psnr", "PSNR-RGB (dB)"), ("rd_msssim.png", "ms_ssim", "MS-SSIM-RGB (dB)")),
    extra_bd_rates=(("bd_rate_ms_ssim", "ms_ssim", "BD-rate on MS-SSIM"),),
    scales=(("ms_ssim", ms_ssim_db),),
    note="BD-rate and BD-PSNR are fitted on PSNR-RGB; BD-rate on MS-SSIM on each point's mean MS-SSIM "
    "in dB, -10 log10(1 - MS-SSIM).",
)


def default_qualities(codec: str) -> tuple[int, ...]:
    if codec.startswith("aecodec"):  # aecodec and aecodec-e<N> (an --effort)
        return AECODEC_QUALITIES
    return {"heif": HEIF_QUALITIES}.get(codec, BASELINE_QUALITIES)


def default_codecs() -> tuple[str, ...]:
    """``DEFAULT_CODECS`` less those whose optional package is missing (a warning names it)."""
    codecs = []
    for name in DEFAULT_CODECS:
        package = missing_package(name)
        if package is None:
            codecs.append(name)
        else:
            log.warning("codec %s skipped: the %s package is not installed; %s", name, package, BENCH_EXTRA)
    return tuple(codecs)


def read_as_rgb(path: Path) -> Image:
    """An image file as 3-channel RGB (grey expanded, alpha dropped). Raises InputError for unreadable files."""
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
    codecs: Sequence[str] | None = None,
    qualities: Sequence[int] | None = None,
    limit: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Benchmark image ``codecs`` over the images in ``data_dir`` (recursively) into ``out_dir``.

    Args:
        codecs: names for ``get_codec`` (baselines or ``aecodec``); BD values are against jpeg.
            None: ``default_codecs()``, which leaves out jxl and heif without their packages
            (named ones that are missing raise InputError).
        qualities: the same qualities for every codec; default 10..90 and 95 for baselines,
            5..95 in steps of 15 for aecodec, 5..70 in steps of 5 for heif.
        limit: use only the first ``limit`` files (sorted by path).
        device: where aecodec's learned codec runs (auto, cpu, cuda).

    Returns:
        The dict written to results.json. Rows already in ``out_dir/points.jsonl`` are reused.

    Raises:
        InputError: bad folder, codec, quality or limit, an unreadable image, or a named codec
            whose package is not installed.
        ModelError: ``aecodec`` requested but not available.
    """
    image_libraries = {
        f"lib{name}": features.version(feature) or "absent"
        for name, feature in (("jpeg", "jpg"), ("webp", "webp"), ("avif", "avif"), ("openjpeg", "jpg_2000"))
    }
    image_libraries.update(_heif_libraries())
    codec_names = default_codecs() if codecs is None else codecs
    return run_benchmark(IMAGE, Path(data_dir), Path(out_dir), codec_names, qualities, limit,
                         image_libraries, device)


def _heif_libraries() -> dict[str, str]:
    """libheif's and its HEVC encoder's versions (pillow-jxl-plugin does not report libjxl's)."""
    try:
        import pillow_heif
    except ImportError:
        return {"libheif": "absent"}
    info = pillow_heif.libheif_info()
    return {"libheif": str(info.get("libheif", "unknown")), "heif encoder": str(info.get("HEIF", "unknown"))}


IMAGE = MediaBench(LAYOUT, IMAGE_SUFFIXES, default_qualities, read_as_rgb, measure_image, reference="jpeg",
                   packages=("numpy", "Pillow", "torch", "pytorch-msssim", "pillow-jxl-plugin", "pillow-heif"))
