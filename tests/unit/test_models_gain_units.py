"""One GainUnits layer serves both codecs' transforms: anchors at the ends of the quality range,
geometric in between, gains shaped for the medium's latent."""

from __future__ import annotations

import math

import pytest
import torch

from aecodec.models.audio.conv_lstm import ConvLstmConfig, ConvLstmTransforms
from aecodec.models.image.hyperprior import HyperpriorConfig, HyperpriorTransforms

TRANSFORMS = {
    "image": lambda: HyperpriorTransforms(HyperpriorConfig(N=8, M=12, levels=4)),
    "audio": lambda: ConvLstmTransforms(ConvLstmConfig(channels=(4, 4, 8, 8, 16), latent=12, levels=4)),
}


@pytest.mark.parametrize("medium", TRANSFORMS)
def test_gain_units_interpolate_geometrically_between_anchors(medium):
    t = TRANSFORMS[medium]()
    c = t.config
    enc, dec = t.gains(torch.tensor([0.0, 1.0, 1.5, 3.0]))
    assert enc.shape == dec.shape == (4, 12) + (1,) * (2 if medium == "image" else 1)
    enc, dec = enc.flatten(1), dec.flatten(1)
    assert torch.allclose(enc[1], t.log_gain_enc[1].exp()) and torch.allclose(dec[3], t.log_gain_dec[3].exp())
    assert torch.allclose(enc[2], (enc[1] * t.log_gain_enc[2].exp()).sqrt())  # halfway: the geometric mean
    lmbda = t.lmbda(torch.tensor([0.0, 3.0, 1.5]))
    assert torch.allclose(lmbda[:2], torch.tensor([c.lambda_q1, c.lambda_q100]))
    assert math.isclose(float(lmbda[2]), math.sqrt(c.lambda_q1 * c.lambda_q100), rel_tol=1e-5)


@pytest.mark.parametrize("medium", TRANSFORMS)
def test_the_log_gains_keep_their_names_and_their_place(medium):
    names = [n for n, _ in TRANSFORMS[medium]().named_parameters()]
    assert names[:2] == ["log_gain_enc", "log_gain_dec"]  # shipped weights and optimiser states rely on both
