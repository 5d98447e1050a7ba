"""Reading and writing image files as `Image` (uint8 pixels of shape (H, W, C), C in 1, 3, 4).

Every Pillow failure is turned into a one-line `InputError` here, so callers never see Pillow's
exception types. Reading normalises to the three modes codecs handle: L, RGB and RGBA, and keeps
the file's ICC profile, EXIF and XMP (media.metadata), which writing puts back.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
from PIL import ImageFile, ImageOps

from aecodec.errors import InputError
from aecodec.media.atomic import atomic_write, check_output
from aecodec.media.inputs import STDIN, InputSource, read_regular_file, read_stdin
from aecodec.media.kinds import IMAGE_FORMATS, is_image_data
from aecodec.media.metadata import metadata_of, save_options
from aecodec.media.types import Image

log = logging.getLogger(__name__)

# 2**28 pixels (16384 x 16384, ~268 MP, about 1 GiB as RGBA): beyond that a file is more
# likely a decompression bomb than a photo. Callers with costlier work per pixel (the learned
# codec, the restoration networks) pass lower limits of their own.
MAX_PIXELS = 2**28
# Work per input byte: above FREE_PIXELS, a file must hold at least one byte per
# MAX_PIXELS_PER_BYTE pixels. Photos hold ~1 byte a pixel and flat screenshots or scans
# ~1 per 10-300; a 32 KB PNG of 16384^2 blank 1-bit pixels (8000 a byte) only makes work.
FREE_PIXELS = 1 << 22
MAX_PIXELS_PER_BYTE = 1024
# A (Huffman-coded) JPEG spends at least one bit on every 8x8 block, so a file of n bytes
# cannot hold more than 8 n blocks: a header claiming more is a forgery, which libjpeg
# would otherwise "decode" for minutes, block after empty block.
JPEG_BITS_PER_BLOCK = 1
# Pillow opens these only: they are what aecodec documents, and no other plugin (EPS runs
# Ghostscript, for one) gets to see hostile bytes.
READ_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "BMP")  # JPEG includes MPO (camera JPEGs)
JPEG_QUALITY = 95
_FORMAT_NAMES = {suffix[1:]: name for suffix, name in IMAGE_FORMATS.items()}
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
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_NO_ALPHA = ("JPEG", "BMP")  # Pillow reads a 32-bit BMP back without its alpha
# What Pillow's plugins and decoders raise on corrupt data, besides OSError subclasses.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  struct.error, zlib.error)
# Pillow's bomb limit is a module global: we swap in ours for one read at a time, so
# concurrent reads in threads take turns.
_PILLOW_LIMIT_LOCK = threading.Lock()


def read_image(source: InputSource, max_pixels: int = MAX_PIXELS, align: int = 1, metadata: bool = True) -> Image:
    """Read an image file (a path, ``"-"`` for standard input, or the file's bytes).

    ``max_pixels`` bounds the image, and ``align`` says what the caller pads the sides to
    (64 for the learned codec): the padded area counts as the work the file asks for, both
    against ``max_pixels`` and against the file's size (``MAX_PIXELS_PER_BYTE``), so a 1 x 4M
    strip is judged as the 64 x 4M image it becomes. All is checked from the header, before
    any pixel is decoded. ``metadata=False`` leaves ``Image.metadata`` empty (--strip-metadata).

    The EXIF orientation is applied (and removed from the EXIF and XMP kept in
    ``Image.metadata``, with the ICC profile when it fits the pixels' colour space). Grayscale
    (1-bit, 8-bit, 16-bit scaled to 8) becomes L, anything with transparency (alpha channel,
    transparent palette entry) becomes RGBA, every other colour mode (palette, CMYK, YCbCr)
    becomes RGB. A PNG or TIFF of more than 8 bits a sample logs one warning, "image '<name>':
    16-bit reduced to 8-bit (...)".

    Raises:
        InputError: the file is missing, not a regular file, empty, truncated, damaged, not
            an image, over ``max_pixels`` pixels, claiming more pixels than its size can
            hold, or in a colour mode that cannot be converted.
    """
    name, data = _read_source(source)
    if not data:
        raise _read_error(name, "file is empty", "check the file or re-export it")
    try:
        image = _decode(data, name, max_pixels, align)
        return image if metadata else Image(image.pixels)
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise _too_large(name, f"it has a frame larger than the {_limit(max_pixels)}") from None
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
    has no grayscale: L is stored as RGB). ``image.metadata`` is written where the format
    holds it (all but BMP; see ``media.metadata.save_options``).

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
        pil_image.save(buffer, format=pillow_format, **_SAVE_OPTIONS.get(pillow_format, {}),
                       **save_options(image.metadata, pillow_format, image.mode))
    except (OSError, ValueError) as exc:
        log.debug("encoding as %s failed: %r", pillow_format, exc)
        raise InputError(f"cannot encode the image as {pillow_format}; "
                         "write .png or .tiff instead") from None
    return buffer.getvalue()


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> its (H, W, 1) ITU-R 601 luma, as Pillow's convert('L') computes it:
    how every processed grey image (decoded, restored) returns to one channel."""
    c = rgb.astype(np.uint32)
    luma = (c[:, :, 0] * 299 + c[:, :, 1] * 587 + c[:, :, 2] * 114 + 500) // 1000
    return luma.astype(np.uint8)[:, :, None]


def output_format(path: str | os.PathLike[str]) -> str:
    """The image format for an output path, from its extension ("PNG", "JPEG", ...).

    Raises:
        InputError: the extension is not a supported image format, or the path is ``"-"``.
    """
    if str(path) == "-":
        raise InputError("writing an image to standard output needs a format; name one, e.g. png")
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise InputError(f"cannot write '{path}': unknown image extension '{suffix}'; "
                         f"use one of {', '.join(IMAGE_FORMATS)}")
    return IMAGE_FORMATS[suffix]


def _read_source(source: InputSource) -> tuple[str, bytes]:
    """The display name and bytes of a path, ``"-"`` (standard input) or bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>", bytes(source)
    if str(source) == "-":
        error = lambda reason, hint: _read_error(STDIN, reason, hint)  # noqa: E731
        return STDIN, read_stdin(error, accept=is_image_data, kind="a PNG, JPEG, TIFF, WebP or BMP image")
    name = str(source)
    error = lambda reason, hint: _read_error(name, reason, hint)  # noqa: E731
    return name, read_regular_file(source, error, directory_hint="give an image file")


def _decode(data: bytes, name: str, max_pixels: int, align: int) -> Image:
    """Decode with ``max_pixels`` as the bomb limit, refusing a large image before decoding it."""
    with _PILLOW_LIMIT_LOCK, warnings.catch_warnings():
        # Pillow's other warnings (e.g. "Corrupt EXIF data": the orientation is then left as it
        # is) would print lines of their own; errors stay one line.
        warnings.simplefilter("ignore", UserWarning)
        # Pillow only warns between its limit and twice that; a bomb must stop, not print.
        warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
        saved_limit, saved_truncated = PIL.Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        PIL.Image.MAX_IMAGE_PIXELS = None  # open reads only the header; we check its size
        ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut file is an error, never grey padding
        try:
            with PIL.Image.open(io.BytesIO(data), formats=READ_FORMATS) as pil_image:
                check_size(pil_image.size, data, pil_image.format, name, max_pixels, align)
                depth = _deep_samples(pil_image)  # from the tiles, which load() clears
                # Decoding checks frames and tiles again; make Pillow use our limit for them.
                PIL.Image.MAX_IMAGE_PIXELS = max_pixels
                pil_image.load()
                upright = ImageOps.exif_transpose(pil_image)
                pixels = _to_array(upright, name)
                image = Image(pixels, metadata_of(upright.info, _MODES[pixels.shape[2]]))
        finally:
            PIL.Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved_limit, saved_truncated
    if depth:
        # repr: a file name's control characters must not reach the terminal
        log.warning("image %r: %s reduced to 8-bit (aecodec works on 8 bits a sample)", name, depth)
    return image


def _deep_samples(pil_image: PIL.Image.Image) -> str | None:
    """"16-bit", "32-bit" or "32-bit float" for a PNG or TIFF of more than 8 bits a sample,
    read from its mode or its tiles' raw modes (Pillow opens a 16-bit RGB PNG as 8-bit RGB)."""
    if pil_image.format not in ("PNG", "TIFF"):  # BMP's "BGR;16" is 5-6-5, not 16 bits a sample
        return None
    if pil_image.mode == "F":
        return "32-bit float"
    raw_modes = [tile.args[0] if isinstance(tile.args, tuple) else tile.args for tile in pil_image.tile]
    for raw_mode in raw_modes + [pil_image.mode]:
        found = re.search(r";(16|32)", str(raw_mode))
        if found:
            return f"{found.group(1)}-bit"
    return "32-bit" if pil_image.mode == "I" else None


def check_size(size: tuple[int, int], data: bytes, fmt: str | None, name: str, max_pixels: int = MAX_PIXELS,
               align: int = 1) -> None:
    """Refuse a (width, height) from a header that is over ``max_pixels`` (padded to
    ``align``), more than ``data``'s size can honestly hold, or work out of proportion to it."""
    width, height = size
    work = -(-width // align) * align * (-(-height // align) * align)
    if width * height > max_pixels:
        raise _too_large(name, f"it is {width}x{height} pixels, more than the {_limit(max_pixels)}")
    if work > max_pixels:
        raise _too_large(name, f"it is {width}x{height} pixels, {work / 1e6:.0f} MP once its sides are padded "
                               f"to multiples of {align}, more than the {_limit(max_pixels)}")
    if fmt in ("JPEG", "MPO") and not _arithmetic_jpeg(data):
        blocks = -(-width // 8) * -(-height // 8)
        if blocks * JPEG_BITS_PER_BLOCK > 8 * len(data):
            raise _read_error(name, f"its header claims {width}x{height} pixels, more 8x8 blocks than its "
                                    f"{len(data)} bytes can code", "the file is damaged or forged; re-export it")
    if work > max(FREE_PIXELS, MAX_PIXELS_PER_BYTE * len(data)):
        padded = f" ({work / 1e6:.1f} MP once padded to multiples of {align})" if work != width * height else ""
        raise _read_error(name, f"it decodes to {width}x{height} pixels{padded} from only {len(data)} bytes (over "
                                f"{MAX_PIXELS_PER_BYTE} pixels a byte), as decompression bombs do",
                          "if the image is genuine, crop or downscale it first")


def _arithmetic_jpeg(data: bytes) -> bool:
    """Whether a JPEG's frame header is one of arithmetic coding (SOF9..SOF15), which can code
    an empty block in a fraction of a bit. Walks the marker segments up to the first SOF."""
    at = 2  # after SOI
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker >= 0xC9
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return False


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


def _limit(max_pixels: int) -> str:
    return f"{max_pixels / 1e6:.0f} megapixel limit" if max_pixels >= 10**6 else f"{max_pixels}-pixel limit"


def _read_error(name: str, reason: str, hint: str) -> InputError:
    return InputError(f"cannot read image '{name}': {reason}; {hint}")


def _too_large(name: str, reason: str) -> InputError:
    return _read_error(name, reason, "downscale or crop it first")
