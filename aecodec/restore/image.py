"""Image denoising and inpainting with the shipped restoration U-Nets.

Arrays in, arrays out (``media.types.Image``); files are the CLI's business. Large images are
processed in overlapping tiles, so memory stays bounded and no seam shows.
"""

from __future__ import annotations

import numpy as np

from aecodec.device import to_device
from aecodec.errors import InputError
from aecodec.media.types import Image
from aecodec.restore.networks import shipped

DENOISER = "image-denoise-unet"
INPAINTER = "image-inpaint-unet"
TILE = 1024  # images above 4 MP go in tiles of this side; the margin exceeds the U-Net's receptive field
MARGIN = 128


def estimate_sigma(pixels: np.ndarray) -> float:
    """Noise standard deviation (8-bit units) of an image, without a reference.

    Donoho's estimator: the median absolute value of the finest diagonal Haar wavelet
    coefficients / 0.6745, which for white noise equals its sigma and which natural-image
    content (mostly smooth at that scale) biases little. Near black and white, clipping hides
    part of the noise, so a second pass keeps only blocks whose mean is two sigmas away from
    both ends. Channels are averaged.
    """
    x = np.asarray(pixels, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    if h < 2 or w < 2:
        return 0.0
    x = x[:h, :w]
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

    from aecodec.models.restore.unet import denoise

    if not 0.0 <= strength <= 1.0:
        raise InputError(f"--strength must be between 0 and 1, got {strength}")
    if sigma is not None and not 0.0 <= sigma <= 255.0:
        raise InputError(f"--sigma is in 8-bit units (0..255), got {sigma}")
    rgb, extra = _split(image)
    sigma = estimate_sigma(rgb) if sigma is None else float(sigma)
    net, dev = shipped(DENOISER, device)
    level = torch.tensor([sigma], device=dev)
    out = _run(lambda x: denoise(net, x, level), _to_tensor(rgb, dev), dev)
    out = rgb + strength * (out - rgb) if strength < 1 else out
    return _merge(out, image, extra)


def inpaint_image(image: Image, mask: np.ndarray, device: str = "auto") -> Image:
    """Fill the pixels where ``mask`` (bool, H x W) is True; every other pixel is returned
    unchanged, bit for bit."""
    import torch

    from aecodec.models.restore.unet import inpaint

    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (image.height, image.width):
        raise InputError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                         f"{image.width}x{image.height}; give a mask of the image's size")
    if not mask.any():
        return image
    rgb, extra = _split(image)
    net, dev = shipped(INPAINTER, device)
    m = to_device(torch.from_numpy(mask)[None, None].float(), dev)
    x = _to_tensor(rgb, dev)
    joined = torch.cat([x, m], 1)  # tiles cut image and mask alike
    out = _run(lambda t: inpaint(net, t[:, :3], t[:, 3:]), joined, dev)
    filled = np.where(mask[:, :, None], _merge(out, image, extra).pixels, image.pixels)
    return Image(filled.astype(np.uint8))


def _tile_for(height: int, width: int) -> int:
    """Whole images up to 4 MP (fastest), tiles above (bounded memory)."""
    return TILE if height * width > 4 * 1024 * 1024 else 0


def _split(image: Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB float pixels 0..255, alpha or None); grey becomes three equal channels."""
    px = image.pixels
    rgb = np.repeat(px, 3, axis=2) if px.shape[2] == 1 else px[:, :, :3]
    return rgb.astype(np.float32), (px[:, :, 3:] if px.shape[2] == 4 else None)


def _merge(rgb: np.ndarray, like: Image, alpha: np.ndarray | None) -> Image:
    out = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if like.channels == 1:
        out = np.clip(np.rint(rgb.mean(axis=2, keepdims=True)), 0, 255).astype(np.uint8)
    elif alpha is not None:
        out = np.concatenate([out, alpha], axis=2)
    return Image(out)


def _to_tensor(rgb: np.ndarray, dev):
    import torch

    return to_device(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].div(255), dev)


def _run(fn, x, dev) -> np.ndarray:
    """``fn`` over x [1, C, H, W] (tiled above 4 MP) -> float RGB pixels 0..255, H x W x 3."""
    import torch

    from aecodec.models.image.tiling import tiled

    with torch.inference_mode():
        y = tiled(fn, x, _tile_for(*x.shape[2:]), MARGIN, 1.0)
    return (y[0].clamp(0, 1) * 255).permute(1, 2, 0).cpu().numpy()
