"""Classic audio codecs behind the Codec protocol: ``mp3`` (LAME CBR via lameenc), ``opus``
(libsndfile via soundfile) and ``codec2`` (the 8 kHz speech vocoder via pycodec2); ``quality`` is
the bitrate in kbps. Decoders return float32 (frames, channels) at the file's sample rate, which
differs from the input's only when the format cannot store the input rate; the input is then
resampled with ``aecodec.media.resample``. Codec2 restores the input's rate, length and channels.
"""

from __future__ import annotations

import io
import math
import struct
from typing import Literal

import numpy as np
import soundfile

from aecodec.codecs.base import Media
from aecodec.errors import FormatError, InputError
from aecodec.media.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from aecodec.media.resample import output_frames, resample
from aecodec.media.types import Audio


def _check_audio(name: str, item: Media, max_channels: int) -> Audio:
    if not isinstance(item, Audio):
        raise InputError(f"{name} encodes audio, not images; use jpeg, webp, avif, jpeg2000, jxl or heif")
    if not 1 <= item.channels <= max_channels or item.frames == 0:
        raise InputError(f"{name} needs 1..{max_channels} channels and some samples; got {item.samples.shape}")
    return item


def _decode_sound(name: str, data: bytes) -> Audio:
    try:
        samples, sample_rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except soundfile.LibsndfileError as error:
        raise FormatError(f"cannot decode {name} data: {error}; is the file complete?") from error
    return Audio(samples, int(sample_rate))


def _nearest_rate(sample_rate: int, rates: list[int]) -> int:
    """The rate closest to ``sample_rate`` on a log scale, the higher one on a tie."""
    return min(rates, key=lambda rate: (abs(math.log(rate / sample_rate)), -rate))


# Layer III bitrates (kbps) by bitrate index 1..14; MPEG-2.5 shares MPEG-2's table.
_MPEG1_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_KBPS = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG1_RATES = (44100, 48000, 32000)  # by sample-rate index; MPEG-2 halves them, MPEG-2.5 quarters
_LAME_ENCODER_DELAY = 576  # samples LAME 3.100 adds in front when it does not resample


def _mp3_rates(kbps: int) -> list[int]:
    rates = list(_MPEG1_RATES) if kbps in _MPEG1_KBPS else []
    if kbps in _MPEG2_KBPS:
        rates += [rate // 2 for rate in _MPEG1_RATES]
    if kbps in _MPEG2_KBPS and kbps <= 64:  # LAME caps MPEG-2.5 (8-12 kHz) at 64 kbps
        rates += [rate // 4 for rate in _MPEG1_RATES]
    return rates


def _frame_layout(header: bytes) -> tuple[bool, int, int]:
    """(is MPEG-1, sample rate, frame bytes) of the Layer III frame starting with ``header``."""
    if header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        raise FormatError("not an MPEG audio frame; the encoder output is damaged")
    version = (header[1] >> 3) & 3  # 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    mpeg1 = version == 3
    sample_rate = _MPEG1_RATES[(header[2] >> 2) & 3] // {3: 1, 2: 2, 0: 4}[version]
    kbps = (_MPEG1_KBPS if mpeg1 else _MPEG2_KBPS)[(header[2] >> 4) - 1]
    size = (144 if mpeg1 else 72) * kbps * 1000 // sample_rate + ((header[2] >> 1) & 1)
    return mpeg1, sample_rate, size


def _crc16(data: bytes) -> int:
    """CRC-16/ARC, the checksum of the LAME tag."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _with_lame_tag(stream: bytes, n_samples: int) -> bytes:
    """Prefix the "Info" frame with a LAME tag that the lame CLI writes and lameenc does not.

    The tag stores the encoder delay and end padding; decoders (mpg123 in libsndfile) then drop
    them and their own 529-sample delay, so the decoded audio is ``n_samples`` long and aligned
    with the input (gapless playback). The music CRC is left 0, as decoders ignore it.
    """
    header = stream[:4]
    mpeg1, sample_rate, _ = _frame_layout(header)
    frames, position = 0, 0
    while position < len(stream):
        position += _frame_layout(stream[position : position + 4])[2]
        frames += 1
    padding = frames * (1152 if mpeg1 else 576) - _LAME_ENCODER_DELAY - n_samples
    mono = header[3] >> 6 == 3
    tag_at = 4 + ((17 if mono else 32) if mpeg1 else (9 if mono else 17))  # after the side info
    # The tag frame takes the smallest bitrate whose frame holds it, as LAME does.
    for index in range(1, 15):
        tag_header = bytes([header[0], header[1] | 0x01, (index << 4) | (header[2] & 0x0C), header[3]])
        size = _frame_layout(tag_header)[2]
        if size >= tag_at + 16 + 36:
            break
    total_bytes = size + len(stream)
    frame = bytearray(size)
    frame[:4] = tag_header
    frame[tag_at : tag_at + 16] = b"Info" + struct.pack(">III", 3, frames, total_bytes)  # 3: frames, bytes
    lame = tag_at + 16
    frame[lame : lame + 10] = b"LAME3.100\x01"  # version, tag revision 0, CBR
    frame[lame + 20] = min(255, (_MPEG1_KBPS if mpeg1 else _MPEG2_KBPS)[(header[2] >> 4) - 1])
    frame[lame + 21 : lame + 24] = (_LAME_ENCODER_DELAY << 12 | padding).to_bytes(3, "big")
    frame[lame + 28 : lame + 32] = struct.pack(">I", total_bytes)
    frame[lame + 34 : lame + 36] = struct.pack(">H", _crc16(bytes(frame[: lame + 34])))
    return bytes(frame) + stream


class MP3:
    """MP3 via LAME (lameenc), constant bitrate ``quality`` kbps, LAME quality 2 (high).

    Valid kbps: 8..160 in MPEG-2's steps or 32..320 in MPEG-1's. The input is resampled only when
    its rate is not an MP3 rate or cannot carry that bitrate (to the nearest rate that can; e.g.
    24 kHz at 192 kbps becomes 32 kHz). The file carries a LAME gapless tag, so decoding returns
    exactly the input's length, time-aligned with it (see ``_with_lame_tag``).
    """

    name = "mp3"
    media: Literal["audio"] = "audio"

    def encode(self, item: Media, quality: int) -> bytes:
        audio = _check_audio(self.name, item, max_channels=2)
        rates = _mp3_rates(quality)
        if not rates:
            steps = sorted(set(_MPEG1_KBPS + _MPEG2_KBPS))
            raise InputError(f"MP3 has no {quality} kbps CBR mode; use one of {', '.join(map(str, steps))}")
        sample_rate = audio.sample_rate if audio.sample_rate in rates else _nearest_rate(audio.sample_rate, rates)
        samples = resample(audio.samples, audio.sample_rate, sample_rate)
        import lameenc

        encoder = lameenc.Encoder()
        encoder.set_bit_rate(quality)
        encoder.set_in_sample_rate(sample_rate)
        encoder.set_out_sample_rate(sample_rate)  # else LAME may resample silently
        encoder.set_channels(audio.channels)
        encoder.set_quality(2)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
        stream = bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())
        return _with_lame_tag(stream, samples.shape[0])

    def decode(self, data: bytes) -> Audio:
        return _decode_sound(self.name, data)


class Opus:
    """Ogg Opus through libsndfile (VBR); ``quality`` is the target bitrate in kbps.

    libsndfile exposes the bitrate only as ``compression_level`` c in [0, 1], setting
    ``(250000 (1 - c) + 6000) * channels`` bit/s, so 6..256 kbps per channel are reachable; we invert
    that. Real files come out somewhat larger (VBR, Ogg framing, headers: ~8.8 kbps for 6 over 2 s).
    Opus stores 8, 12, 16, 24 or 48 kHz: other inputs are resampled to the next rate up (48 kHz at
    most). The Ogg pre-skip and end granule make decoded audio as long as the input, aligned.
    """

    name = "opus"
    media: Literal["audio"] = "audio"
    sample_rates = (8000, 12000, 16000, 24000, 48000)

    def encode(self, item: Media, quality: int) -> bytes:
        audio = _check_audio(self.name, item, max_channels=255)
        per_channel_bps = quality * 1000 / audio.channels
        if not 6000 <= per_channel_bps <= 256000:
            raise InputError(
                f"opus bitrate must be 6..256 kbps per channel, got {quality} kbps for {audio.channels}; "
                "pick a value in range"
            )
        sample_rate = min((rate for rate in self.sample_rates if rate >= audio.sample_rate), default=48000)
        samples = resample(audio.samples, audio.sample_rate, sample_rate)
        level = 1.0 - (per_channel_bps - 6000) / 250000
        buffer = io.BytesIO()
        with soundfile.SoundFile(
            buffer, "w", sample_rate, audio.channels, format="OGG", subtype="OPUS", compression_level=level
        ) as sound:
            sound.write(samples)
        return buffer.getvalue()

    def decode(self, data: bytes) -> Audio:
        return _decode_sound(self.name, data)


class Codec2:
    """Codec2 1.2 (pycodec2, numpy<2 builds: 3.1.x), a mono 8 kHz speech vocoder; ``quality`` is
    the mode in kbps: 0.7 (mode 700C), 1.3 or 3.2.

    The input is averaged to mono, resampled to 8 kHz and coded as 16-bit PCM in the mode's
    frames; the decode is resampled back and copied to every input channel. The file is an
    11-byte header (mode bit/s, channels, sample rate, frames: ``_CODEC2_HEADER``) and the frames'
    bits packed back to back (codec2 pads each frame to whole bytes; 1300 would cost 1400 bit/s),
    so the rate is the mode's plus the header. Codec2 delays its output by ``_CODEC2_DELAY``
    samples at 8 kHz; the encoder codes that many samples of silence past the end and the decoder
    drops them from the front, so the decode has the input's exact length, time-aligned with it.
    """

    name = "codec2"
    media: Literal["audio"] = "audio"
    sample_rate = 8000

    def encode(self, item: Media, quality: float) -> bytes:
        audio = _check_audio(self.name, item, max_channels=255)
        bps = round(quality * 1000)
        if bps not in _CODEC2_DELAY or abs(quality * 1000 - bps) > 1e-6:
            modes = ", ".join(f"{mode / 1000:g}" for mode in _CODEC2_DELAY)
            raise InputError(f"codec2 has no {quality} kbps mode; use one of {modes}")
        if not MIN_SAMPLE_RATE <= audio.sample_rate <= MAX_SAMPLE_RATE or audio.frames >= 1 << 32:
            raise InputError(f"codec2 takes {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz and under 2^32 frames; "
                             f"got {audio.sample_rate} Hz, {audio.frames} frames")
        codec = _codec2(bps)
        mono = audio.samples.astype(np.float64).mean(axis=1, keepdims=True)
        speech = resample(mono, audio.sample_rate, self.sample_rate)[:, 0]
        size = codec.samples_per_frame()
        pcm = np.zeros(-(-(speech.shape[0] + _CODEC2_DELAY[bps]) // size) * size, dtype=np.int16)
        pcm[: speech.shape[0]] = np.clip(np.round(speech * 32767.0), -32768, 32767)
        # pycodec2 codes one frame per call (its encode ignores the rest of a longer array).
        frames = np.frombuffer(b"".join(codec.encode(pcm[i : i + size]) for i in range(0, pcm.shape[0], size)),
                               dtype=np.uint8).reshape(-1, codec.bytes_per_frame())
        bits = np.unpackbits(frames, axis=1)[:, : codec.bits_per_frame()]
        header = _CODEC2_HEADER.pack(bps, audio.channels, audio.sample_rate, audio.frames)
        return header + np.packbits(bits.ravel()).tobytes()

    def decode(self, data: bytes) -> Audio:
        if len(data) < _CODEC2_HEADER.size:
            raise FormatError(f"codec2 data is {len(data)} bytes, shorter than its header; is the file complete?")
        bps, channels, sample_rate, frames = _CODEC2_HEADER.unpack_from(data)
        if bps not in _CODEC2_DELAY or channels < 1 or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
            raise FormatError("codec2 header is damaged (mode, channels or sample rate out of range)")
        codec = _codec2(bps)
        size, n_bits = codec.samples_per_frame(), codec.bits_per_frame()
        speech_frames = output_frames(frames, sample_rate, self.sample_rate)
        count = -(-(speech_frames + _CODEC2_DELAY[bps]) // size)
        payload = np.frombuffer(data, dtype=np.uint8, offset=_CODEC2_HEADER.size)
        if payload.shape[0] != -(-count * n_bits // 8):
            raise FormatError(f"codec2 data holds {payload.shape[0]} bytes of frames where its header "
                              f"needs {-(-count * n_bits // 8)}; is the file complete?")
        bits = np.unpackbits(payload)[: count * n_bits].reshape(count, n_bits)
        padded = np.zeros((count, codec.bytes_per_frame() * 8), dtype=np.uint8)
        padded[:, :n_bits] = bits
        coded = np.packbits(padded, axis=1)
        pcm = np.concatenate([codec.decode(row.tobytes()) for row in coded])
        start = _CODEC2_DELAY[bps]
        speech = pcm[start : start + speech_frames].astype(np.float32)[:, None] / 32768.0
        samples = resample(speech, self.sample_rate, sample_rate)[:frames]
        return Audio(np.repeat(samples, channels, axis=1), sample_rate)


# Mode (bit/s) -> output delay in samples at 8 kHz: the shift that minimises the log-spectral
# distance between input and decode on dev speech clips (about 19 ms; 28 ms for 700C, whose
# decoder interpolates its frames' parameters later).
_CODEC2_DELAY = {700: 224, 1300: 152, 3200: 152}
_CODEC2_HEADER = struct.Struct("<HBII")  # mode bit/s, channels, input sample rate, input frames


def _codec2(bps: int):  # type: ignore[no-untyped-def]
    try:
        import pycodec2
    except ImportError:
        raise InputError("codec2 needs the pycodec2 package; pip install 'aecodec[bench]'") from None
    return pycodec2.Codec2(bps)
