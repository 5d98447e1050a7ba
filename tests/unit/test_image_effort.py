"""``--effort``: latents optimised at encode time, decoded by the unchanged decoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aecodec import container
from aecodec.codecs import image_effort
from aecodec.errors import InputError
from aecodec.media.image import read_image
from aecodec.media.types import Image

from cli_run import aecodec, assert_one_line_error

TESTS = Path(__file__).parents[1]
GOLDEN = TESTS / "golden"


def rd_cost(codec, img: Image, data: bytes) -> float:
    """bpp + lambda(quality) * 255^2 * MSE of a file, from its real size and its decoded pixels."""
    _, model = codec.loaded()
    quality = codec.unpack(data).header["quality"]
    pos = torch.tensor([model.config.position(quality)])
    out = codec.decode(data).pixels.astype(np.float64)
    mse = float(np.mean(((out - img.pixels) / 255) ** 2))
    return len(data) * 8 / (img.height * img.width) + float(model.transforms.lmbda(pos)) * 255**2 * mse


@pytest.fixture(scope="module")
def crop(sample_rgb) -> Image:
    return Image(np.ascontiguousarray(sample_rgb[40:168, 100:292]))  # 192x128: a few seconds a run


def test_effort_1_writes_the_committed_golden_streams_byte_for_byte(image_codec):
    """The golden files of the shipped model were written by the encoder before --effort existed
    (their container framing is an older one: header and streams are compared)."""
    from golden.test_golden import SOURCES

    version = image_codec.loaded()[0]["version"]
    cases = json.loads((GOLDEN / "cases.json").read_text())
    checked = 0
    for stem, (sample, (left, top, right, bottom), quality) in SOURCES.items():
        name = f"{stem}-v{version}"
        if name not in cases:
            continue
        px = read_image(TESTS / "data" / "images" / sample).pixels
        img = Image(np.ascontiguousarray(px[top:bottom, left:right]))
        golden = container.unpack((GOLDEN / cases[name]["file"]).read_bytes())
        data = image_codec.encode(img, quality, effort=1)
        ours = container.unpack(data)
        assert (ours.header, ours.streams, ours.metadata) == (golden.header, golden.streams, golden.metadata), name
        assert image_codec.encode(img, quality) == data, name  # 1 is the default
        checked += 1
    assert checked >= 3


def test_higher_effort_lowers_the_rd_cost_and_decodes_normally(image_codec, crop):
    plain = image_codec.encode(crop, 50)
    optimised = image_codec.encode(crop, 50, effort=4)
    header = image_codec.unpack(optimised).header
    assert header == image_codec.unpack(plain).header  # same format: only the symbols differ
    assert image_codec.decode(optimised).pixels.shape == crop.pixels.shape
    assert rd_cost(image_codec, crop, optimised) < rd_cost(image_codec, crop, plain)


def test_an_effort_gives_the_same_file_every_run_and_reports_its_steps(image_codec, crop):
    calls = []
    first = image_codec.encode(crop, 30, effort=2, progress=lambda done, total: calls.append((done, total)))
    assert image_codec.encode(crop, 30, effort=2) == first
    assert calls[-1][0] == calls[-1][1] >= image_effort.EFFORT_STEPS[2]


def test_bpp_target_runs_the_optimised_encoder(image_codec, crop):
    pixels = crop.height * crop.width
    result = image_codec.encode_to_bpp(crop, 0.5, effort=2)
    assert len(result.data) * 8 / pixels <= 0.5
    assert result.data == image_codec.encode(crop, result.quality, effort=2)


def test_effort_range_and_the_plain_encoder_for_large_images(image_codec, crop):
    for effort in (0, 10, 2.5):
        with pytest.raises(InputError, match="--effort"):
            image_codec.encode(crop, 50, effort=effort)
    assert not image_effort.optimisable(2048, 2048, 9)  # over MAX_PIXELS: effort 1's file
    assert image_effort.optimisable(512, 768, 2) and not image_effort.optimisable(512, 768, 1)


def test_cli_effort_codes_images_and_is_a_usage_error_for_audio(tmp_path):
    image = TESTS / "data" / "images" / "canyon_wren.png"
    assert aecodec("encode", image, "-o", tmp_path / "x.aec", "--effort", "2").returncode == 0
    assert aecodec("decode", tmp_path / "x.aec", "-o", tmp_path / "x.png").returncode == 0
    speech = TESTS / "data" / "audio" / "librivox_speech.flac"
    assert_one_line_error(aecodec("encode", speech, "-o", tmp_path / "s.aec", "--effort", "3"),
                          "--effort is for images", code=2)
    result = aecodec("encode", image, "-o", tmp_path / "y.aec", "--effort", "10")
    assert result.returncode == 2 and b"--effort" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.aec", "x.png"]


def test_the_benchmarks_name_an_effort_aecodec_e_n():
    from aecodec.bench.image import default_qualities
    from aecodec.codecs.baselines import get_codec
    from aecodec.codecs.image import LearnedImageCodec

    codec = get_codec("aecodec-e5", "image", "cpu")
    assert isinstance(codec, LearnedImageCodec) and codec.effort == 5
    plain = get_codec("aecodec", "image", "cpu")
    assert codec.model_identity() == plain.model_identity() + " effort 5 (50 steps)"  # its rows are its own
    assert default_qualities("aecodec-e5") == default_qualities("aecodec")
