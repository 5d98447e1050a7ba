"""The inference rewrites of the image transforms compute what the trained layers compute."""

from __future__ import annotations

import pytest
import torch

from aecodec.models import layers
from aecodec.models.layers import SimplifiedGDN, SubpixelConv


@pytest.mark.parametrize("shape", [(1, 6, 5, 7), (2, 6, 8, 3)])
def test_subpixel_conv_equals_the_transposed_convolution(shape):
    torch.manual_seed(0)
    deconv = torch.nn.ConvTranspose2d(6, 4, 5, stride=2, padding=2, output_padding=1)
    x = torch.randn(*shape)
    with torch.no_grad():
        expected = deconv(x)
        got = SubpixelConv(deconv)(x)
        got_cl = SubpixelConv(deconv)(x.contiguous(memory_format=torch.channels_last))
    assert got.shape == expected.shape == (shape[0], 4, 2 * shape[2], 2 * shape[3])
    assert torch.allclose(got, expected, atol=1e-5) and torch.allclose(got_cl, expected, atol=1e-5)


def test_subpixel_conv_refuses_other_geometries():
    with pytest.raises(ValueError, match="5x5 stride-2"):
        SubpixelConv(torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1))


@pytest.mark.parametrize("block_rows", [8192, 7])  # one block; many, the last one partial
@pytest.mark.parametrize("inverse", [False, True])
def test_gdn_inference_path_matches_training_path_in_both_layouts(inverse, block_rows, monkeypatch):
    monkeypatch.setattr(layers, "GDN_BLOCK_ROWS", block_rows)
    torch.manual_seed(0)
    gdn = SimplifiedGDN(8, inverse=inverse)
    with torch.no_grad():
        gdn.beta.add_(torch.rand(8))
        gdn.gamma.add_(0.1 * torch.rand_like(gdn.gamma))
    x = torch.randn(2, 8, 6, 5)
    trained = gdn(x)  # grad mode: out-of-place
    with torch.no_grad():
        for layout in (torch.contiguous_format, torch.channels_last):
            got = gdn(x.contiguous(memory_format=layout))
            assert torch.allclose(got, trained, rtol=1e-6, atol=1e-6)
    assert trained.requires_grad  # the training path stays differentiable
