"""Shared fixtures: bundled samples and the shipped image codec (loaded once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    from aecodec.media.image import read_image

    return read_image(DATA / "images" / "canyon_wren.png").pixels


@pytest.fixture(scope="session")
def image_codec():
    from aecodec.codecs.learned import LearnedImageCodec

    return LearnedImageCodec(device="cpu")
