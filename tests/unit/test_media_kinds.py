"""The one table of media kinds (aecodec.media.kinds) and telling audio from images (media.detect)."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import PIL.Image
import soundfile

from aecodec.media.detect import is_audio
from aecodec.media.image import READ_FORMATS
from aecodec.media.kinds import AUDIO_SUFFIXES, AUDIO_WRITE_FORMATS, IMAGE_FORMATS, kind_by_suffix


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(800, np.float32), 8000, format="WAV")
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PIL.Image.new("RGB", (4, 4)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_table_agrees_with_the_readers_and_writers():
    assert set(IMAGE_FORMATS.values()) <= set(READ_FORMATS)
    assert set(AUDIO_WRITE_FORMATS) <= set(AUDIO_SUFFIXES)
    assert kind_by_suffix("a/B.JPG") == "image" and kind_by_suffix("x.opus") == "audio" and kind_by_suffix("x.aec") is None


def test_audio_is_told_by_content_then_extension_then_soundfile(tmp_path):
    assert is_audio(wav_bytes()) and not is_audio(png_bytes())
    (tmp_path / "sound.dat").write_bytes(wav_bytes())
    (tmp_path / "picture.dat").write_bytes(png_bytes())
    assert is_audio(tmp_path / "sound.dat") and not is_audio(str(tmp_path / "picture.dat"))
    assert is_audio("missing.flac") and not is_audio("missing.png") and not is_audio(tmp_path / "missing.dat")


def test_kinds_and_detect_import_no_numpy_or_soundfile():
    probe = "import sys, aecodec.media.detect; print(sorted({'numpy', 'soundfile', 'PIL'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout == "[]\n"
