"""ICC profile, EXIF and XMP through encode and decode (container format 2.1), the notice when a
deep image is reduced to 8 bits, --strip-metadata, and hostile metadata in .aec files."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from PIL import ImageCms

from aecodec import container
from aecodec.cli.main import main
from aecodec.container.format import deflate_header
from aecodec.errors import FormatError
from aecodec.media.image import image_to_bytes, read_image
from aecodec.media.metadata import ImageMetadata

from cli_run import aecodec, assert_one_line_error

GOLDEN = Path(__file__).parents[1] / "golden"
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"/></rdf:RDF></x:xmpmeta>')
ORIENTATION, MAKE, GPS_IFD = 0x0112, 0x010F, 0x8825


def fake_icc(space: bytes, size: int = 132) -> bytes:
    """A profile header as the container checks it: size field, colour space, 'acsp'."""
    return size.to_bytes(4, "big") + bytes(12) + space + bytes(16) + b"acsp" + bytes(size - 40)


def camera_exif(orientation: int = 1) -> bytes:
    exif = PIL.Image.Exif()
    exif[MAKE] = "Canon"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD)[2] = (52.0, 31.0, 12.0)  # GPS latitude: what --strip-metadata is for
    return exif.tobytes()


def photo(tmp_path: Path, name: str = "photo.jpg", orientation: int = 1, **extra) -> Path:
    pixels = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    path = tmp_path / name
    PIL.Image.fromarray(pixels).save(path, icc_profile=SRGB, exif=camera_exif(orientation), **extra)
    return path


def run(*args) -> int:
    with pytest.raises(SystemExit) as exit:
        main([str(a) for a in args])
    return exit.value.code


def exif_of(path: Path) -> dict:
    with PIL.Image.open(path) as im:
        return dict(im.getexif())


# --- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_icc_exif_and_xmp_survive_encode_and_decode(tmp_path, suffix, image_codec) -> None:
    source = photo(tmp_path, orientation=6, xmp=XMP)  # 64x48 stored, shown 48x64
    assert run("encode", source, "-o", tmp_path / "p.aec", "--device", "cpu") == 0
    stored = container.unpack((tmp_path / "p.aec").read_bytes())
    assert set(stored.metadata) == {"icc_profile", "exif", "xmp"} and "metadata" not in stored.header
    out = tmp_path / f"out{suffix}"
    assert run("decode", tmp_path / "p.aec", "-o", out, "--device", "cpu") == 0
    with PIL.Image.open(out) as im:
        assert im.size == (48, 64)  # coded upright...
        assert im.info["icc_profile"] == SRGB
        assert im.info["xmp"] == XMP
        exif = im.getexif()
        assert exif[MAKE] == "Canon" and ORIENTATION not in exif  # ...so viewers must not rotate again
        assert exif.get_ifd(GPS_IFD)[2] == (52.0, 31.0, 12.0)


def test_strip_metadata_leaves_all_of_it_out(tmp_path, image_codec) -> None:
    source = photo(tmp_path, xmp=XMP)
    assert run("encode", source, "-o", tmp_path / "p.aec", "--strip-metadata", "--device", "cpu") == 0
    assert container.unpack((tmp_path / "p.aec").read_bytes()).metadata == {}
    assert run("decode", tmp_path / "p.aec", "-o", tmp_path / "out.jpg", "--device", "cpu") == 0
    with PIL.Image.open(tmp_path / "out.jpg") as im:
        assert "icc_profile" not in im.info and "xmp" not in im.info and not dict(im.getexif())


def test_an_image_without_metadata_codes_as_before(image_codec, sample_rgb) -> None:
    from aecodec.media.types import Image

    data = image_codec.encode(Image(sample_rgb[:64, :64]), 50)
    parsed = container.unpack(data)
    assert parsed.metadata == {} and (data[4], data[5]) == (container.MAJOR, container.MINOR)
    assert image_codec.decode(data).metadata == ImageMetadata()


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.aec")))
def test_golden_files_read_as_before_without_metadata(name) -> None:
    data = (GOLDEN / name).read_bytes()
    # 1.0 and 2.0: written before 2.1 and never rewritten; 2.1: the cases added since (audio-mdct,
    # image-hyperprior v5 and later); 2.2: the residual layer's (quality above 95) and the music
    # model's (audio-mdct-music); 2.3: the --kbps cases of the MDCT models (fine_step); 2.4: the
    # music model's v2 and later (adaptive tables)
    version = int(name.rsplit("-v", 1)[1].removesuffix(".aec"))
    since_2_1 = name.startswith("audio-mdct") or (not name.startswith("audio") and version >= 5)
    since_2_4 = name.startswith("audio-mdct-music") and version >= 2
    since_2_3 = name.startswith("audio-mdct") and "kbps" in name and not since_2_4
    since_2_2 = (name in ("rgb-q100-v7.aec", "gray-q98-v7.aec") or name.startswith("audio-mdct-music")) and not since_2_4
    assert (data[4:6] in (b"\x01\x00", b"\x02\x00") or (data[4:6] == b"\x02\x01" and since_2_1)
            or (data[4:6] == b"\x02\x02" and since_2_2 and not since_2_3) or (data[4:6] == b"\x02\x03" and since_2_3)
            or (data[4:6] == b"\x02\x04" and since_2_4))
    assert container.unpack(data).metadata == {}


def test_the_container_round_trips_metadata_and_refuses_it_as_a_header_key() -> None:
    header = {"media": "image", "model": {"name": "m", "sha256": "0" * 16}}
    items = {"icc_profile": SRGB, "exif": camera_exif()[6:], "xmp": XMP}
    assert container.unpack(container.pack(header, [b"x"], items)).metadata == items
    with pytest.raises(ValueError):
        container.pack({**header, "metadata": {}}, [b"x"])


# --- writers and readers -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["tiff", "webp"])
def test_tiff_and_webp_outputs_carry_the_metadata_too(fmt) -> None:
    exif = camera_exif()[6:]
    image = read_image(photo_bytes())
    carried = type(image)(image.pixels, ImageMetadata(SRGB, exif, XMP))
    with PIL.Image.open(io.BytesIO(image_to_bytes(carried, fmt))) as im:
        assert im.info["icc_profile"] == SRGB and im.info["xmp"] == XMP and im.getexif()[MAKE] == "Canon"


def photo_bytes() -> bytes:
    buffer = io.BytesIO()
    PIL.Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_profile_of_another_colour_space_is_not_kept() -> None:
    buffer = io.BytesIO()  # a CMYK JPEG's profile: its pixels are read as RGB
    PIL.Image.new("CMYK", (8, 8)).save(buffer, "JPEG", icc_profile=fake_icc(b"CMYK"))
    assert read_image(buffer.getvalue()).metadata.icc_profile is None
    gray = read_image(photo_bytes())
    gray = type(gray)(gray.pixels[:, :, :1], ImageMetadata(icc_profile=fake_icc(b"GRAY")))
    assert read_image(image_to_bytes(gray, "png")).metadata.icc_profile == fake_icc(b"GRAY")
    assert read_image(image_to_bytes(gray, "webp")).metadata.icc_profile is None  # WebP stores grey as RGB


def test_xmp_too_large_for_a_jpeg_segment_is_left_out_with_a_warning(caplog) -> None:
    image = read_image(photo_bytes())
    big = type(image)(image.pixels, ImageMetadata(xmp=b"<x>" + b" " * 65500 + b"</x>", icc_profile=SRGB))
    with caplog.at_level(logging.WARNING):
        data = image_to_bytes(big, "jpeg")
    assert "XMP (65507 bytes) does not fit in a JPEG" in caplog.text
    assert read_image(data).metadata == ImageMetadata(icc_profile=SRGB)


# --- the depth notice ----------------------------------------------------------------------------

def deep_png(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.png"
    if kind == "gray16":
        PIL.Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(path)
    else:  # 16-bit RGB, which Pillow itself opens as 8-bit RGB
        import struct
        import zlib

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        rows = b"".join(b"\x00" + bytes(range(256))[:48] * 4 for _ in range(32))  # 32 rows of 32 RGB16 pixels
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 16, 2, 0, 0, 0))
                         + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("kind", ["gray16", "rgb16"])
def test_reading_a_16_bit_png_says_it_is_reduced(tmp_path, kind, caplog) -> None:
    path = deep_png(tmp_path, kind)
    with caplog.at_level(logging.WARNING):
        read_image(path)
    assert [r.getMessage() for r in caplog.records] == [
        f"image {str(path)!r}: 16-bit reduced to 8-bit (aecodec works on 8 bits a sample)"]


def test_float_tiff_and_8_bit_files(tmp_path, caplog) -> None:
    PIL.Image.fromarray(np.ones((8, 8), np.float32)).save(tmp_path / "f.tif")
    PIL.Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "eight.png")
    with caplog.at_level(logging.WARNING):
        read_image(tmp_path / "eight.png")
        assert caplog.text == ""
        read_image(tmp_path / "f.tif")
    assert "f.tif': 32-bit float reduced to 8-bit" in caplog.text


def test_encode_prints_one_notice_line_for_a_16_bit_png(tmp_path) -> None:
    source = deep_png(tmp_path, "gray16")
    result = aecodec("encode", source, "-o", tmp_path / "g.aec", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.decode().splitlines()  # one line, whatever prefix the CLI gives notices
    assert line.endswith(f"image {str(source)!r}: 16-bit reduced to 8-bit (aecodec works on 8 bits a sample)")


def test_inpaint_says_so_too(tmp_path, caplog) -> None:
    source = deep_png(tmp_path, "rgb16")
    PIL.Image.new("L", (32, 32)).save(tmp_path / "mask.png")  # empty: nothing to fill, no network
    with caplog.at_level(logging.WARNING):
        assert run("inpaint", source, "--mask", tmp_path / "mask.png", "-o", tmp_path / "o.png", "--device", "cpu") == 0
    assert "rgb16.png': 16-bit reduced to 8-bit" in caplog.text


def test_denoise_and_inpaint_keep_the_photos_metadata(tmp_path) -> None:
    source = photo(tmp_path)
    PIL.Image.new("L", (64, 48), 0).save(tmp_path / "mask.png")
    mask = PIL.Image.open(tmp_path / "mask.png").copy()
    mask.paste(255, (10, 10, 20, 20))  # a real hole: the network runs
    mask.save(tmp_path / "mask.png")
    assert run("denoise", source, "-o", tmp_path / "d.png", "--device", "cpu") == 0
    assert run("inpaint", source, "--mask", tmp_path / "mask.png", "-o", tmp_path / "i.png", "--device", "cpu") == 0
    for out in ("d.png", "i.png"):
        with PIL.Image.open(tmp_path / out) as im:
            assert im.info["icc_profile"] == SRGB
        assert exif_of(tmp_path / out)[MAKE] == "Canon"


# --- hostile metadata ------------------------------------------------------------------------------

def forged(metadata: object) -> bytes:
    """An image file whose header carries ``metadata`` as given, with a valid checksum."""
    import struct
    import zlib

    header = {"media": "image", "model": {"name": "image-hyperprior", "sha256": "0" * 16}, "streams": 0,
              "metadata": metadata}
    stored = deflate_header(json.dumps(header).encode())
    body = container.MAGIC + bytes([2, 1]) + struct.pack("<I", len(stored)) + stored + struct.pack("<I", 0)
    return body + struct.pack("<I", zlib.crc32(body))


LIMIT = 4 * -(-container.MAX_ICC_BYTES // 3)


@pytest.mark.parametrize("metadata, words", [
    ({"icc_profile": "A" * (LIMIT + 4)}, f"ICC profile claims {LIMIT + 4} base64 characters, over the 524288-byte"),
    ({"xmp": "!" * 90000}, "XMP claims 90000 base64 characters"),  # refused by its length, before decoding
    ({"exif": base64.b64encode(b"MM\0*" + bytes(65533)).decode()}, "EXIF is 65537 bytes, over the 65536-byte limit"),
    ({"icc_profile": base64.b64encode(fake_icc(b"RGB ")[:-1]).decode()}, "ICC profile is not a well-formed"),
    ({"exif": base64.b64encode(b"Exif\0\0MM\0*").decode()}, "EXIF does not start with a TIFF header"),
    ({"xmp": base64.b64encode(b"\xff\xfe").decode()}, "XMP is not UTF-8"),
    ({"xmp": "not base64!"}, '"metadata.xmp" is not base64'),
    ({"xmp": "QR=="}, "not canonical base64"),  # "A" with a stray bit set
    ({"xmp": ""}, "the XMP is empty"),
    ({"exif": 5}, '"metadata.exif" is not a string'),
    ([1, 2], '"metadata" is not an object'),
])
def test_hostile_metadata_is_refused(metadata, words) -> None:
    with pytest.raises(FormatError) as refused:
        container.unpack(forged(metadata))
    assert words in str(refused.value) and "the header's metadata is invalid" in str(refused.value)


def test_unknown_metadata_items_are_ignored() -> None:
    assert container.unpack(forged({"iptc": "AAAA", "xmp": "PHgvPg=="})).metadata == {"xmp": b"<x/>"}


def test_decode_refuses_over_limit_metadata_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "bad.aec").write_bytes(forged({"icc_profile": "A" * (LIMIT + 4)}))
    assert run("decode", tmp_path / "bad.aec", "-o", tmp_path / "out.png") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"aecodec: error: {tmp_path / 'bad.aec'}: the header's metadata is invalid")
    assert not (tmp_path / "out.png").exists()


def test_encode_refuses_metadata_a_file_cannot_hold_and_hints_at_stripping(tmp_path, capsys, image_codec) -> None:
    source = photo(tmp_path, "big.png", pnginfo=big_xmp_text())
    assert run("encode", source, "-o", tmp_path / "big.aec", "--device", "cpu") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the XMP is 70000 bytes, over the 65536-byte limit" in err
    assert "--strip-metadata" in err and not (tmp_path / "big.aec").exists()
    assert run("encode", source, "-o", tmp_path / "big.aec", "--strip-metadata", "--device", "cpu") == 0


def big_xmp_text():
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_itxt("XML:com.adobe.xmp", "x" * 70000)
    return text


def test_a_tool_run_shows_one_error_line_for_hostile_metadata(tmp_path) -> None:
    (tmp_path / "bad.aec").write_bytes(forged({"exif": "!!!!"}))
    assert_one_line_error(aecodec("info", tmp_path / "bad.aec"), "metadata", "not base64")


def test_metadata_at_every_cap_at_once_fits_the_header() -> None:
    noise = np.random.default_rng(1).integers(0, 256, container.MAX_ICC_BYTES, dtype=np.uint8).tobytes()
    items = {"icc_profile": container.MAX_ICC_BYTES.to_bytes(4, "big") + fake_icc(b"RGB ")[4:128] + noise[128:],
             "exif": b"MM\0*" + noise[4:container.MAX_EXIF_BYTES], "xmp": b"x" * container.MAX_XMP_BYTES}
    header = {"media": "image", "model": {"name": "m", "sha256": "0" * 16}}
    assert container.unpack(container.pack(header, [], items)).metadata == items
