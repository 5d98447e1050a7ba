"""Image restoration benchmarks: aecodec's denoiser and inpainter against classical baselines.

- denoising: RGB images, centre-cropped to 481x321 (the CBSD68 size; 321x481 for portrait
  images), AWGN of ``sigma`` added in 0..255 units, rounded and clipped to 8 bits. Score:
  PSNR-RGB of the 8-bit output. Baseline ``cbm3d``: ``bm3d.bm3d_rgb(noisy / 255, sigma / 255,
  profile="np")``. Ours: ``aecodec`` (blind) and ``aecodec-sigma`` (told sigma).
- inpainting: whole RGB images with a brush-stroke mask (``restore.masks``, 3-7 strokes, 8-24
  px, 5-15 % of the image); hole pixels are zeroed in the input. Score: PSNR over the hole
  pixels only (RGB, 8-bit). Baseline ``telea``: ``cv2.inpaint(image, mask, 5,
  cv2.INPAINT_TELEA)``.

Methods, rows and outputs: see ``aecodec.bench.restore``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aecodec.bench.image import read_as_rgb
from aecodec.bench.restore import (BENCH_EXTRA, Case, CaseSpec, Method, Methods, Task, check_limit, file_rng, mean,
                                   open_rows, optional_import, protocol_id, resolve_methods, run_task)
from aecodec.bench.sweep import list_files
from aecodec.errors import InputError
from aecodec.media.kinds import IMAGE_SUFFIXES
from aecodec.metrics.image import PSNR_CAP_DB, psnr_rgb
from aecodec.restore.degrade import add_awgn_uint8
from aecodec.restore.masks import brush_stroke_mask

WARM_SIDE = 64  # pixels: the warm-up call runs on a corner this big
COLUMNS = [("seconds_per_item", "s/image", ".3f"), ("items", "images", "d")]


def centre_crop(pixels: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    """The centre (width, height) crop, turned to portrait for portrait images; smaller images stay."""
    if crop is None:
        return pixels
    long_side, short_side = max(crop), min(crop)
    height, width = pixels.shape[:2]
    target_h, target_w = (long_side, short_side) if height > width else (short_side, long_side)
    target_h, target_w = min(target_h, height), min(target_w, width)
    top, left = (height - target_h) // 2, (width - target_w) // 2
    return np.ascontiguousarray(pixels[top : top + target_h, left : left + target_w])


def hole_psnr(clean: np.ndarray, estimate: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB over the pixels where ``mask`` is True (all channels), peak 255, capped."""
    if not mask.any():
        return PSNR_CAP_DB
    diff = clean[mask].astype(np.float64) - estimate[mask].astype(np.float64)
    mse = float(np.mean(diff**2))
    return PSNR_CAP_DB if mse == 0.0 else min(PSNR_CAP_DB, 10.0 * np.log10(255.0**2 / mse))


def _as_uint8(output: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.asarray(output)
    if array.shape != shape:
        raise ValueError(f"method {name} returned shape {array.shape} for an input of shape {shape}")
    return array if array.dtype == np.uint8 else np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _ours() -> tuple[Any, type]:
    restore = optional_import("aecodec.restore.image", "aecodec", "it needs aecodec.restore.image")
    from aecodec.media.types import Image

    return restore, Image


def _image_denoisers(sigma: float, device: str) -> dict[str, Callable[[], Method]]:
    def ours(blind: bool) -> Method:
        restore, Image = _ours()
        return lambda noisy: restore.denoise_image(Image(noisy), sigma=None if blind else sigma, device=device).pixels

    def cbm3d() -> Method:
        bm3d = optional_import("bm3d", "cbm3d", BENCH_EXTRA)
        return lambda noisy: 255.0 * bm3d.bm3d_rgb(noisy / 255.0, sigma / 255.0, profile="np")

    return {"aecodec": lambda: ours(True), "aecodec-sigma": lambda: ours(False), "cbm3d": cbm3d}


def _inpainters(device: str) -> dict[str, Callable[[], Method]]:
    def ours() -> Method:
        restore, Image = _ours()
        return lambda holed, mask: restore.inpaint_image(Image(holed), mask, device=device).pixels

    def telea() -> Method:
        cv2 = optional_import("cv2", "telea", BENCH_EXTRA)
        return lambda holed, mask: cv2.inpaint(holed, mask.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)

    return {"aecodec": ours, "telea": telea}


def _psnr_mean(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"mean_psnr": mean([r["psnr"] for r in rows])}


def _image_cases(data_dir: Path, limit: int | None, params: dict[str, Any],
                 prepare: Callable[[Path, str], Case]) -> tuple[list[CaseSpec], str]:
    """One case per image file under ``data_dir`` (path order), all of the protocol ``params``."""
    files = list_files(data_dir, IMAGE_SUFFIXES, limit)
    protocol = protocol_id(params)
    keys = [p.relative_to(data_dir).as_posix() for p in files]
    return [(k, protocol, lambda p=p, k=k: prepare(p, k)) for p, k in zip(files, keys)], protocol


def bench_image_denoise(data_dir: Path, out_dir: Path, sigma: float = 25, limit: int | None = None,
                        crop: tuple[int, int] | None = (481, 321),
                        methods: Methods = ("aecodec", "aecodec-sigma", "cbm3d"),
                        device: str = "cpu", seed: int = 0) -> dict[str, Any]:
    """Denoise AWGN (``sigma`` in 0..255 units) on the images in ``data_dir``; returns results.json's dict.

    ``crop`` is (width, height) of the centre crop (None: whole images); ``limit`` takes the
    first files in path order. Raises InputError for bad folders or options, ModelError when
    aecodec's denoiser is missing.
    """
    if not sigma > 0:
        raise InputError(f"--sigma must be positive, got {sigma}")
    if crop is not None and min(crop) < 1:
        raise InputError(f"the crop must be positive, got {crop}")
    check_limit(limit)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    params = {"sigma": float(sigma), "crop": None if crop is None else [int(c) for c in crop], "seed": int(seed)}

    def prepare(path: Path, key: str) -> Case:
        clean = centre_crop(read_as_rgb(path).pixels, crop)
        noisy = add_awgn_uint8(clean, sigma, file_rng(seed, key))
        return Case((noisy,), (np.ascontiguousarray(noisy[:WARM_SIDE, :WARM_SIDE]),),
                    lambda output: {"psnr": psnr_rgb(clean, _as_uint8(output, clean.shape, "denoiser"))},
                    {"height": clean.shape[0], "width": clean.shape[1], "noisy_psnr": psnr_rgb(clean, noisy)})

    cases, protocol = _image_cases(data_dir, limit, params, prepare)
    chosen = resolve_methods(methods, _image_denoisers(sigma, device))
    rows = open_rows(out_dir)
    task = Task("image-denoise", "denoise-image", data_dir, out_dir,
                {"id": protocol, **params, "noise": "AWGN in 0..255 units, rounded and clipped to uint8",
                 "score": "PSNR-RGB, 8-bit"},
                ("numpy", "Pillow", "bm3d", "torch"), _psnr_mean, [("mean_psnr", "PSNR (dB)", ".2f"), *COLUMNS])
    return run_task(task, cases, chosen, rows, device)


def bench_image_inpaint(data_dir: Path, out_dir: Path, limit: int | None = None,
                        methods: Methods = ("aecodec", "telea"), seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Fill brush-stroke holes in the images in ``data_dir``, scored inside the holes; returns results.json's dict.

    Raises InputError for bad folders or options, ModelError when aecodec's inpainter is missing.
    """
    check_limit(limit)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    params = {"seed": int(seed), "mask": "brush_stroke_mask defaults"}

    def prepare(path: Path, key: str) -> Case:
        clean = read_as_rgb(path).pixels
        mask = brush_stroke_mask(clean.shape[0], clean.shape[1], file_rng(seed, key))
        holed = np.where(mask[:, :, None], np.uint8(0), clean)
        warm = (np.ascontiguousarray(holed[:WARM_SIDE, :WARM_SIDE]), np.ascontiguousarray(mask[:WARM_SIDE, :WARM_SIDE]))

        def score(output: np.ndarray) -> dict[str, Any]:
            estimate = _as_uint8(output, clean.shape, "inpainter")
            return {"psnr": hole_psnr(clean, estimate, mask), "psnr_whole": psnr_rgb(clean, estimate)}

        return Case((holed, mask), warm, score, {"hole_fraction": float(mask.mean())})

    cases, protocol = _image_cases(data_dir, limit, params, prepare)
    chosen = resolve_methods(methods, _inpainters(device))
    rows = open_rows(out_dir)
    task = Task("image-inpaint", "inpaint-image", data_dir, out_dir,
                {"id": protocol, **params, "mask": "brush strokes: 3-7 strokes, 8-24 px wide, 5-15 % of the image",
                 "input": "hole pixels set to 0", "score": "PSNR-RGB over the hole pixels, 8-bit"},
                ("numpy", "Pillow", "opencv-python-headless", "torch"), _psnr_mean,
                [("mean_psnr", "hole PSNR (dB)", ".2f"), *COLUMNS])
    return run_task(task, cases, chosen, rows, device)
