"""Image denoising and inpainting with the shipped restoration U-Nets.

Arrays in, arrays out (``media.types.Image``); files are the CLI's business. Large images are
processed in overlapping tiles, so memory stays bounded and no seam shows.
"""

from __future__ import annotations

import numpy as np

from aecodec.device import to_device
from aecodec.errors import InputError
from aecodec.media.image import to_gray
from aecodec.media.types import Image
from aecodec.restore.networks import shipped

DENOISER = "image-denoise-unet"
INPAINTER = "image-inpaint-unet"
TILE = 1024  # images above 4 MP go in tiles of this side; the margin exceeds the U-Net's receptive field
MARGIN = 128
# The U-Net runs at full resolution, about a second a megapixel on a few CPU cores, and every
# input pixel is kept (uint8) next to its result: 2**26 (8192^2, 67 MP) is half a GB and a
# minute or so. Counted on the sides padded to ALIGN, the multiple the shipped U-Nets pad to,
# so that a 1-pixel-high strip counts as the 16-pixel-high image the network really sees.
MAX_PIXELS = 1 << 26
ALIGN = 16


def estimate_sigma(pixels: np.ndarray) -> float:
    """Noise standard deviation (8-bit units) of an image, without a reference.

    Donoho's estimator: the median absolute value of the finest diagonal Haar wavelet
    coefficients / 0.6745, which for white noise equals its sigma and which natural-image
    content (mostly smooth at that scale) biases little. Near black and white, clipping hides
    part of the noise, so a second pass keeps only blocks whose mean is two sigmas away from
    both ends. Channels are averaged.

    For uint8 pixels the coefficients (k / 2, k in 0..510) and block sums (0..1020) are counted
    in a joint histogram, band by band: the exact same medians in a few MB, whatever the size.
    """
    x = np.asarray(pixels)
    if x.ndim == 2:
        x = x[:, :, None]
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    if h < 2 or w < 2:
        return 0.0
    if x.dtype != np.uint8:
        return _estimate_sigma_float(x[:h, :w].astype(np.float64))
    sigmas = []
    for ch in range(x.shape[2]):
        counts = _haar_histogram(x[:h, :w, ch])  # [block sum, |coefficient| * 2]
        sigma = _median_half(counts.sum(axis=0)) / 0.6745
        sums = np.arange(counts.shape[0]) / 4  # block means, exactly as (a + b + c + d) / 4
        inside = counts[(sums > 2 * sigma) & (sums < 255 - 2 * sigma)].sum(axis=0)
        if inside.sum() >= 64:
            sigma = _median_half(inside) / 0.6745
        sigmas.append(sigma)
    return float(np.mean(sigmas))


_BAND_ROWS = 512


def _haar_histogram(plane: np.ndarray) -> np.ndarray:
    """Counts [1021, 511] of (a + b + c + d, |a - b - c + d|) over the 2x2 blocks of ``plane``."""
    counts = np.zeros(1021 * 511, np.int64)
    for top in range(0, plane.shape[0], _BAND_ROWS):
        band = plane[top : top + _BAND_ROWS].astype(np.int32)
        a, b, c, d = band[0::2, 0::2], band[0::2, 1::2], band[1::2, 0::2], band[1::2, 1::2]
        counts += np.bincount(((a + b + c + d) * 511 + np.abs(a - b - c + d)).ravel(), minlength=counts.size)
    return counts.reshape(1021, 511)


def _median_half(counts: np.ndarray) -> float:
    """np.median of values k / 2 given their counts per k (the mean of the middle two if even)."""
    n = int(counts.sum())
    cumulative = np.cumsum(counts)
    hi = int(np.searchsorted(cumulative, n // 2 + 1)) / 2  # the value at sorted index n // 2
    if n % 2:
        return float(hi)
    lo = int(np.searchsorted(cumulative, n // 2)) / 2  # at index n // 2 - 1
    return float(np.mean([lo, hi]))


def _estimate_sigma_float(x: np.ndarray) -> float:
    """``estimate_sigma`` of float pixels (even sides), with the medians taken directly."""
    a, b, c, d = x[0::2, 0::2], x[0::2, 1::2], x[1::2, 0::2], x[1::2, 1::2]
    hh = np.abs(a - b - c + d) / 2
    mean = (a + b + c + d) / 4
    sigmas = []
    for ch in range(hh.shape[2]):
        sigma = np.median(hh[:, :, ch]) / 0.6745
        inside = hh[:, :, ch][(mean[:, :, ch] > 2 * sigma) & (mean[:, :, ch] < 255 - 2 * sigma)]
        if inside.size >= 64:
            sigma = np.median(inside) / 0.6745
        sigmas.append(sigma)
    return float(np.mean(sigmas))


def denoise_image(image: Image, sigma: float | None = None, strength: float = 1.0, device: str = "auto") -> Image:
    """Remove noise from an 8-bit image. ``sigma`` (8-bit units) is estimated when not given;
    ``strength`` mixes the result with the input (0 = input, 1 = fully denoised). Grey images are
    denoised as colour and averaged back; an alpha channel passes through unchanged."""
    import torch

    from aecodec.models.image.restore_unet import denoise

    if not 0.0 <= strength <= 1.0:
        raise InputError(f"--strength must be between 0 and 1, got {strength}")
    if sigma is not None and not 0.0 <= sigma <= 255.0:
        raise InputError(f"--sigma is in 8-bit units (0..255), got {sigma}")
    sigma = estimate_sigma(_rgb(image.pixels)) if sigma is None else float(sigma)
    net, dev = shipped(DENOISER, device)
    level = torch.tensor([sigma], device=dev)

    def restore(pixels: np.ndarray, window: tuple[slice, slice], core: tuple[slice, slice]) -> np.ndarray:
        rgb = _rgb(pixels[window]).astype(np.float32)
        out = _network_output(lambda x: denoise(net, x, level), _to_tensor(rgb, dev), core)
        rgb = rgb[core]
        out = rgb + strength * (out - rgb) if strength < 1 else out
        return _merge(out, pixels[window][core])

    return Image(_tiles(restore, image.pixels), image.metadata)  # the photo's colour profile and EXIF stay


def inpaint_image(image: Image, mask: np.ndarray, device: str = "auto") -> Image:
    """Fill the pixels where ``mask`` (bool, H x W) is True; every other pixel is returned
    unchanged, bit for bit."""
    import torch

    from aecodec.models.image.restore_unet import inpaint

    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (image.height, image.width):
        raise InputError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                         f"{image.width}x{image.height}; give a mask of the image's size")
    if not mask.any():
        return image
    net, dev = shipped(INPAINTER, device)

    def restore(pixels: np.ndarray, window: tuple[slice, slice], core: tuple[slice, slice]) -> np.ndarray:
        x = _to_tensor(_rgb(pixels[window]).astype(np.float32), dev)
        m = to_device(torch.from_numpy(mask[window])[None, None].float(), dev)
        out = _network_output(lambda t: inpaint(net, t[:, :3], t[:, 3:]), torch.cat([x, m], 1), core)
        kept = pixels[window][core]
        return np.where(mask[window][core][:, :, None], _merge(out, kept), kept)

    return Image(_tiles(restore, image.pixels), image.metadata)  # the photo's colour profile and EXIF stay


def _tile_for(height: int, width: int) -> int:
    """Whole images up to 4 MP once padded to ALIGN (fastest), tiles above (bounded memory)."""
    padded = -(-height // ALIGN) * ALIGN * (-(-width // ALIGN) * ALIGN)
    return TILE if padded > 4 * 1024 * 1024 else 0


def _tiles(restore, pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels -> uint8 result, ``restore(pixels, window, core)`` tile by tile.

    Each tile's window reaches MARGIN pixels beyond its core (the part kept), as
    ``models.image.tiling.tiled`` cuts them; only the uint8 input and output are whole-image
    arrays, so memory is a few bytes a pixel plus one tile's activations.
    """
    height, width = pixels.shape[:2]
    tile = _tile_for(height, width)
    if tile <= 0 or (height <= tile and width <= tile):
        whole = (slice(0, height), slice(0, width))
        return restore(pixels, whole, whole)
    out = np.empty_like(pixels)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            t0, l0 = max(0, top - MARGIN), max(0, left - MARGIN)
            t1, l1 = min(height, top + tile + MARGIN), min(width, left + tile + MARGIN)
            rows, cols = min(tile, height - top), min(tile, width - left)
            core = (slice(top - t0, top - t0 + rows), slice(left - l0, left - l0 + cols))
            out[top : top + rows, left : left + cols] = restore(pixels, (slice(t0, t1), slice(l0, l1)), core)
    return out


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """The colour planes: grey becomes three equal channels, alpha is left out."""
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels[:, :, :3]


def _merge(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Float RGB 0..255 -> uint8 pixels shaped as ``like``: grey back to luma, alpha from ``like``."""
    out = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if like.shape[2] == 1:
        out = to_gray(out)
    elif like.shape[2] == 4:
        out = np.concatenate([out, like[:, :, 3:]], axis=2)
    return out


def _to_tensor(rgb: np.ndarray, dev):
    import torch

    return to_device(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].div(255), dev)


def _network_output(fn, x, core: tuple[slice, slice]) -> np.ndarray:
    """``fn`` over x [1, C, h, w] -> its ``core`` as float RGB pixels 0..255, rows x cols x 3."""
    import torch

    with torch.inference_mode():
        y = fn(x)[0, :, core[0], core[1]]
    return (y.clamp(0, 1) * 255).permute(1, 2, 0).cpu().numpy()
