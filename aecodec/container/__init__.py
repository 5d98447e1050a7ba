"""The `.aec` container: a versioned, checksummed JSON header (deflated) plus payload streams.

The format is specified in docs/FORMAT.md; this package implements exactly that. It never sees
a tensor, only bytes and plain dicts, and imports nothing beyond the standard library.
"""

from aecodec.container.format import (
    HEADER_DICTIONARY,
    MAGIC,
    MAJOR,
    MAX_HEADER_BYTES,
    MAX_STREAMS,
    MIN_FILE_BYTES,
    MINOR,
    Container,
    pack,
    read_header,
    unpack,
)
from aecodec.container.metadata import MAX_EXIF_BYTES, MAX_ICC_BYTES, MAX_XMP_BYTES, metadata_problem

__all__ = [
    "HEADER_DICTIONARY",
    "MAGIC",
    "MAJOR",
    "MAX_EXIF_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_ICC_BYTES",
    "MAX_STREAMS",
    "MAX_XMP_BYTES",
    "MIN_FILE_BYTES",
    "MINOR",
    "Container",
    "metadata_problem",
    "pack",
    "read_header",
    "unpack",
]
