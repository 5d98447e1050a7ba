"""An image file's ICC profile, EXIF and XMP: taken from what Pillow read, written back on save.

They travel with the pixels (``Image.metadata``) through encode and decode, so that a wide-gamut
photo keeps its colours and a camera JPEG its EXIF. Pixels are always upright: reading applies
the EXIF orientation (media.image), and Pillow's ``exif_transpose`` then removes the tag from the
EXIF and XMP, so every viewer shows the result as it showed the original. Pillow is imported
only where a file is written: ``Image`` (media.types) holds an ``ImageMetadata``.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

EXIF_PREFIX = b"Exif\x00\x00"  # JPEG's APP1 (and Pillow's info["exif"]) put it before the TIFF data
# An ICC profile's data colour space (header bytes 16..20) that fits pixels of each mode.
COLOUR_SPACES = {"L": b"GRAY", "RGB": b"RGB ", "RGBA": b"RGB "}
JPEG_SEGMENT_BYTES = 65533  # the payload of one JPEG marker segment
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
TIFF_XMP_TAG = 700
# Tags that describe a TIFF's own pixel layout (size, strips, samples, compression, orientation,
# its ICC profile): taken from carried EXIF they would contradict the pixels Pillow writes.
TIFF_LAYOUT_TAGS = frozenset({254, 255, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 284, 317, 320,
                              322, 323, 324, 325, 338, 339, 530, 531, 532, 34675})
_EXIF_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)


@dataclass(frozen=True)
class ImageMetadata:
    """What an image file says about its pixels besides them, as bytes (None: absent).

    Attributes:
        icc_profile: an ICC profile whose colour space fits the pixels (GRAY for L, RGB else).
        exif: EXIF as a TIFF structure (``II`` or ``MM`` first), without the ``Exif\\0\\0``
            prefix, and without an orientation tag (the pixels are upright).
        xmp: the XMP packet, UTF-8.
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None

    def items(self) -> dict[str, bytes]:
        """The items present, by the container's names: ``"icc_profile"``, ``"exif"``, ``"xmp"``."""
        found = {"icc_profile": self.icc_profile, "exif": self.exif, "xmp": self.xmp}
        return {key: value for key, value in found.items() if value}


def metadata_of(info: dict[str, Any], mode: str) -> ImageMetadata:
    """The metadata in a Pillow image's ``info`` (after ``exif_transpose``), for pixels of
    ``mode`` ("L", "RGB", "RGBA"). A profile of another colour space (a CMYK JPEG's, once its
    pixels are converted to RGB) describes no pixels any more and is left out."""
    icc = _as_bytes(info.get("icc_profile"))
    if icc is not None and icc[16:20] != COLOUR_SPACES[mode]:
        icc = None
    exif = _as_bytes(info.get("exif"))
    if exif is not None and exif.startswith(EXIF_PREFIX):
        exif = exif[len(EXIF_PREFIX):] or None
    return ImageMetadata(icc_profile=icc, exif=exif, xmp=_as_bytes(info.get("xmp")))


def save_options(metadata: ImageMetadata, fmt: str, mode: str) -> dict[str, Any]:
    """Pillow ``save`` keyword arguments that write ``metadata`` into a file of Pillow format
    ``fmt`` holding pixels of ``mode``: ICC, EXIF and XMP in PNG, JPEG, TIFF and WebP; nothing in
    BMP. An item the format cannot hold (EXIF or XMP over one JPEG segment, a GRAY profile in a
    WebP, which stores grey as RGB) is left out, with a logged warning for EXIF and XMP."""
    if fmt not in ("PNG", "JPEG", "TIFF", "WEBP"):
        return {}
    options: dict[str, Any] = {}
    written_mode = "RGB" if fmt == "WEBP" and mode == "L" else mode
    if metadata.icc_profile and metadata.icc_profile[16:20] == COLOUR_SPACES[written_mode]:
        options["icc_profile"] = metadata.icc_profile
    exif, xmp = metadata.exif, metadata.xmp
    if fmt == "JPEG":
        exif = _fits_jpeg(exif, len(EXIF_PREFIX), "EXIF")
        xmp = _fits_jpeg(xmp, len(JPEG_XMP_HEADER), "XMP")
        options.update(_present(exif=exif and EXIF_PREFIX + exif, xmp=xmp))
    elif fmt == "PNG":
        options.update(_present(exif=exif))
        if xmp:
            from PIL.PngImagePlugin import PngInfo

            text = PngInfo()
            text.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
            options["pnginfo"] = text
    elif fmt == "WEBP":
        options.update(_present(exif=exif, xmp=xmp))
    elif exif or xmp:  # TIFF: EXIF tags go into the file's own directory, XMP into tag 700
        options["exif"] = _tiff_tags(exif, xmp)
    return options


def _tiff_tags(exif: bytes | None, xmp: bytes | None):
    import PIL.Image

    tags = PIL.Image.Exif()
    if exif:
        try:
            tags.load(exif)
        except _EXIF_ERRORS:
            log.warning("the image's EXIF cannot be parsed and is left out of the TIFF")
            tags = PIL.Image.Exif()
    for tag in TIFF_LAYOUT_TAGS & set(tags):
        del tags[tag]
    if xmp:
        tags[TIFF_XMP_TAG] = xmp
    return tags


def _fits_jpeg(value: bytes | None, overhead: int, name: str) -> bytes | None:
    if value and len(value) + overhead > JPEG_SEGMENT_BYTES:
        log.warning("the image's %s (%d bytes) does not fit in a JPEG segment and is left out; "
                    "write .png, .tiff or .webp to keep it", name, len(value))
        return None
    return value


def _present(**items: bytes | None) -> dict[str, bytes]:
    return {key: value for key, value in items.items() if value}


def _as_bytes(value: object) -> bytes | None:
    """Pillow's info values as bytes: XMP is a str in PNG, a 1-tuple in some TIFFs."""
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        value = value.encode("utf-8", "replace")
    return bytes(value) if isinstance(value, (bytes, bytearray)) and value else None
