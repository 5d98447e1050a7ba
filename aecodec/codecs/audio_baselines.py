"""Classic audio codecs behind the Codec protocol: ``mp3`` (LAME CBR via lameenc) and ``opus``
(libsndfile via soundfile); ``quality`` is the bitrate in kbps. Decoders return float32 (frames,
channels) at the file's sample rate, which differs from the input's only when the format cannot
store the input rate; the input is then resampled with ``aecodec.media.resample``.
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
from aecodec.media.resample import resample
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
