"""Reading and writing image files as `Image` (uint8 pixels of shape (H, W, C), C in 1, 3, 4).

Every Pillow failure is turned into a one-line `InputError` here, so callers never see Pillow's
exception types. Reading normalises to the three modes codecs handle: L, RGB and RGBA.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import sys
import threading
import warnings
import zlib
from pathlib import Path
from typing import Union

import numpy as np
import PIL.Image
from PIL import ImageOps

from aecodec.errors import InputError
from aecodec.media.atomic import atomic_write, check_output
from aecodec.media.types import Image

log = logging.getLogger(__name__)

# 2**28 pixels (16384 x 16384, ~268 MP, about 1 GiB as RGBA): beyond that a file is more
# likely a decompression bomb than a photo.
MAX_PIXELS = 2**28
_LIMIT = f"{MAX_PIXELS / 1e6:.0f} megapixel limit"
JPEG_QUALITY = 95
EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
              ".webp": "WEBP", ".bmp": "BMP"}
_FORMAT_NAMES = {suffix[1:]: name for suffix, name in EXTENSIONS.items()}
_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": JPEG_QUALITY},
    # zlib level 1, Huffman coding only (strategy 2): about 7x faster than Pillow's default level 6
    # (0.02 s vs 0.15 s for a decoded 768x512 photo, a tenth of a whole decode), and on decoded
    # photos smaller than level 1's default strategy; re-save with optimize=True to squeeze.
    "PNG": {"compress_level": 1, "compress_type": 2},
    # Lossless, and `exact` keeps colours under transparent pixels: what we decoded is written.
    "WEBP": {"lossless": True, "exact": True},
}
_MAX_SIDE = {"JPEG": 65535, "WEBP": 16383}  # limits of the formats themselves
_NO_ALPHA = ("JPEG", "BMP")  # Pillow reads a 32-bit BMP back without its alpha
# What Pillow's plugins and decoders raise on corrupt data, besides OSError subclasses.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  struct.error, zlib.error)
# Pillow's bomb limit is a module global: we swap in ours for one read at a time, so
# concurrent reads in threads take turns.
_PILLOW_LIMIT_LOCK = threading.Lock()

Source = Union[str, "os.PathLike[str]", bytes]


def read_image(source: Source) -> Image:
    """Read an image file (a path, ``"-"`` for standard input, or the file's bytes).

    The EXIF orientation is applied. Grayscale (1-bit, 8-bit, 16-bit scaled to 8) becomes L,
    anything with transparency (alpha channel, transparent palette entry) becomes RGBA, every
    other colour mode (palette, CMYK, YCbCr) becomes RGB.

    Raises:
        InputError: the file is missing, empty, truncated, damaged, not an image, over
            ``MAX_PIXELS`` pixels, or in a colour mode that cannot be converted.
    """
    name, data = _read_source(source)
    if not data:
        raise _read_error(name, "file is empty", "check the file or re-export it")
    try:
        return Image(pixels=_decode(data, name))
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise _too_large(name, f"it has a frame larger than the {_LIMIT}") from None
    except PIL.UnidentifiedImageError:
        raise _read_error(name, "not an image in a supported format",
                          "convert it to PNG, JPEG, TIFF, WebP or BMP") from None
    except _DECODE_ERRORS as exc:
        log.debug("decoding %s failed: %r", name, exc)
        reason = "file is truncated" if "truncated" in str(exc).lower() else "image data is damaged"
        raise _read_error(name, reason, "check the file or re-export it") from None


def write_image(image: Image, path: str | os.PathLike[str], *, force: bool = False,
                format: str | None = None) -> None:
    """Write ``image`` to ``path`` atomically (``"-"``: standard output, ``format`` required).

    The format comes from ``format`` (e.g. ``"png"``) or else the extension: .png, .jpg,
    .jpeg, .tif, .tiff, .webp, .bmp. JPEG is written at quality 95, WebP losslessly (WebP
    has no grayscale: L is stored as RGB).

    Raises:
        InputError: unknown extension or format, RGBA to JPEG or BMP, an image too large for
            the format, or the output exists (without ``force``) or cannot be written.
    """
    pillow_format = _pillow_format(format) if format is not None else output_format(path)
    check_output(path, force)
    atomic_write(path, image_to_bytes(image, pillow_format), force=force)


def image_to_bytes(image: Image, fmt: str) -> bytes:
    """Encode ``image`` as a file in format ``fmt`` ("png", "jpeg", "tiff", "webp", "bmp").

    Raises:
        InputError: unknown format, RGBA to JPEG or BMP, or an image too large for the format.
        ValueError: ``image.pixels`` is not uint8 of shape (H, W, 1 | 3 | 4), H, W > 0.
    """
    pillow_format = _pillow_format(fmt)
    pixels = image.pixels
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise ValueError(f"pixels must be uint8 (H, W, 1|3|4), got {pixels.dtype} {pixels.shape}")
    if pixels.size == 0:
        raise ValueError(f"cannot encode an empty image of shape {pixels.shape}")
    if pillow_format in _NO_ALPHA and image.channels == 4:
        raise InputError(f"{pillow_format} cannot store transparency; "
                         "write .png, .webp or .tiff instead")
    max_side = _MAX_SIDE.get(pillow_format)
    if max_side and max(image.height, image.width) > max_side:
        raise InputError(f"{image.width}x{image.height} is too large for {pillow_format} (at most "
                         f"{max_side} pixels a side); write .png or .tiff instead")
    planes = pixels[..., 0] if image.channels == 1 else pixels  # Pillow wants (H, W) for L
    pil_image = PIL.Image.fromarray(np.ascontiguousarray(planes))
    buffer = io.BytesIO()
    try:
        pil_image.save(buffer, format=pillow_format, **_SAVE_OPTIONS.get(pillow_format, {}))
    except (OSError, ValueError) as exc:
        log.debug("encoding as %s failed: %r", pillow_format, exc)
        raise InputError(f"cannot encode the image as {pillow_format}; "
                         "write .png or .tiff instead") from None
    return buffer.getvalue()


def output_format(path: str | os.PathLike[str]) -> str:
    """The image format for an output path, from its extension ("PNG", "JPEG", ...).

    Raises:
        InputError: the extension is not a supported image format, or the path is ``"-"``.
    """
    if str(path) == "-":
        raise InputError("writing an image to standard output needs a format; name one, e.g. png")
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise InputError(f"cannot write '{path}': unknown image extension '{suffix}'; "
                         f"use one of {', '.join(EXTENSIONS)}")
    return EXTENSIONS[suffix]


def _read_source(source: Source) -> tuple[str, bytes]:
    """The display name and bytes of a path, ``"-"`` (standard input) or bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>", bytes(source)
    if str(source) == "-":
        return "standard input", sys.stdin.buffer.read()
    name = str(source)
    try:
        return name, Path(source).read_bytes()
    except FileNotFoundError:
        raise _read_error(name, "no such file", "check the path") from None
    except IsADirectoryError:
        raise _read_error(name, "it is a directory", "give an image file") from None
    except PermissionError:
        raise _read_error(name, "permission denied", "check the file's permissions") from None
    except OSError as exc:
        raise _read_error(name, (exc.strerror or "read failed").lower(), "check the file") from None


def _decode(data: bytes, name: str) -> np.ndarray:
    """Decode with MAX_PIXELS as the bomb limit, refusing a large image before decoding it."""
    with _PILLOW_LIMIT_LOCK, warnings.catch_warnings():
        # Pillow only warns between its limit and twice that; a bomb must stop, not print.
        warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
        saved_limit = PIL.Image.MAX_IMAGE_PIXELS
        PIL.Image.MAX_IMAGE_PIXELS = None  # open reads only the header; we check its size
        try:
            with PIL.Image.open(io.BytesIO(data)) as pil_image:
                width, height = pil_image.size
                if width * height > MAX_PIXELS:
                    raise _too_large(name, f"it is {width}x{height} pixels, more than the {_LIMIT}")
                # Decoding checks frames and tiles again; make Pillow use our limit for them.
                PIL.Image.MAX_IMAGE_PIXELS = MAX_PIXELS
                pil_image.load()
                return _to_array(ImageOps.exif_transpose(pil_image), name)
        finally:
            PIL.Image.MAX_IMAGE_PIXELS = saved_limit


def _to_array(pil_image: PIL.Image.Image, name: str) -> np.ndarray:
    """uint8 (H, W, C) pixels in mode L, RGB or RGBA."""
    mode = pil_image.mode
    if mode.startswith("I"):  # 16-bit (or 32-bit integer) grayscale: scale 0..65535 to 0..255
        wide = np.clip(np.asarray(pil_image).astype(np.int64), 0, 65535)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)[..., None]
    if pil_image.has_transparency_data:
        target = "RGBA"
    else:
        target = "L" if PIL.Image.getmodebase(mode) == "L" else "RGB"
    if mode != target:
        try:
            pil_image = pil_image.convert(target)
        except ValueError:
            raise _read_error(name, f"colour mode {mode} is not supported",
                              "convert it to 8-bit RGB or grayscale") from None
    pixels = np.array(pil_image, dtype=np.uint8)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _pillow_format(fmt: str) -> str:
    name = fmt.lower().lstrip(".")
    if name not in _FORMAT_NAMES:
        raise InputError(f"unknown image format '{fmt}'; use one of {', '.join(_FORMAT_NAMES)}")
    return _FORMAT_NAMES[name]


def _read_error(name: str, reason: str, hint: str) -> InputError:
    return InputError(f"cannot read image '{name}': {reason}; {hint}")


def _too_large(name: str, reason: str) -> InputError:
    return _read_error(name, reason, "downscale or crop it first")
