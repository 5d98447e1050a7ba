"""Cross-device checks: files made on the GPU decode on the CPU and back (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aecodec.codecs.image import LearnedImageCodec
from aecodec.media.types import Image
from aecodec.metrics.image import psnr_rgb

from symbols import symbols_sha256

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_files_cross_devices_with_identical_latents_and_pixels_within_rounding(sample_rgb):
    cpu, gpu = LearnedImageCodec(device="cpu"), LearnedImageCodec(device="cuda")
    for data in (gpu.encode(Image(sample_rgb), 60), cpu.encode(Image(sample_rgb), 60)):
        assert symbols_sha256(cpu, data) == symbols_sha256(gpu, data)  # the entropy path is exact
        on_cpu, on_gpu = cpu.decode(data).pixels, gpu.decode(data).pixels
        assert np.abs(on_cpu.astype(int) - on_gpu.astype(int)).max() <= 1
        assert psnr_rgb(sample_rgb, on_gpu) > 25
    assert psnr_rgb(gpu.decode(gpu.encode(Image(sample_rgb), 90)).pixels, sample_rgb) > 25
