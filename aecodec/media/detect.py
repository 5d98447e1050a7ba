"""Audio or image, or neither? For inputs whose kind no option names: by content for bytes, by
extension for files, then by magic number, and else by asking soundfile. Importing it imports
no numpy or soundfile."""

from __future__ import annotations

from pathlib import Path

from aecodec.media.inputs import InputSource
from aecodec.media.kinds import SNIFF_BYTES, is_audio_data, is_media_data, kind_by_suffix


def is_audio(source: InputSource) -> bool:
    """Whether ``source`` (a path or a file's bytes) is audio rather than an image."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return is_audio_data(bytes(source[:SNIFF_BYTES]))
    kind = kind_by_suffix(source)
    if kind is not None:
        return kind == "audio"
    if not Path(source).is_file():
        return False
    from aecodec.media.audio import is_audio_file

    return is_audio_file(source)


def head(path: str) -> bytes:
    """The first bytes of a file (empty if it cannot be read)."""
    try:
        with open(path, "rb") as file:
            return file.read(SNIFF_BYTES)
    except OSError:
        return b""


def is_media_file(path: str) -> bool:
    """An image or audio file: by extension, else by its magic number, else as soundfile sees it."""
    if kind_by_suffix(path) is not None:
        return True
    if is_media_data(head(path)):
        return True
    return is_audio(path)  # soundfile knows more (AIFF, CAF, ...): imports numpy
