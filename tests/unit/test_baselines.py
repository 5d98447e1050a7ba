"""Baseline codecs: real files out, round trips, rate control, alignment of decoded audio."""

from __future__ import annotations

import io

import numpy as np
import PIL.Image
import pytest

from aecodec.codecs.baselines import BASELINES, get_codec
from aecodec.errors import FormatError, InputError
from aecodec.media.types import Audio, Image
from aecodec.metrics.audio import si_snr
from aecodec.metrics.image import psnr_rgb

IMAGE_CODECS = {  # name -> (Pillow format, magic bytes at offset)
    "jpeg": ("JPEG", 0, b"\xff\xd8\xff"),
    "jpeg444": ("JPEG", 0, b"\xff\xd8\xff"),
    "webp": ("WEBP", 8, b"WEBP"),
    "avif": ("AVIF", 4, b"ftypavif"),
    "jpeg2000": ("JPEG2000", 4, b"jP  "),
}


def photo(height: int = 40, width: int = 56, channels: int = 3) -> np.ndarray:
    """Smooth gradients plus mild texture: compresses like a photo, not like noise."""
    y, x = np.mgrid[:height, :width]
    planes = [x * 4 + y, y * 5 + 10 * np.sin(x / 3.0), 128 + 60 * np.sin((x + y) / 7.0), 255 - x * 2]
    noise = np.random.default_rng(0).normal(0, 3, (height, width, channels))
    return np.clip(np.stack(planes[:channels], axis=2) + noise, 0, 255).astype(np.uint8)


def test_every_baseline_is_listed() -> None:
    assert set(BASELINES) == set(IMAGE_CODECS) | {"mp3", "opus"}


def test_aecodec_is_the_learned_codec_of_the_media_on_the_device() -> None:
    from aecodec.codecs.learned import LearnedImageCodec
    from aecodec.codecs.learned_audio import LearnedAudioCodec

    image, audio = get_codec("aecodec", "image", "cpu"), get_codec("aecodec", "audio", "cpu")
    assert isinstance(image, LearnedImageCodec) and isinstance(audio, LearnedAudioCodec)
    assert image.device == audio.device == "cpu"
    assert isinstance(get_codec("aecodec"), LearnedImageCodec)


@pytest.mark.parametrize("name", sorted(IMAGE_CODECS))
def test_image_round_trip_is_a_real_file(name: str) -> None:
    codec = get_codec(name, "image")
    pixels = photo()
    data = codec.encode(Image(pixels), 75)
    pil_format, offset, magic = IMAGE_CODECS[name]
    assert data[offset : offset + len(magic)] == magic
    with PIL.Image.open(io.BytesIO(data)) as opened:
        assert opened.format == pil_format and opened.size == (56, 40)
    decoded = codec.decode(data)
    assert decoded.pixels.shape == pixels.shape and decoded.pixels.dtype == np.uint8
    assert psnr_rgb(pixels, decoded.pixels) > 25.0


@pytest.mark.parametrize("name", sorted(IMAGE_CODECS))
def test_image_size_grows_with_quality(name: str) -> None:
    codec = get_codec(name)
    sizes = [len(codec.encode(Image(photo(96, 128)), quality)) for quality in (10, 50, 90)]
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize("name", ["jpeg", "avif", "jpeg2000"])
def test_grayscale_stays_grayscale(name: str) -> None:
    codec = get_codec(name)
    gray = photo(channels=1)
    decoded = codec.decode(codec.encode(Image(gray), 90))
    assert decoded.pixels.shape == gray.shape


@pytest.mark.parametrize("name", ["webp", "avif", "jpeg2000"])
def test_alpha_is_kept_where_the_format_has_it(name: str) -> None:
    codec = get_codec(name)
    rgba = photo(channels=4)
    decoded = codec.decode(codec.encode(Image(rgba), 90))
    assert decoded.pixels.shape == rgba.shape


def test_jpeg_refuses_alpha() -> None:
    with pytest.raises(InputError, match="cannot store RGBA"):
        get_codec("jpeg").encode(Image(photo(channels=4)), 50)


def test_image_codec_errors() -> None:
    with pytest.raises(InputError, match="unknown codec"):
        get_codec("png")
    with pytest.raises(InputError, match="audio codec"):
        get_codec("mp3", "image")
    with pytest.raises(InputError, match="1..100"):
        get_codec("webp").encode(Image(photo()), 101)
    with pytest.raises(InputError, match="encodes images"):
        get_codec("jpeg").encode(Audio(np.zeros((10, 1), np.float32), 8000), 50)
    with pytest.raises(FormatError, match="cannot decode jpeg"):
        get_codec("jpeg").decode(get_codec("webp").encode(Image(photo()), 50))


SAMPLE_RATE = 24000


def sine(seconds: float = 1.0, channels: int = 1, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return np.repeat((0.5 * np.sin(2 * np.pi * 440 * t))[:, None], channels, axis=1).astype(np.float32)


@pytest.mark.parametrize("name", ["mp3", "opus"])
@pytest.mark.parametrize("channels", [1, 2])
def test_audio_round_trip_keeps_length_and_rate(name: str, channels: int) -> None:
    codec = get_codec(name, "audio")
    samples = sine(channels=channels)[:23987]  # not a whole number of codec frames
    decoded = codec.decode(codec.encode(Audio(samples, SAMPLE_RATE), 64))
    assert decoded.sample_rate == SAMPLE_RATE
    assert decoded.samples.shape == samples.shape and decoded.samples.dtype == np.float32


def test_mp3_is_time_aligned() -> None:
    samples = sine()
    codec = get_codec("mp3")
    data = codec.encode(Audio(samples, SAMPLE_RATE), 64)
    assert data[:2] == b"\xff\xf3" and b"Info" in data[:64]  # MPEG-2 Layer III with a LAME tag
    decoded = codec.decode(data).samples
    assert si_snr(samples, decoded) > 30.0  # ~50 dB aligned; one sample of shift gives 19 dB
    click = np.zeros_like(samples)
    click[9000] = 0.9
    decoded = codec.decode(codec.encode(Audio(samples * 0.1 + click, SAMPLE_RATE), 128)).samples
    assert abs(int(np.argmax(np.abs(decoded[:, 0]))) - 9000) <= 2


def test_mp3_bitrate_is_exact_cbr() -> None:
    codec = get_codec("mp3")
    sizes = {kbps: len(codec.encode(Audio(sine(2.0), SAMPLE_RATE), kbps)) for kbps in (16, 32, 64)}
    for kbps, size in sizes.items():
        assert size * 8 / 2.0 / 1000 == pytest.approx(kbps, rel=0.1)  # within padding and the tag


def test_mp3_resamples_when_the_rate_cannot_carry_the_bitrate() -> None:
    decoded = get_codec("mp3").decode(get_codec("mp3").encode(Audio(sine(), SAMPLE_RATE), 192))
    assert decoded.sample_rate == 32000 and decoded.frames == 32000


def test_opus_rate_control_and_resampling() -> None:
    codec = get_codec("opus")
    low, high = (len(codec.encode(Audio(sine(2.0), SAMPLE_RATE), kbps)) for kbps in (12, 64))
    assert low < high
    decoded = codec.decode(codec.encode(Audio(sine(sample_rate=44100), 44100), 32))
    assert decoded.sample_rate == 48000 and decoded.frames == 48000
    assert decoded.samples.shape[1] == 1


def test_audio_codec_errors() -> None:
    audio = Audio(sine(), SAMPLE_RATE)
    with pytest.raises(InputError, match="no 50 kbps"):
        get_codec("mp3").encode(audio, 50)
    with pytest.raises(InputError, match="6..256 kbps per channel"):
        get_codec("opus").encode(audio, 4)
    with pytest.raises(InputError, match="encodes audio"):
        get_codec("opus").encode(Image(photo()), 32)
    with pytest.raises(InputError, match="1..2 channels"):
        get_codec("mp3").encode(Audio(np.zeros((100, 3), np.float32), SAMPLE_RATE), 64)
    with pytest.raises(FormatError, match="cannot decode opus"):
        get_codec("opus").decode(b"OggS not really")
