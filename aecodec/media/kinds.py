"""The one table of media file kinds: which extensions are images or audio, read or written.

Standard library only, so the CLI can sort its inputs without importing numpy, Pillow or
soundfile. Content sniffing (magic numbers) lives in ``aecodec.media.inputs``.
"""

from __future__ import annotations

from pathlib import PurePath

# Extension -> Pillow format name, for reading and writing images.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
                 ".webp": "WEBP", ".bmp": "BMP"}
IMAGE_SUFFIXES = frozenset(IMAGE_FORMATS)
AUDIO_SUFFIXES = frozenset((".wav", ".flac", ".ogg", ".opus", ".mp3"))  # what soundfile reads
# Extension -> soundfile format name, for writing audio (lossless only).
AUDIO_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def kind_by_suffix(path: str | PurePath) -> str | None:
    """"image", "audio", or None when the extension is neither."""
    suffix = PurePath(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    return None
