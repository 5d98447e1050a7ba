"""Classic codecs behind the Codec protocol; ``encode`` returns the file a user would store.

Image codecs (Pillow): ``jpeg`` (4:2:0), ``jpeg444``, ``webp``, ``avif``, ``jpeg2000``, and with the
optional ``bench`` extra ``jxl`` (pillow-jxl-plugin) and ``heif`` (pillow-heif); ``quality`` is 1..100
(mapping per class). Audio codecs: ``mp3`` (LAME CBR via lameenc), ``opus`` (libsndfile via
soundfile); ``quality`` is the bitrate in kbps. Decoders return what the file holds: an image in
L, RGB or RGBA, audio as float32 (frames, channels) at the file's sample rate, which differs from
the input only when the format cannot store the input rate (see ``MP3`` and ``Opus``).
"""

from __future__ import annotations

import importlib
import io
import math
import struct
from typing import Any, Literal

import numpy as np
import PIL.Image
import soundfile

from aecodec.codecs.base import Codec, Media
from aecodec.errors import FormatError, InputError
from aecodec.media.types import Audio, Image


def _check_quality(name: str, quality: int, low: int, high: int, unit: str = "quality") -> None:
    if not low <= quality <= high:
        raise InputError(f"{name} {unit} must be in {low}..{high}, got {quality}; pick a value in range")


BENCH_EXTRA = "install the optional baselines with pip install 'aecodec[bench]'"


class PillowCodec:
    """An image codec that is one Pillow format plus save options; subclasses set the options.

    A format whose Pillow plugin is a separate package names it in ``plugin`` (module, package):
    the module is imported when the codec is made, never when this module is, so a missing
    package fails ``get_codec`` with one InputError and affects no other codec.
    """

    media: Literal["image"] = "image"
    name = ""
    pil_format = ""
    modes: tuple[str, ...] = ("L", "RGB", "RGBA")  # image modes the format can store
    plugin: tuple[str, str] | None = None  # (module to import, pip package) for plugin formats
    decode_errors: tuple[type[Exception], ...] = (OSError, ValueError, SyntaxError)  # what damaged data raises

    def __init__(self) -> None:
        if self.plugin is not None:
            self.register(load_plugin(self.name, *self.plugin))

    def register(self, module: Any) -> None:
        """Make the imported plugin ``module`` known to Pillow (importing it suffices for most)."""

    def save_options(self, quality: int) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, item: Media, quality: int) -> bytes:
        """Encode an ``Image`` at ``quality`` 1..100. Raises InputError for audio or an unstorable mode."""
        if not isinstance(item, Image):
            raise InputError(f"{self.name} encodes images, not audio; use mp3 or opus for audio")
        _check_quality(self.name, quality, 1, 100)
        if item.mode not in self.modes:
            raise InputError(f"{self.name} cannot store {item.mode} images; convert to RGB first")
        pixels = item.pixels[:, :, 0] if item.channels == 1 else item.pixels
        buffer = io.BytesIO()
        PIL.Image.fromarray(np.ascontiguousarray(pixels), item.mode).save(
            buffer, self.pil_format, **self.save_options(quality)
        )
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image:
        """Decode this codec's file into an L, RGB or RGBA ``Image``. Raises FormatError if damaged."""
        try:
            with PIL.Image.open(io.BytesIO(data), formats=[self.pil_format]) as picture:
                picture.load()
                if picture.mode not in ("L", "RGB", "RGBA"):
                    picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
                pixels = np.asarray(picture)
        except self.decode_errors as error:
            raise FormatError(f"cannot decode {self.name} data: {error}; is the file complete?") from error
        return Image(pixels[:, :, None] if pixels.ndim == 2 else pixels)


class JPEG(PillowCodec):
    """Baseline JPEG, 4:2:0 chroma, optimised Huffman tables; quality is libjpeg's quality."""

    name = "jpeg"
    pil_format = "JPEG"
    modes = ("L", "RGB")
    subsampling = 2  # Pillow's code for 4:2:0

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "subsampling": self.subsampling, "optimize": True}


class JPEG444(JPEG):
    """JPEG without chroma subsampling (4:4:4)."""

    name = "jpeg444"
    subsampling = 0


class WebP(PillowCodec):
    """Lossy WebP at libwebp's slowest, best method 6; quality is libwebp's quality."""

    name = "webp"
    pil_format = "WEBP"

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "method": 6}


class AVIF(PillowCodec):
    """AVIF (libavif, 4:2:0) at encoder speed 4; quality is libavif's 0..100 quality."""

    name = "avif"
    pil_format = "AVIF"

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "speed": 4}


class JPEG2000(PillowCodec):
    """JPEG 2000 (OpenJPEG), irreversible 9/7 wavelet, one layer at a target compression ratio.

    Quality q asks for a ratio of 250 * 2 ** (-q / 20) to the raw 8-bit samples, so for RGB
    q 10 ~ 0.14 bpp, 50 ~ 0.54, 95 ~ 2.6 (about JPEG's range). Rate targets, not OpenJPEG's
    PSNR ("dB") targets: on three images/dev photos its dB mode gave +78 % BD-rate against
    JPEG, this setting -14 % (the default reversible 5/3 wavelet costs another ~20 %).
    """

    name = "jpeg2000"
    pil_format = "JPEG2000"

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality_mode": "rates", "quality_layers": [250.0 * 2.0 ** (-quality / 20.0)], "irreversible": True}


class JPEGXL(PillowCodec):
    """JPEG XL (libjxl via pillow-jxl-plugin) at effort 7, cjxl's default; quality is libjxl's.

    libjxl maps quality to a Butteraugli distance (``JxlEncoderDistanceFromQuality``, as ``cjxl
    -q``: 90 is distance 1.0, "visually lossless") and quality 100 is lossless, as in cjxl.
    Threads: the plugin's default (all cores), as for AVIF.
    """

    name = "jxl"
    pil_format = "JXL"
    plugin = ("pillow_jxl", "pillow-jxl-plugin")
    decode_errors = (*PillowCodec.decode_errors, RuntimeError)  # libjxl reports bad data so

    def save_options(self, quality: int) -> dict[str, Any]:
        if quality == 100:  # libjxl refuses distance 0 without its lossless mode
            return {"lossless": True, "effort": 7}
        return {"quality": quality, "effort": 7}


class HEIF(PillowCodec):
    """HEIF with one HEVC intra frame (libheif + x265 via pillow-heif), 4:2:0, 8 bits.

    ``quality`` is libheif's 0..100 quality, which it turns into an x265 CRF; x265 runs with
    libheif's defaults, written out here so that they stay: preset slow, tune ssim. Its rate
    saturates near the top (on a dev photo quality 90, 95 and 100 give the same size and PSNR).
    """

    name = "heif"
    pil_format = "HEIF"
    plugin = ("pillow_heif", "pillow-heif")

    def register(self, module: Any) -> None:
        module.register_heif_opener()

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "chroma": 420, "enc_params": {"preset": "slow", "tune": "ssim"}}


def load_plugin(codec: str, module: str, package: str) -> Any:
    """Import the Pillow plugin ``module`` of ``codec``.

    Raises:
        InputError: it is not installed (or fails to import), naming ``package`` and the extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise InputError(f"codec {codec} needs the {package} package ({error}); {BENCH_EXTRA}") from None


def missing_package(name: str) -> str | None:
    """The pip package that codec ``name`` needs and cannot import, or None if it can run."""
    codec = _BASELINE_CLASSES.get(name)
    plugin = getattr(codec, "plugin", None)
    if plugin is None:
        return None
    try:
        importlib.import_module(plugin[0])
    except ImportError:
        return plugin[1]
    return None


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling of float (frames, channels) samples; returns float32."""
    if from_hz == to_hz:
        return samples
    from scipy.signal import resample_poly

    common = math.gcd(from_hz, to_hz)
    return resample_poly(samples, to_hz // common, from_hz // common, axis=0).astype(np.float32)


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


_BASELINE_CLASSES: dict[str, type] = {
    codec.name: codec for codec in (JPEG, JPEG444, WebP, AVIF, JPEG2000, JPEGXL, HEIF, MP3, Opus)
}
BASELINES: tuple[str, ...] = tuple(_BASELINE_CLASSES)
"""Names ``get_codec`` accepts besides ``aecodec`` (``jxl`` and ``heif`` run only with their
packages installed: ``missing_package``)."""


def get_codec(name: str, media: Literal["image", "audio"] | None = None, device: str = "auto") -> Codec:
    """The codec called ``name``: a baseline, or ``aecodec`` for the learned codec of ``media``.

    ``aecodec`` is imported lazily from ``aecodec.codecs.learned`` (``image_codec()`` unless
    ``media == "audio"``, then ``audio_codec()``), so baselines work without torch or weights.

    Raises:
        InputError: unknown name, a baseline of the other media kind, or one whose optional
            package is not installed (jxl, heif: ``pip install 'aecodec[bench]'``).
    """
    if name == "aecodec":  # the learned codecs run on ``device``; baselines always on the CPU
        from aecodec.codecs import learned

        return learned.audio_codec(device) if media == "audio" else learned.image_codec(device)
    if name not in _BASELINE_CLASSES:
        raise InputError(f"unknown codec {name!r}; choose from aecodec, {', '.join(BASELINES)}")
    kind = _BASELINE_CLASSES[name].media
    if media is not None and kind != media:
        raise InputError(f"{name} is an {kind} codec; it cannot run in an {media} benchmark")
    return _BASELINE_CLASSES[name]()
