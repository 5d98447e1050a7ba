"""Baseline codecs: real files out, round trips, rate control, alignment of decoded audio;
the optional JPEG XL and HEIF codecs and the image bench's BD-rate on MS-SSIM."""

from __future__ import annotations

import io
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from aecodec.codecs.baselines import BASELINES, get_codec, missing_package
from aecodec.errors import FormatError, InputError
from aecodec.media.types import Audio, Image
from aecodec.metrics.audio import si_snr
from aecodec.metrics.image import ms_ssim_db, psnr_rgb

IMAGE_CODECS = {  # name -> (Pillow format, magic bytes at offset)
    "jpeg": ("JPEG", 0, b"\xff\xd8\xff"),
    "jpeg444": ("JPEG", 0, b"\xff\xd8\xff"),
    "webp": ("WEBP", 8, b"WEBP"),
    "avif": ("AVIF", 4, b"ftypavif"),
    "jpeg2000": ("JPEG2000", 4, b"jP  "),
    "jxl": ("JXL", 0, b"\xff\x0a"),  # a bare codestream
    "heif": ("HEIF", 4, b"ftyphei"),  # heic, or heix for grayscale
}
OPTIONAL = {"jxl": "pillow_jxl", "heif": "pillow_heif"}  # codec -> module of its optional package


def codecs(*names: str) -> list:
    """``names`` as parameters; jxl and heif skip (not fail) where their packages are missing."""
    return [
        pytest.param(name, marks=pytest.mark.skipif(missing_package(name) is not None,
                                                    reason=f"{missing_package(name)} is not installed"))
        for name in names
    ]


def photo(height: int = 40, width: int = 56, channels: int = 3) -> np.ndarray:
    """Smooth gradients plus mild texture: compresses like a photo, not like noise."""
    y, x = np.mgrid[:height, :width]
    planes = [x * 4 + y, y * 5 + 10 * np.sin(x / 3.0), 128 + 60 * np.sin((x + y) / 7.0), 255 - x * 2]
    noise = np.random.default_rng(0).normal(0, 3, (height, width, channels))
    return np.clip(np.stack(planes[:channels], axis=2) + noise, 0, 255).astype(np.uint8)


def test_every_baseline_is_listed() -> None:
    assert set(BASELINES) == set(IMAGE_CODECS) | {"mp3", "opus", "codec2"}


def test_aecodec_is_the_learned_codec_of_the_media_on_the_device() -> None:
    from aecodec.codecs.audio_choice import ChoosingAudioCodec
    from aecodec.codecs.audio_mdct import MdctAudioCodec
    from aecodec.codecs.image import LearnedImageCodec

    image, audio = get_codec("aecodec", "image", "cpu"), get_codec("aecodec", "audio", "cpu")
    assert isinstance(image, LearnedImageCodec) and isinstance(audio, ChoosingAudioCodec)  # as `encode` runs it
    assert image.device == audio.device == audio.music.device == "cpu" and audio.music.quality_unit == "kbps"
    assert isinstance(get_codec("aecodec"), LearnedImageCodec)
    music = get_codec("aecodec-music", "audio", "cpu")
    assert isinstance(music, MdctAudioCodec) and music.loaded()[0]["name"] == "audio-mdct-music"
    with pytest.raises(InputError, match="unknown codec"):
        get_codec("aecodec-music", "image")


@pytest.mark.parametrize("name", codecs(*sorted(IMAGE_CODECS)))
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


@pytest.mark.parametrize("name", codecs(*sorted(IMAGE_CODECS)))
def test_image_size_grows_with_quality(name: str) -> None:
    codec = get_codec(name)
    sizes = [len(codec.encode(Image(photo(96, 128)), quality)) for quality in (10, 50, 90)]
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize("name", codecs("jpeg", "avif", "jpeg2000", "jxl", "heif"))
def test_grayscale_stays_grayscale(name: str) -> None:
    codec = get_codec(name)
    gray = photo(channels=1)
    decoded = codec.decode(codec.encode(Image(gray), 90))
    assert decoded.pixels.shape == gray.shape


@pytest.mark.parametrize("name", codecs("webp", "avif", "jpeg2000", "jxl", "heif"))
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


@pytest.mark.parametrize("name", codecs("jxl"))
def test_jxl_quality_100_is_lossless_as_in_cjxl(name: str) -> None:
    codec = get_codec(name)
    for channels in (1, 3, 4):
        pixels = photo(channels=channels)
        assert np.array_equal(codec.decode(codec.encode(Image(pixels), 100)).pixels, pixels)


@pytest.mark.parametrize("name", codecs("jxl", "heif"))
def test_plugin_codecs_odd_sizes_and_damaged_files(name: str) -> None:
    codec = get_codec(name)
    pixels = photo(41, 57)  # odd sizes under 4:2:0
    data = codec.encode(Image(pixels), 80)
    assert codec.decode(data).pixels.shape == pixels.shape
    for damaged in (data[: len(data) // 2], data[:12] + b"\x00" * 64, b"\xff\x0a not really", b""):
        with pytest.raises(FormatError, match=f"cannot decode {name}"):
            codec.decode(damaged)


@pytest.mark.parametrize("name", sorted(OPTIONAL))
def test_a_missing_plugin_package_is_one_input_error(name: str, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from aecodec.bench.image import DEFAULT_CODECS, default_codecs

    monkeypatch.setitem(sys.modules, OPTIONAL[name], None)  # import now raises ImportError
    package = {"jxl": "pillow-jxl-plugin", "heif": "pillow-heif"}[name]
    assert missing_package(name) == package and missing_package("jpeg") is None
    hint = r"pip install 'aecodec\[bench\]'"
    with pytest.raises(InputError, match=f"codec {name} needs the {package} package .*{hint}"):
        get_codec(name, "image")
    assert get_codec("jpeg").decode(get_codec("jpeg").encode(Image(photo()), 50)).pixels.shape == (40, 56, 3)
    with caplog.at_level(logging.WARNING, logger="aecodec.bench.image"):
        assert name not in default_codecs() and "jpeg" in default_codecs() and name in DEFAULT_CODECS
    assert f"codec {name} skipped: the {package} package is not installed" in caplog.text


def test_ms_ssim_db() -> None:
    assert ms_ssim_db(0.99) == pytest.approx(20.0) and ms_ssim_db(0.999) == pytest.approx(30.0)
    assert ms_ssim_db(0.0) == 0.0 and ms_ssim_db(-0.1) == 0.0
    assert ms_ssim_db(1.0) == ms_ssim_db(1.0 + 1e-7) == 100.0  # the PSNR cap: identical images
    with pytest.raises(ValueError, match="NaN"):
        ms_ssim_db(math.nan)


@pytest.fixture
def bench_images_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(2):
        PIL.Image.fromarray(photo(96, 128 - 16 * index)).save(folder / f"{index}.png")
    return folder


@pytest.fixture
def one_torch_thread():
    import torch  # MS-SSIM: two threads on a busy machine are far slower than one

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_torch_thread")
def test_image_bench_has_a_bd_rate_on_ms_ssim_beside_psnr(bench_images_dir: Path, tmp_path: Path) -> None:
    from aecodec.bench.image import bench_images
    from aecodec.metrics.bd import bd_rate

    out = tmp_path / "out"
    results = bench_images(bench_images_dir, out, codecs=("jpeg", "webp"), qualities=(10, 30, 50, 70, 90))
    assert json.loads((out / "results.json").read_text()) == results
    assert set(results["bd_rate_ms_ssim"]) == set(results["bd_rate"]) == {"webp"}

    def curve(codec: str) -> tuple[list[float], list[float]]:
        points = results["codecs"][codec]["points"]
        return [p["bpp"] for p in points], [ms_ssim_db(p["ms_ssim"]) for p in points]

    assert results["bd_rate_ms_ssim"]["webp"] == pytest.approx(bd_rate(*curve("jpeg"), *curve("webp")))
    assert results["bd_rate_ms_ssim"]["webp"] != pytest.approx(results["bd_rate"]["webp"])  # another fit
    table = (out / "results.md").read_text().splitlines()
    assert "| codec | BD-rate vs jpeg | BD-rate on MS-SSIM | BD-PSNR (dB) | points | encode s | decode s |" in table
    assert "| jpeg | reference | reference | reference | 5 |" in "\n".join(table)
    webp = next(line for line in table if line.startswith("| webp |")).split(" | ")
    assert webp[2] == f"{results['bd_rate_ms_ssim']['webp']:+.1f} %" and len(webp) == 7
    assert any("-10 log10(1 - MS-SSIM)" in line for line in table)
    assert (out / "rd_msssim.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.skipif(any(missing_package(name) for name in OPTIONAL), reason="needs pillow-jxl-plugin and pillow-heif")
def test_image_bench_runs_jxl_and_heif_on_their_grids(bench_images_dir: Path, tmp_path: Path) -> None:
    from aecodec.bench.image import BASELINE_QUALITIES, HEIF_QUALITIES, bench_images

    results = bench_images(bench_images_dir, tmp_path / "out", codecs=("jpeg", "jxl", "heif"), limit=1)
    points = {codec: entry["points"] for codec, entry in results["codecs"].items()}
    assert [p["quality"] for p in points["jxl"]] == list(BASELINE_QUALITIES)
    assert [p["quality"] for p in points["heif"]] == list(HEIF_QUALITIES)
    for codec in ("jxl", "heif"):
        assert [p["bpp"] for p in points[codec]] == sorted(p["bpp"] for p in points[codec])
        assert set(results["bd_rate"]) == set(results["bd_rate_ms_ssim"]) == {"jxl", "heif"}
    versions = results["versions"]
    assert versions["pillow-jxl-plugin"] != "not installed" and versions["pillow-heif"] != "not installed"
    assert versions["libheif"] != "absent"


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
