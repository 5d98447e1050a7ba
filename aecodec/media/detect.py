"""Audio or image? For inputs whose kind no option names: by content for bytes, by extension
for files, and else by asking soundfile. Importing it imports no numpy or soundfile."""

from __future__ import annotations

from pathlib import Path

from aecodec.media.inputs import InputSource
from aecodec.media.kinds import SNIFF_BYTES, is_audio_data, kind_by_suffix


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
