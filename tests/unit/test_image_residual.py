"""The residual layer of image qualities above 95 (codecs/image_residual.py): its coder on its
own, then through the image codec with the shipped weights, then against damaged files."""

from __future__ import annotations

import numpy as np
import pytest

from aecodec import container
from aecodec.codecs import image_residual as layer
from aecodec.entropy.tables import MIN_SYMBOLS, decode, encode, geometric_tables
from aecodec.errors import FormatError
from aecodec.media.image import to_gray
from aecodec.media.types import Image
from aecodec.metrics.image import psnr_rgb


def laplacian_symbols(shape, scale, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(rng.laplace(0, scale, shape)), -255, 255).astype(np.int16)  # residuals of 8 bits


def test_geometric_tables_are_integer_cdfs_that_decay_as_asked():
    t = geometric_tables((32, 128, 250), span=10)
    freq = np.diff(t.cdf, axis=1)
    assert (t.cdf[:, -1] == 1 << 16).all() and (freq >= 1).all()
    # P(0) falls as the decay ratio rises, and each pmf is symmetric about 0
    assert freq[0, 10] > freq[1, 10] > freq[2, 10]
    assert np.array_equal(freq[:, :10], freq[:, 11:21][:, ::-1])


@pytest.mark.parametrize("count", range(1, MIN_SYMBOLS + 1))
def test_streams_of_a_few_costly_symbols_round_trip(count):
    """compressai's encoder overflowed its buffer on a stream of one symbol (heap corruption):
    short streams are padded after their symbols, which decoders never read."""
    t = geometric_tables((4,), span=8)
    symbols = np.array([8, -8, 500, 7][:count], np.int32)  # the tables' costliest, and an escape
    data = encode(symbols, np.zeros(count, np.int32), t)
    assert np.array_equal(decode(data, np.zeros(count, np.int32), t), symbols)


@pytest.mark.parametrize("step", [1, 3, 7, 15, 255])
def test_the_error_is_at_most_half_a_step(step):
    rng = np.random.default_rng(step)
    original = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    decoded = np.clip(original.astype(int) + rng.integers(-40, 41, original.shape), 0, 255).astype(np.uint8)
    out = layer.reconstruct(decoded, layer.quantise(original, decoded, step), step)
    assert np.abs(out.astype(int) - original).max() <= (step - 1) // 2
    if step == 1:
        assert np.array_equal(out, original)


@pytest.mark.parametrize("planes, scale", [(1, 0.3), (3, 2.0), (3, 40.0)])
def test_symbols_come_back_exactly_across_streams_and_escapes(planes, scale):
    symbols = laplacian_symbols((planes, 37, 29), scale)
    symbols[0, 5, 7], symbols[-1, 36, 28] = 200, -255  # beyond SPAN: escaped
    choice = layer.choose_tables(symbols, max_symbols=29 * 4)  # 4 rows a stream: 10 streams a plane
    streams = layer.encode_planes(symbols, choice, max_symbols=29 * 4)
    assert len(streams) == layer.stream_count(planes, 37, 29, 29 * 4) == planes * 10
    decoded = layer.decode_planes(streams, choice, 37, 29, max_symbols=29 * 4)
    assert np.array_equal(decoded, symbols)


@pytest.mark.parametrize("width, max_symbols", [(1, 1), (2, 2), (3, 6), (5, 5)])
def test_streams_shorter_than_the_coders_minimum_are_padded_and_read_back(width, max_symbols):
    symbols = laplacian_symbols((3, 4, width), 3.0, seed=width)
    choice = layer.choose_tables(symbols, max_symbols)
    streams = layer.encode_planes(symbols, choice, max_symbols)
    assert np.array_equal(layer.decode_planes(streams, choice, 4, width, max_symbols), symbols)


def test_the_tables_follow_the_symbols_spread():
    quiet, busy = laplacian_symbols((1, 64, 64), 0.2), laplacian_symbols((1, 64, 64), 8.0, seed=1)
    quiet_table = layer.choose_tables(quiet, 1 << 20)[0, 0]
    busy_table = layer.choose_tables(busy, 1 << 20)[0, layer.CONTEXTS - 1]
    assert layer.RATIOS[quiet_table] < layer.RATIOS[busy_table]
    # contexts pay: busy neighbours predict busy symbols, so coding costs less than one table
    mixed = np.concatenate([quiet, busy], axis=2)
    streams = layer.encode_planes(mixed, layer.choose_tables(mixed, 1 << 20), 1 << 20)
    one_table = min(len(layer.encode_planes(mixed, np.full((1, layer.CONTEXTS), t), 1 << 20)[0])
                    for t in range(len(layer.RATIOS)))  # the best table for every context
    assert len(streams[0]) < 0.97 * one_table


def test_steps_shrink_as_quality_rises_and_only_above_95():
    assert layer.residual_step(95) is None and layer.residual_step(50) is None
    steps = [layer.residual_step(q) for q in (95.5, 96, 97, 98, 99, 99.5, 100)]
    assert steps == sorted(steps, reverse=True) and steps[-1] == 7 and all(s % 2 for s in steps)


# --- through the codec ----------------------------------------------------------------------

def test_quality_100_keeps_every_sample_within_3(image_codec, sample_rgb):
    data = image_codec.encode(Image(sample_rgb), 100)
    out = image_codec.decode(data).pixels
    assert np.abs(out.astype(int) - sample_rgb).max() <= 3
    assert psnr_rgb(sample_rgb, out) >= 42
    assert container.unpack(data).header["residual"]["step"] == 7


def test_rate_and_psnr_rise_through_the_top_qualities(image_codec, sample_rgb):
    img = Image(sample_rgb)
    sizes, psnrs = [], []
    for q in (95, 96, 97, 98, 99, 100):
        data = image_codec.encode(img, q)
        sizes.append(len(data))
        psnrs.append(psnr_rgb(sample_rgb, image_codec.decode(data).pixels))
    assert "residual" not in container.unpack(image_codec.encode(img, 95)).header
    assert all(a < b for a, b in zip(sizes, sizes[1:])) and all(a < b for a, b in zip(psnrs, psnrs[1:]))


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1, 1), (1, 3, 4), (3, 1, 3)])
def test_tiny_images_keep_the_bound(image_codec, shape):
    px = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    out = image_codec.decode(image_codec.encode(Image(px), 100)).pixels
    assert out.shape == shape and np.abs(out.astype(int) - px).max() <= 3


def test_gray_and_alpha_images_get_the_layer_on_their_colour_planes(image_codec, sample_rgb):
    gray = to_gray(sample_rgb[:80, :100])
    out = image_codec.decode(image_codec.encode(Image(gray), 100)).pixels
    assert out.shape == gray.shape and np.abs(out.astype(int) - gray).max() <= 3
    alpha = np.random.default_rng(1).integers(0, 256, (80, 100, 1), dtype=np.uint8)
    rgba = np.concatenate([sample_rgb[:80, :100], alpha], axis=2)
    data = image_codec.encode(Image(rgba), 99)
    out = image_codec.decode(data).pixels
    assert np.array_equal(out[:, :, 3], rgba[:, :, 3]) and np.abs(out.astype(int) - rgba).max() <= 4
    assert len(container.unpack(data).header["residual"]["tables"]) == 3


def test_symbols_include_the_residual(image_codec, sample_rgb):
    data = image_codec.encode(Image(sample_rgb[:64, :64]), 98)
    residual = image_codec.symbols(data)["residual"][0]
    assert residual.shape == (3, 64, 64) and residual.dtype == np.int16 and residual.any()


def test_a_bpp_budget_can_reach_the_top_qualities(image_codec, sample_rgb):
    img = Image(sample_rgb)
    q100_bpp = len(image_codec.encode(img, 100)) * 8 / (img.height * img.width)
    assert image_codec.encode_to_bpp(img, q100_bpp * 1.01).quality == 100
    assert 95 < image_codec.encode_to_bpp(img, q100_bpp * 0.9).quality < 100


# --- damaged and crafted files --------------------------------------------------------------

@pytest.fixture(scope="module")
def q100_file(image_codec, sample_rgb) -> bytes:
    return image_codec.encode(Image(sample_rgb[:48, :64]), 100)


def rebuilt(data: bytes, header_change=None, streams_change=None) -> bytes:
    parsed = container.unpack(data)
    header, streams = dict(parsed.header), list(parsed.streams)
    if header_change:
        header_change(header)
    if streams_change:
        streams = streams_change(streams)
    return container.pack(header, streams)


@pytest.mark.parametrize("value", [
    {"step": 8, "tables": [[0] * 16] * 3},  # even: the decoder would not know where to round
    {"step": 0, "tables": [[0] * 16] * 3},
    {"step": True, "tables": [[0] * 16] * 3},
    {"step": 7, "tables": [[0] * 16] * 2},
    {"step": 7, "tables": [[0] * 15] * 3},
    {"step": 7, "tables": [[99] * 16] * 3},
    {"step": 7, "tables": [[-1] * 16] * 3},
    {"step": 7},
    "7",
])
def test_invalid_residual_headers_are_refused(image_codec, q100_file, value):
    with pytest.raises(FormatError, match="residual layer is invalid"):
        image_codec.decode(rebuilt(q100_file, lambda h: h.update(residual=value)))


def test_a_missing_or_extra_residual_stream_is_refused(image_codec, q100_file):
    with pytest.raises(FormatError, match="streams"):
        image_codec.decode(rebuilt(q100_file, streams_change=lambda s: s[:-1]))
    with pytest.raises(FormatError, match="streams"):  # a layer the header does not announce
        image_codec.decode(rebuilt(q100_file, header_change=lambda h: h.pop("residual")))


def test_a_truncated_residual_stream_is_refused_before_decoding(image_codec, q100_file):
    with pytest.raises(FormatError, match="residual stream has"):
        image_codec.decode(rebuilt(q100_file, streams_change=lambda s: s[:-1] + [s[-1][:9]]))


def test_a_forged_residual_stream_decodes_to_a_bounded_image(image_codec, q100_file):
    """Random bytes with a valid CRC: any symbols they decode to only move pixels within 0..255."""
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    out = image_codec.decode(rebuilt(q100_file, streams_change=lambda s: s[:-1] + [noise])).pixels
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
