"""Forged media for the hostile-input tests (issue 20), made in memory: nothing stored on disk."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def jpeg_claiming(width: int, height: int) -> bytes:
    """A 16x16 JPEG whose frame header (SOF0) is patched to claim another size (the scan stays 4 blocks)."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def one_bit_png(width: int, height: int) -> bytes:
    """A blank 1-bit PNG deflated at level 9: 588 bytes for 1 x 4M pixels, 32 KB for 16384^2."""
    row = bytes(1 + -(-width // 8))  # filter byte + packed pixels
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


NOT_REGULAR = ("device", "link to a device", "fifo")


def not_a_regular_file(folder: Path, name: str, kind: str) -> Path:
    """An input path that is a device, a symlink to one, or a FIFO (``kind`` in NOT_REGULAR):
    reading any of them would never end or never start."""
    if kind == "device":
        return Path("/dev/zero")
    path = folder / name
    if kind == "link to a device":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)  # opening it would wait for a writer forever
    return path
