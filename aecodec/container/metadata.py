"""The header's optional ``metadata`` object (format 2.1): an image's ICC profile, EXIF and XMP,
each base64 in the JSON header, so the CRC covers them and format 2.0 readers skip them.

Specified in docs/FORMAT.md ("Metadata"). Pure stdlib, like the rest of the container.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Mapping

# Caps on the decoded bytes. Their base64 (4/3 of them) and the rest of the header stay under
# MAX_HEADER_BYTES together: 699,052 + 2 x 87,384 characters, 874 kB of the 1 MiB. An embedded
# display profile is 0.5 to 4 kB (sRGB 3 kB); one JPEG APP1 segment holds 64 KiB of EXIF or XMP.
MAX_ICC_BYTES = 1 << 19
MAX_EXIF_BYTES = 1 << 16
MAX_XMP_BYTES = 1 << 16
METADATA_LIMITS = {"icc_profile": MAX_ICC_BYTES, "exif": MAX_EXIF_BYTES, "xmp": MAX_XMP_BYTES}
NAMES = {"icc_profile": "ICC profile", "exif": "EXIF", "xmp": "XMP"}
ICC_HEADER_BYTES = 128


def metadata_problem(key: str, value: bytes) -> str | None:
    """What makes ``value`` unfit to be stored as metadata item ``key``, or None.

    ICC: at least the 128-byte profile header, ``acsp`` at offset 36, its size field (offset 0,
    big-endian u32) equal to its length. EXIF: a TIFF structure (``II*\\0`` or ``MM\\0*``), without
    JPEG's ``Exif\\0\\0`` prefix. XMP: UTF-8 text. None may be empty or over its cap.
    """
    name, limit = NAMES[key], METADATA_LIMITS[key]
    if not value:
        return f"the {name} is empty"
    if len(value) > limit:
        return f"the {name} is {len(value)} bytes, over the {limit}-byte limit of .aec files"
    if key == "icc_profile" and (len(value) < ICC_HEADER_BYTES or value[36:40] != b"acsp"
                                 or int.from_bytes(value[:4], "big") != len(value)):
        return "the ICC profile is not a well-formed profile"
    if key == "exif" and value[:4] not in (b"II*\x00", b"MM\x00*"):
        return "the EXIF does not start with a TIFF header (II or MM)"
    if key == "xmp":
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return "the XMP is not UTF-8 text"
    return None


def encode_metadata(items: Mapping[str, bytes]) -> dict[str, str]:
    """The header's ``metadata`` object for ``items`` (keys of METADATA_LIMITS, bytes values).

    Raises:
        ValueError: an unknown key or an item ``metadata_problem`` refuses (the calling codec
            checks its input first: this is a bug, not a user error).
    """
    stored = {}
    for key, value in items.items():
        if key not in METADATA_LIMITS:
            raise ValueError(f"unknown metadata item {key!r}")
        problem = metadata_problem(key, bytes(value))
        if problem:
            raise ValueError(problem)
        stored[key] = base64.b64encode(value).decode("ascii")
    return stored


def decode_metadata(stored: Any) -> tuple[dict[str, bytes], str | None]:
    """(the items, None) of a header's ``metadata`` object, or ({}, what is wrong with it).

    Each string's length is checked against its cap before it is decoded; keys this version
    does not know are ignored, as unknown header keys are.
    """
    if not isinstance(stored, dict):
        return {}, '"metadata" is not an object'
    items = {}
    for key, limit in METADATA_LIMITS.items():
        if key not in stored:
            continue
        text = stored[key]
        if not isinstance(text, str):
            return {}, f'"metadata.{key}" is not a string'
        if len(text) > 4 * -(-limit // 3):
            return {}, f"the {NAMES[key]} claims {len(text)} base64 characters, over the {limit}-byte limit"
        try:
            value = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return {}, f'"metadata.{key}" is not base64'
        if base64.b64encode(value).decode("ascii") != text:  # one spelling per value
            return {}, f'"metadata.{key}" is not canonical base64'
        problem = metadata_problem(key, value)
        if problem:
            return {}, problem
        items[key] = value
    return items, None
