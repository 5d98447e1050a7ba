"""Reading and writing audio files as `Audio` (float32 samples of shape (frames, channels)).

Reading goes through soundfile (libsndfile): WAV (8/16/24/32-bit integer, 32/64-bit float),
FLAC, OGG/Vorbis, Opus and MP3, at any sample rate. Long files stream in blocks through
`AudioReader`, so nothing needs to hold an hour of audio in memory; `read_audio` reads a whole
file. Writing picks WAV or FLAC by extension and is atomic. Every soundfile failure becomes a
one-line `InputError` here, so callers never see libsndfile's exception types.
"""

from __future__ import annotations

import io
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile

from aecodec.errors import InputError
from aecodec.media.atomic import atomic_output, check_output
from aecodec.media.inputs import STDIN, InputSource, check_regular_file, read_stdin
from aecodec.media.kinds import AUDIO_WRITE_FORMATS, is_audio_data
from aecodec.media.types import Audio

log = logging.getLogger(__name__)

SAMPLE_FORMATS = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
"""``sample_format`` names for writing -> libsndfile subtypes (FLAC has no float)."""
BLOCK_FRAMES = 1 << 16
MAX_CHANNELS = 64
# Every reader refuses rates outside this range (the learned codec's own, docs/FORMAT.md): a
# "1 Hz" file holds a day of audio in 172 KB, and resampling it to a network's 24 kHz makes
# gigabytes out of nothing; above 768 kHz nothing is audio.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 768000
# What libsndfile (through soundfile) raises on missing, foreign or damaged data.
_SOUNDFILE_ERRORS = (soundfile.SoundFileError, RuntimeError, ValueError, TypeError, EOFError)


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header: rate in Hz, channel and frame counts."""

    sample_rate: int
    channels: int
    frames: int
    format: str  # libsndfile's major format, e.g. "WAV", "FLAC", "OGG", "MP3"
    subtype: str  # e.g. "PCM_16", "FLOAT", "VORBIS", "OPUS"

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


class AudioReader:
    """An open audio file read in blocks; use as a context manager.

    Blocks are float32 of shape (frames, channels). ``blocks()`` may be called more than once
    (each call starts from the beginning), which lets a codec make a cheap first pass.

    Raises (from the constructor and from iterating blocks):
        InputError: missing, empty, unreadable, damaged or foreign file, no samples, too many
            channels, or NaN / infinite samples.
    """

    def __init__(self, source: InputSource):
        self.name, handle = _open_source(source)
        try:
            with _quiet_c_stderr():
                self._file = soundfile.SoundFile(handle)
        except _SOUNDFILE_ERRORS as exc:
            log.debug("opening %s failed: %r", self.name, exc)
            raise _unreadable(self.name, exc) from None
        f = self._file
        self.info = AudioInfo(int(f.samplerate), int(f.channels), int(f.frames), str(f.format), str(f.subtype))
        if self.info.channels < 1 or self.info.channels > MAX_CHANNELS:
            self.close()
            raise _read_error(self.name, f"it has {self.info.channels} channels", f"at most {MAX_CHANNELS} are supported")
        try:
            check_sample_rate(self.info.sample_rate, self.name)
        except InputError:
            self.close()
            raise
        if self.info.frames <= 0:
            self.close()
            raise _read_error(self.name, "it holds no audio samples", "check the file or re-export it")

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """Yield the file's samples from the start as float32 (frames, channels) blocks."""
        try:
            self._file.seek(0)
            quiet = self.info.format == "MP3"
            blocks = self._file.blocks(block_frames, dtype="float32", always_2d=True)
            while True:
                with _quiet_c_stderr(quiet):
                    block = next(blocks, None)
                if block is None:
                    break
                if not np.isfinite(block).all():
                    raise _read_error(self.name, "it holds NaN or infinite samples", "repair or re-export it")
                yield block
        except _SOUNDFILE_ERRORS as exc:
            log.debug("reading %s failed: %r", self.name, exc)
            raise _read_error(self.name, "audio data is damaged", "check the file or re-export it") from None

    def read(self) -> Audio:
        """All samples at once (the frame count is what was actually decodable)."""
        parts = list(self.blocks())
        samples = np.concatenate(parts) if parts else np.zeros((0, self.info.channels), np.float32)
        if samples.shape[0] == 0:
            raise _read_error(self.name, "it holds no audio samples", "check the file or re-export it")
        return Audio(samples, self.info.sample_rate)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def _quiet_c_stderr(active: bool = True):
    """libmpg123, inside libsndfile, prints "Note: Illegal Audio-MPEG-Header ..." lines straight
    to the process's stderr (fd 2) on damaged MP3s; our one error line must stay the only one.
    Python's own sys.stderr is flushed first and is back in place before anything is reported."""
    if not active:
        yield
        return
    import sys

    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def check_sample_rate(rate: int, name: str = "the audio") -> None:
    """Refuse a sample rate outside MIN_SAMPLE_RATE..MAX_SAMPLE_RATE: the one check that every
    path taking audio in (encode, denoise, inpaint, benchmarks, training) shares."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise _read_error(name, f"its sample rate {rate} Hz is not supported",
                          f"resample it to {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz first")


def open_audio(source: InputSource) -> AudioReader:
    """Open an audio file (a path, ``"-"`` for standard input, or the file's bytes) for reading."""
    return AudioReader(source)


def audio_info(source: InputSource) -> AudioInfo:
    """Sample rate, channels and frames of a file, from its header (samples are not decoded)."""
    with AudioReader(source) as reader:
        return reader.info


def read_audio(source: InputSource) -> Audio:
    """Read a whole audio file as float32 (frames, channels) at its own sample rate.

    Integer formats are scaled to [-1, 1); float files keep their values as stored.

    Raises:
        InputError: as ``AudioReader``.
    """
    with AudioReader(source) as reader:
        return reader.read()


def read_mono(source: InputSource, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """A whole file mixed to mono (channels averaged) and resampled to ``sample_rate``: float32
    [frames], at most ``max_seconds`` of it when given.

    Raises:
        InputError: as ``AudioReader``.
    """
    from aecodec.media.resample import resample

    audio = read_audio(source)
    mono = audio.samples.mean(axis=1, keepdims=True)
    if max_seconds:
        mono = mono[: int(max_seconds * audio.sample_rate)]
    return resample(mono, audio.sample_rate, sample_rate)[:, 0]


def is_audio_file(path: str | os.PathLike[str]) -> bool:
    """Whether soundfile recognises ``path`` as audio (reads only the header; False on any error)."""
    try:
        with _quiet_c_stderr():  # libmpg123 prints notes while it probes a file that is not MP3
            soundfile.info(str(path))
        return True
    except _SOUNDFILE_ERRORS + (OSError,):
        return False


def output_audio_format(path: str | os.PathLike[str]) -> str:
    """The file format for an output path from its extension: "WAV" or "FLAC".

    Raises:
        InputError: any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_WRITE_FORMATS:
        raise InputError(f"cannot write '{path}': unknown audio extension '{suffix}'; use .wav or .flac")
    return AUDIO_WRITE_FORMATS[suffix]


def sample_format_like(subtype: str, fmt: str) -> str:
    """The ``sample_format`` that keeps an input's precision (its libsndfile ``subtype``) in
    format ``fmt``: 24-bit and float inputs are not cut to 16 bits (FLAC has no float)."""
    if subtype in ("FLOAT", "DOUBLE"):
        return "float" if fmt == "WAV" else "24"
    return "24" if subtype in ("PCM_24", "PCM_32") else "16"


@contextmanager
def audio_writer(path: str | os.PathLike[str], sample_rate: int, channels: int, *, force: bool = False,
                 sample_format: str = "16", format: str | None = None) -> Iterator[AudioWriter]:
    """Write an audio file block by block, atomically: on any error no output is left behind.

    ``format`` is "WAV" or "FLAC" (default: from the extension; required for ``"-"``, stdout).
    ``sample_format`` is "16" or "24" (integer PCM, samples clipped to [-1, 1]) or "float"
    (32-bit float, WAV only, stored as given).

    Raises:
        InputError: unknown extension or sample format, float FLAC, or the output exists
            (without ``force``) or cannot be written.
    """
    fmt = _check_writer_format(path, format, sample_format)
    check_output(path, force)
    with atomic_output(path, force) as temp:
        try:
            file = soundfile.SoundFile(str(temp), "w", int(sample_rate), int(channels),
                                       subtype=SAMPLE_FORMATS[sample_format], format=fmt)
        except _SOUNDFILE_ERRORS as exc:
            raise _write_error(path, exc) from None
        try:
            yield AudioWriter(file, str(path), clip=sample_format != "float")
        finally:
            file.close()


class AudioWriter:
    """What ``audio_writer`` yields: ``write(block)`` appends float (frames, channels) samples."""

    def __init__(self, file: soundfile.SoundFile, name: str, clip: bool):
        self._file, self._name, self._clip = file, name, clip
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        if self._clip:
            block = np.clip(block, -1.0, 1.0)
        try:
            self._file.write(block)
        except _SOUNDFILE_ERRORS as exc:
            raise _write_error(self._name, exc) from None
        self.frames += block.shape[0]


def write_audio(audio: Audio, path: str | os.PathLike[str], *, force: bool = False,
                sample_format: str = "16", format: str | None = None) -> None:
    """Write ``audio`` as WAV or FLAC (by extension, or ``format``), atomically.

    Raises:
        InputError: as ``audio_writer``, or the audio has no samples.
    """
    if audio.frames == 0:
        raise InputError("cannot write audio without samples; nothing was decoded")
    with audio_writer(path, audio.sample_rate, audio.channels, force=force, sample_format=sample_format,
                      format=format) as writer:
        writer.write(audio.samples)


def _check_writer_format(path, format: str | None, sample_format: str) -> str:
    if sample_format not in SAMPLE_FORMATS:
        raise InputError(f"unknown sample format '{sample_format}'; use one of {', '.join(SAMPLE_FORMATS)}")
    if format is None:
        if str(path) == "-":
            raise InputError("writing audio to standard output needs a format; name one, e.g. wav")
        fmt = output_audio_format(path)
    else:
        fmt = format.upper().lstrip(".")
        if fmt not in AUDIO_WRITE_FORMATS.values():
            raise InputError(f"unknown audio format '{format}'; use wav or flac")
    if fmt == "FLAC" and sample_format == "float":
        raise InputError("FLAC stores integer samples only; use --sample-format 16 or 24, or write .wav")
    return fmt


def _open_source(source: InputSource) -> tuple[str, object]:
    """The display name and something soundfile can open: a path or an in-memory file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<bytes>"
    elif str(source) == "-":
        name = STDIN
        data = read_stdin(lambda reason, hint: _read_error(name, reason, hint), accept=is_audio_data,
                          kind="WAV, FLAC, OGG, Opus or MP3 audio")
    else:
        name = str(source)
        size = check_regular_file(source, lambda reason, hint: _read_error(name, reason, hint), "give an audio file")
        if size == 0:
            raise _read_error(name, "file is empty", "check the file or re-export it")
        return name, name
    if not data:
        raise _read_error(name, "file is empty", "check the file or re-export it")
    return name, io.BytesIO(data)


def _unreadable(name: str, exc: Exception) -> InputError:
    text = str(exc).lower()
    if "format not recognised" in text or "unknown format" in text:
        return _read_error(name, "not audio in a supported format", "convert it to WAV, FLAC, OGG, Opus or MP3")
    return _read_error(name, "audio data is damaged or truncated", "check the file or re-export it")


def _reason(exc: Exception) -> str:
    return (str(exc).splitlines()[0] if str(exc) else type(exc).__name__).rstrip(".").lower()


def _write_error(path, exc: Exception) -> InputError:
    log.debug("writing %s failed: %r", path, exc)
    return InputError(f"cannot write audio '{path}': {_reason(exc)}; check the folder and the format")


def _read_error(name: str, reason: str, hint: str) -> InputError:
    return InputError(f"cannot read audio '{name}': {reason}; {hint}")
