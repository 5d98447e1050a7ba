"""The one table of media file kinds: which extensions are images or audio, read or written,
and the magic numbers that tell them apart by content.

Standard library only, so the CLI can sort its inputs without importing numpy, Pillow or
soundfile. ``aecodec.media.detect`` combines both, and asks soundfile when they cannot tell.
"""

from __future__ import annotations

from pathlib import PurePath

# Extension -> Pillow format name, for reading and writing images.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
                 ".webp": "WEBP", ".bmp": "BMP"}
# Tuples, not sets: messages list them, in this order.
IMAGE_SUFFIXES = tuple(IMAGE_FORMATS)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3")  # what soundfile reads
# Extension -> soundfile format name, for writing audio (lossless only).
AUDIO_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"BM")
AUDIO_MAGIC = (b"fLaC", b"OggS", b"ID3")
SNIFF_BYTES = 16  # enough for every magic number we check (RIFF....WAVE is 12)


def kind_by_suffix(path: str | PurePath) -> str | None:
    """"image", "audio", or None when the extension is neither."""
    suffix = PurePath(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    return None


def is_image_data(head: bytes) -> bool:
    """Whether ``head`` starts like a PNG, JPEG, TIFF, WebP or BMP file."""
    return head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def is_audio_data(head: bytes) -> bool:
    """Whether ``head`` starts like a WAV, FLAC, OGG / Opus or MP3 file."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return True
    mpeg_frame = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    return head.startswith(AUDIO_MAGIC) or mpeg_frame


def is_media_data(head: bytes) -> bool:
    return is_image_data(head) or is_audio_data(head)
