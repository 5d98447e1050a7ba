"""Image files in and out: modes, EXIF orientation, damaged inputs, bombs and safe writing."""

from __future__ import annotations

import io
import os
import struct
import sys
import warnings
import zlib

import numpy as np
import PIL.Image
import pytest
from PIL import ImageFile

from aecodec.errors import InputError
from aecodec.media.image import (
    MAX_PIXELS,
    image_to_bytes,
    output_format,
    read_image,
    write_image,
)
from aecodec.media.types import Image

from forged import NOT_REGULAR, jpeg_claiming, not_a_regular_file, one_bit_png

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)
RGBA = RNG.integers(0, 256, (6, 9, 4), dtype=np.uint8)
GRAY = RNG.integers(0, 256, (6, 9, 1), dtype=np.uint8)


def save(tmp_path, pil_image: PIL.Image.Image, name: str, **options) -> str:
    path = tmp_path / name
    pil_image.save(path, **options)
    return str(path)


def png_bytes(pixels: np.ndarray) -> bytes:
    return image_to_bytes(Image(pixels), "png")


def read_error(source) -> str:
    with pytest.raises(InputError) as info:
        read_image(source)
    message = str(info.value)
    assert message.startswith("cannot read image '") and "; " in message and "\n" not in message
    assert "Error" not in message and "PIL" not in message  # no Pillow internals
    return message


def with_png_size(data: bytes, width: int, height: int) -> bytes:
    """A PNG whose IHDR claims another size (with a valid chunk CRC): a decompression bomb."""
    ihdr = bytearray(data[12:29])  # chunk type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    return data[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


def with_ancillary_chunk(data: bytes, size: int) -> bytes:
    """A PNG with a private chunk of ``size`` zero bytes after IHDR: bigger, same pixels."""
    body = b"prVt" + bytes(size)
    chunk = struct.pack(">I", size) + body + struct.pack(">I", zlib.crc32(body))
    return data[:33] + chunk + data[33:]


# Modes.


def test_rgb_round_trips_exactly(tmp_path) -> None:
    image = read_image(save(tmp_path, PIL.Image.fromarray(RGB), "a.png"))
    assert image.mode == "RGB" and np.array_equal(image.pixels, RGB)


def test_grayscale_stays_one_channel(tmp_path) -> None:
    image = read_image(save(tmp_path, PIL.Image.fromarray(GRAY[..., 0]), "g.png"))
    assert image.mode == "L" and np.array_equal(image.pixels, GRAY)


def test_rgba_keeps_its_alpha(tmp_path) -> None:
    image = read_image(save(tmp_path, PIL.Image.fromarray(RGBA), "a.png"))
    assert image.mode == "RGBA" and np.array_equal(image.pixels, RGBA)


def test_gray_with_alpha_becomes_rgba(tmp_path) -> None:
    gray, alpha = PIL.Image.fromarray(RGBA[..., 0]), PIL.Image.fromarray(RGBA[..., 3])
    la = PIL.Image.merge("LA", [gray, alpha])
    pixels = read_image(save(tmp_path, la, "la.png")).pixels
    assert pixels.shape[2] == 4
    assert np.array_equal(pixels[..., 1], RGBA[..., 0])
    assert np.array_equal(pixels[..., 3], RGBA[..., 3])


def test_palette_becomes_rgb_or_rgba_with_transparency(tmp_path) -> None:
    palette_image = PIL.Image.fromarray(RGB).quantize(8)
    expected = np.array(palette_image.convert("RGB"))
    assert np.array_equal(read_image(save(tmp_path, palette_image, "p.png")).pixels, expected)
    transparent = read_image(save(tmp_path, palette_image, "pt.png", transparency=0)).pixels
    assert transparent.shape[2] == 4
    assert np.array_equal(transparent[..., 3] == 0, np.array(palette_image) == 0)


def test_one_bit_becomes_black_and_white_l(tmp_path) -> None:
    pixels = read_image(save(tmp_path, PIL.Image.fromarray(GRAY[..., 0] > 127), "b.png")).pixels
    assert pixels.shape[2] == 1 and set(np.unique(pixels)) <= {0, 255}
    assert np.array_equal(pixels[..., 0] == 255, GRAY[..., 0] > 127)


def test_16_bit_grayscale_is_scaled_and_rounded(tmp_path) -> None:
    values = np.array([[0, 128, 129, 257 * 100, 65535]], dtype=np.uint16)
    pil_image = PIL.Image.fromarray(values)
    assert pil_image.mode == "I;16"
    pixels = read_image(save(tmp_path, pil_image, "w.png")).pixels
    assert pixels.dtype == np.uint8 and pixels[..., 0].tolist() == [[0, 0, 1, 100, 255]]


@pytest.mark.parametrize("name", ["c.jpg", "c.tif"])
def test_cmyk_becomes_rgb(tmp_path, name) -> None:
    cmyk = PIL.Image.fromarray(RGB).convert("CMYK")
    pixels = read_image(save(tmp_path, cmyk, name)).pixels
    assert pixels.shape == RGB.shape
    assert np.abs(pixels.astype(int) - np.array(cmyk.convert("RGB"))).mean() < 8  # JPEG loss


def exif_rotated(orientation: int) -> bytes:
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def test_exif_orientation_is_applied(tmp_path) -> None:
    # Orientation 6: the camera was turned; viewers rotate 90 degrees clockwise to show it.
    path = save(tmp_path, PIL.Image.fromarray(RGB), "r.png", exif=exif_rotated(6))
    assert np.array_equal(read_image(path).pixels, np.rot90(RGB, k=-1))


def test_exif_orientation_of_a_jpeg_swaps_width_and_height(tmp_path) -> None:
    path = save(tmp_path, PIL.Image.fromarray(RGB), "r.jpg", exif=exif_rotated(8))
    assert read_image(path).pixels.shape == (9, 6, 3)


def test_bytes_and_standard_input_are_sources(monkeypatch) -> None:
    data = png_bytes(RGB)
    assert np.array_equal(read_image(data).pixels, RGB)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert np.array_equal(read_image("-").pixels, RGB)


# Inputs that must be refused with one plain line.


def test_missing_file(tmp_path) -> None:
    assert read_error(tmp_path / "nope.png").endswith("nope.png': no such file; check the path")


def test_directory(tmp_path) -> None:
    assert "it is a directory" in read_error(tmp_path)


def test_empty_file(tmp_path) -> None:
    (tmp_path / "e.png").write_bytes(b"")
    assert "file is empty" in read_error(tmp_path / "e.png")


def test_random_bytes_named_png(tmp_path) -> None:
    (tmp_path / "fake.png").write_bytes(RNG.bytes(200))
    assert "not an image in a supported format" in read_error(tmp_path / "fake.png")


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_truncated_files(tmp_path, fmt) -> None:
    noise = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # big enough to cut in the pixels
    data = image_to_bytes(Image(noise), fmt)
    (tmp_path / "t").write_bytes(data[: len(data) * 2 // 3])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert "file is truncated; check the file or re-export it" in read_error(tmp_path / "t")


def test_damaged_pixel_data(tmp_path) -> None:
    data = bytearray(png_bytes(RGB))
    idat = data.index(b"IDAT")
    data[idat + 6: idat + 16] = b"\xff" * 10  # garbage inside the zlib stream
    assert "image data is damaged" in read_error(bytes(data))


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = with_png_size(png_bytes(RGB), 100_000, 100_000)
    message = read_error(bomb)
    assert "100000x100000 pixels, more than the 268 megapixel limit; downscale" in message


@pytest.mark.parametrize("size", [(10_000, 10_000), (16_385, 12_000)])
def test_sizes_under_our_limit_get_no_pillow_bomb_warning_or_error(size) -> None:
    # Pillow alone would warn for 100 MP and refuse 197 MP; our limit is 2**28 pixels.
    assert size[0] * size[1] < MAX_PIXELS
    tiny = png_bytes(np.zeros((2, 2, 1), dtype=np.uint8))
    limit_before = PIL.Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # An ancillary chunk makes the file big enough to claim that many pixels (one byte per
        # MAX_PIXELS_PER_BYTE), so that decoding is tried, and finds the pixels missing.
        message = read_error(with_ancillary_chunk(with_png_size(tiny, *size), 200_000))
    assert "truncated" in message and caught == []
    assert PIL.Image.MAX_IMAGE_PIXELS == limit_before  # Pillow's global is restored


# Writing.


PIXELS = {"rgb": RGB, "gray": GRAY, "rgba": RGBA}
LOSSLESS = [
    (name, kind)
    for name in ["o.png", "o.tif", "o.tiff", "o.webp", "o.bmp", "O.PNG"]
    for kind in PIXELS
    if (name, kind) != ("o.bmp", "rgba")  # refused, see below
]


@pytest.mark.parametrize("name, kind", LOSSLESS)
def test_lossless_formats_round_trip(tmp_path, name, kind) -> None:
    pixels = PIXELS[kind]
    write_image(Image(pixels), tmp_path / name)
    if name == "o.webp" and kind == "gray":
        pixels = np.repeat(pixels, 3, axis=2)  # WebP has no grayscale
    assert np.array_equal(read_image(tmp_path / name).pixels, pixels)


@pytest.mark.parametrize("name", ["o.jpg", "o.jpeg"])
def test_jpeg_is_written_at_quality_95(tmp_path, name) -> None:
    write_image(Image(RGB), tmp_path / name)
    reference = io.BytesIO()
    PIL.Image.fromarray(RGB).save(reference, "JPEG", quality=95)
    assert (tmp_path / name).read_bytes() == reference.getvalue()


@pytest.mark.parametrize("name, fmt", [("o.jpg", "JPEG"), ("o.bmp", "BMP")])
def test_rgba_to_a_format_without_alpha_is_refused(tmp_path, name, fmt) -> None:
    with pytest.raises(InputError, match=f"{fmt} cannot store transparency; write .png"):
        write_image(Image(RGBA), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_unknown_extension_lists_the_supported_ones(tmp_path) -> None:
    with pytest.raises(InputError, match=r"unknown image extension '.gif'; use one of .png, .jpg"):
        write_image(Image(RGB), tmp_path / "o.gif")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "path, expected",
    [("a.PNG", "PNG"), ("a.jpg", "JPEG"), ("d/a.jpeg", "JPEG"), ("a.tif", "TIFF"),
     ("a.webp", "WEBP")],
)
def test_output_format_comes_from_the_extension(path, expected) -> None:
    assert output_format(path) == expected


@pytest.mark.parametrize("path", ["a.gif", "noextension", "-"])
def test_output_format_refuses_what_it_cannot_name(path) -> None:
    with pytest.raises(InputError):
        output_format(path)


def test_an_explicit_format_wins_over_the_extension(tmp_path) -> None:
    write_image(Image(RGB), tmp_path / "o.data", format="PNG")
    assert (tmp_path / "o.data").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(InputError, match="unknown image format 'gif'"):
        write_image(Image(RGB), tmp_path / "o.png", format="gif")


def test_writing_to_standard_output_needs_a_format(capsysbinary) -> None:
    with pytest.raises(InputError, match="standard output needs a format"):
        write_image(Image(RGB), "-")
    write_image(Image(RGB), "-", format="png")
    assert np.array_equal(read_image(capsysbinary.readouterr().out).pixels, RGB)


def test_an_existing_output_is_kept_unless_forced(tmp_path) -> None:
    target = tmp_path / "o.png"
    target.write_bytes(b"old")
    with pytest.raises(InputError, match="exists; pass --force to overwrite"):
        write_image(Image(RGB), target)
    assert target.read_bytes() == b"old"
    write_image(Image(RGB), target, force=True)
    assert np.array_equal(read_image(target).pixels, RGB)


def test_an_unwritable_destination_is_an_input_error(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        write_image(Image(RGB), tmp_path / "file" / "o.png")


def test_an_image_too_large_for_webp_is_refused() -> None:
    with pytest.raises(InputError, match="too large for WEBP"):
        image_to_bytes(Image(np.zeros((1, 16_384, 3), dtype=np.uint8)), "webp")


@pytest.mark.parametrize(
    "pixels", [RGB.astype(np.float32), RGB[..., :2], RGB[..., 0], np.zeros((0, 4, 3), np.uint8)]
)
def test_pixels_that_break_the_image_contract_are_a_value_error(pixels) -> None:
    with pytest.raises(ValueError):
        image_to_bytes(Image(pixels), "png")


# Issue 20: headers that claim more than the file can hold, and inputs that never end.


def test_a_jpeg_claiming_more_blocks_than_its_bytes_can_code_is_refused_at_once() -> None:
    message = read_error(jpeg_claiming(16384, 16384))  # libjpeg would "decode" it for minutes
    assert "16384x16384 pixels, more 8x8 blocks than its" in message and "forged" in message


def test_a_jpeg_within_what_its_bytes_can_code_still_reads() -> None:
    assert read_image(jpeg_claiming(64, 48)).pixels.shape == (48, 64, 3)


def test_arithmetic_coded_jpegs_are_told_apart_by_their_frame_marker() -> None:
    from aecodec.media.image import _arithmetic_jpeg

    data = jpeg_claiming(16, 16)
    assert not _arithmetic_jpeg(data)
    assert _arithmetic_jpeg(data.replace(b"\xff\xc0", b"\xff\xc9", 1))


def test_a_blank_16384_square_one_bit_png_is_refused_as_a_bomb() -> None:
    data = one_bit_png(16384, 16384)  # at the pixel limit, from 32 KB
    assert len(data) < 40_000
    assert "as decompression bombs do" in read_error(data)


def test_a_one_pixel_strip_is_read_but_counts_as_padded_work() -> None:
    data = one_bit_png(1 << 22, 1)  # 588 bytes
    assert read_image(data).pixels.shape == (1, 1 << 22, 1)  # 4 MP: free
    with pytest.raises(InputError, match=r"4194304x1 pixels \(268.4 MP once padded to multiples of 64\)"):
        read_image(data, align=64)  # what the image codec would make of it


def test_callers_can_lower_the_pixel_limit() -> None:
    data = png_bytes(np.zeros((40, 50, 3), np.uint8))
    assert read_image(data, max_pixels=2000).pixels.shape == (40, 50, 3)
    with pytest.raises(InputError, match="50x40 pixels, more than the 1999-pixel limit"):
        read_image(data, max_pixels=1999)
    with pytest.raises(InputError, match="once its sides are padded to multiples of 16"):
        read_image(data, max_pixels=2000, align=16)


def test_truncated_images_stay_errors_whatever_pillow_was_told(monkeypatch) -> None:
    noise = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = image_to_bytes(Image(noise), "png")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # e.g. by another library
    assert "file is truncated" in read_error(data[: len(data) * 2 // 3])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # and put back


def test_only_the_documented_formats_are_opened() -> None:
    gif = io.BytesIO()
    PIL.Image.fromarray(RGB).save(gif, "GIF")
    assert "not an image in a supported format" in read_error(gif.getvalue())


@pytest.mark.parametrize("make", NOT_REGULAR)
def test_inputs_that_are_not_regular_files_are_refused(tmp_path, make) -> None:
    path = not_a_regular_file(tmp_path, "in.png", make)
    assert "not a regular file (a device, pipe or socket)" in read_error(path)


def test_standard_input_must_start_like_an_image(monkeypatch) -> None:
    class Zeros(io.RawIOBase):  # an endless stream, like `cat /dev/zero |`
        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = bytes(len(buffer))
            return len(buffer)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Zeros())))
    assert "standard input': it is not a PNG, JPEG, TIFF, WebP or BMP image" in read_error("-")


def test_standard_input_is_read_up_to_a_bound(monkeypatch) -> None:
    from aecodec.media.inputs import read_stdin

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(png_bytes(RGB))))
    with pytest.raises(InputError, match="it holds more than 100 bytes; pass the file by its path"):
        read_stdin(lambda reason, hint: InputError(f"{reason}; {hint}"), limit=100)
