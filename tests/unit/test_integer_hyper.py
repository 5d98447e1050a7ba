"""The integer hyper-synthesis: exact, order-independent, and close to the float network."""

from __future__ import annotations

import pytest
import torch

from aecodec.models.image.hyperprior import HyperpriorConfig, HyperpriorTransforms
from aecodec.models.image.integer import A_BITS, IntegerNetwork


def _network(seed: int = 0) -> HyperpriorTransforms:
    torch.manual_seed(seed)
    return HyperpriorTransforms(HyperpriorConfig(N=16, M=24))


def test_outputs_are_exact_multiples_and_thread_independent():
    t = _network()
    h_s = IntegerNetwork.from_float(t.h_s)
    z = torch.randint(-20, 20, (1, 16, 3, 5)).double() * 2.0**A_BITS
    before = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(h_s(z))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*results):
        assert torch.equal(a, b)
        scaled = a * 2.0**A_BITS
        assert torch.equal(scaled, scaled.round())


def test_close_to_the_float_network():
    t = _network(1)
    h_s = IntegerNetwork.from_float(t.h_s)
    z = torch.randint(-5, 5, (1, 16, 2, 2)).float()
    means, scales = h_s(z.double() * 2.0**A_BITS)
    ref_means, ref_scales = t.entropy_parameters(z)
    assert (means - ref_means.double()).abs().max() < 0.02
    assert (scales - ref_scales.double()).abs().max() < 0.02


def test_round_trips_through_tensors():
    t = _network(2)
    h_s = IntegerNetwork.from_float(t.h_s)
    again = IntegerNetwork.from_tensors(h_s.tensors("x."), "x.", t.h_s)
    z = torch.randint(-5, 5, (1, 16, 2, 3)).double() * 2.0**A_BITS
    for a, b in zip(h_s(z), again(z)):
        assert torch.equal(a, b)


def test_hostile_hyper_latents_stay_bounded():
    h_s = IntegerNetwork.from_float(_network(3).h_s)
    z = torch.full((1, 16, 2, 2), 1e30, dtype=torch.float64)
    means, scales = h_s(z)
    assert torch.isfinite(means).all() and torch.isfinite(scales).all()


def test_weights_whose_sums_could_leave_exact_float64_are_refused():
    t = _network()
    with torch.no_grad():
        t.h_s[4].weight.fill_(4.5)  # beyond the old per-weight limit of 4, yet its sums stay far below 2^53
    IntegerNetwork.from_float(t.h_s)
    with torch.no_grad():
        t.h_s[4].weight[0].fill_(2.0**20)  # 2^36 units times 2^20 times 216 inputs > 2^53
    with pytest.raises(ValueError, match="layer 2 could sum"):
        IntegerNetwork.from_float(t.h_s)
