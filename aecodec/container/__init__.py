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

__all__ = [
    "HEADER_DICTIONARY",
    "MAGIC",
    "MAJOR",
    "MAX_HEADER_BYTES",
    "MAX_STREAMS",
    "MIN_FILE_BYTES",
    "MINOR",
    "Container",
    "pack",
    "read_header",
    "unpack",
]
