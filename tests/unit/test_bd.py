"""Bjøntegaard deltas: exact answers for shifted curves, and every validation error."""

from __future__ import annotations

import math

import pytest

from aecodec.metrics.bd import bd_psnr, bd_rate

RATES = [0.16, 0.27, 0.37, 0.52, 0.73, 0.94, 1.45, 2.14]  # field notes' JPEG points (bpp, dB)
PSNRS = [29.8, 32.8, 34.2, 36.0, 37.5, 38.7, 40.8, 42.6]


def scaled(factor: float) -> list[float]:
    return [rate * factor for rate in RATES]


def test_a_curve_against_itself_is_zero() -> None:
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-9)


def test_halved_and_doubled_rates() -> None:
    assert bd_rate(RATES, PSNRS, scaled(0.5), PSNRS) == pytest.approx(-50.0, abs=1e-6)
    assert bd_rate(RATES, PSNRS, scaled(2.0), PSNRS) == pytest.approx(100.0, abs=1e-6)


def test_order_of_points_does_not_matter() -> None:
    shuffled = [3, 0, 7, 5, 1, 6, 2, 4]
    rates = [RATES[i] * 0.7 for i in shuffled]
    psnrs = [PSNRS[i] for i in shuffled]
    assert bd_rate(RATES, PSNRS, rates, psnrs) == pytest.approx(-30.0, abs=1e-6)


def test_bd_psnr_of_a_shifted_curve() -> None:
    assert bd_psnr(RATES, PSNRS, RATES, [q + 1.5 for q in PSNRS]) == pytest.approx(1.5, abs=1e-9)
    assert bd_psnr(RATES, PSNRS, RATES, [q - 0.5 for q in PSNRS]) == pytest.approx(-0.5, abs=1e-9)


def test_bd_psnr_of_halved_rates_on_a_log_linear_curve() -> None:
    # quality = 10 log2(rate) + 30: halving every rate gains exactly 10 dB at equal rate.
    rates = [0.1, 0.2, 0.4, 0.8, 1.6]
    qualities = [10 * math.log2(r) + 30 for r in rates]
    assert bd_psnr(rates, qualities, [r / 2 for r in rates], qualities) == pytest.approx(10.0, abs=1e-6)


@pytest.mark.parametrize(
    ("rates", "qualities", "message"),
    [
        ([1, 2, 3], [30, 31, 32], "at least 4 points"),
        ([1, 2, 3, 4], [30, 32, 31, 33], "rise strictly"),
        ([1, 2, 2, 4], [30, 31, 32, 33], "rise strictly"),
        ([0, 2, 3, 4], [30, 31, 32, 33], "finite and positive"),
        ([1, 2, 3, math.nan], [30, 31, 32, 33], "finite and positive"),
        ([1, 2, 3, 4], [30, 31, 32], "one length"),
    ],
)
def test_bad_test_curves_raise(rates: list[float], qualities: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bd_rate(RATES, PSNRS, rates, qualities)
    with pytest.raises(ValueError, match=message):
        bd_psnr(RATES, PSNRS, rates, qualities)


def test_bad_reference_curve_is_named() -> None:
    with pytest.raises(ValueError, match="reference curve"):
        bd_rate(RATES[:3], PSNRS[:3], RATES, PSNRS)


def test_curves_without_a_common_range_raise() -> None:
    with pytest.raises(ValueError, match="do not overlap"):
        bd_rate(RATES, PSNRS, RATES, [q + 20 for q in PSNRS])
    with pytest.raises(ValueError, match="do not overlap"):
        bd_psnr(RATES, PSNRS, scaled(100), PSNRS)
