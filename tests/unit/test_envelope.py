"""Envelope refinement: integer-exact tables, the symbol streams, and corrections that work."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from aecodec.codecs import envelope
from aecodec.codecs.envelope import EnvelopeConfig, apply, config_for, decode_symbols, encode_symbols, log_ratios, quantise
from aecodec.errors import FormatError

RATE = 24000


def test_tables_are_the_format_and_never_change():
    t = envelope.tables()
    assert (t.cdf[:, -1] == 1 << envelope.PRECISION).all() and (np.diff(t.cdf, axis=1) >= 1).all()
    digest = hashlib.sha256(t.cdf.tobytes() + t.cdf_length.tobytes() + t.offset.tobytes()).hexdigest()
    # Files in the wild decode with these tables: changing them needs a new format, not a new hash here.
    assert digest == "23a262da1770b586f5e4fa6de8a19c15a534d998fda9bd50c2a4117ef4152e2e"


def test_symbol_streams_round_trip_with_escapes_and_pick_a_cheap_table():
    rng = np.random.default_rng(0)
    calm = rng.integers(-1, 2, (24, 50)).astype(np.int32) * (rng.random((24, 50)) < 0.2)
    wild = rng.integers(-60, 61, (24, 50)).astype(np.int32)  # beyond the tables' range: escaped
    for symbols in (calm, wild, np.zeros((3, 1), np.int32)):
        data = encode_symbols(symbols)
        assert np.array_equal(decode_symbols(data, symbols.shape), symbols)
    assert len(encode_symbols(calm)) < len(encode_symbols(wild)) / 3
    with pytest.raises(FormatError):
        decode_symbols(bytes([len(envelope.RATIOS)]) + encode_symbols(calm)[1:], calm.shape)
    with pytest.raises(FormatError):
        decode_symbols(b"", calm.shape)


def test_zero_corrections_leave_the_waveform_as_it_was():
    x = np.random.default_rng(1).standard_normal(5000).astype(np.float32) * 0.1
    cfg = EnvelopeConfig()
    out = apply(x, np.zeros((cfg.bands, cfg.frames(x.size)), np.int32), cfg, RATE)
    assert out.shape == x.shape and np.abs(out - x).max() < 1e-5


def test_corrections_bring_the_band_levels_to_the_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(24000).astype(np.float32) * 0.1
    decoded = 0.25 * x + 0.001 * rng.standard_normal(24000).astype(np.float32)  # 12 dB too quiet
    cfg = EnvelopeConfig(step=0.05)
    before = np.abs(log_ratios(x, decoded, cfg, RATE)).mean()
    fixed = apply(decoded, quantise(log_ratios(x, decoded, cfg, RATE), cfg.step), cfg, RATE)
    after = np.abs(log_ratios(x, fixed, cfg, RATE)).mean()
    assert before > 0.5 and after < 0.1


def test_a_damaged_stream_cannot_blow_the_gains_up():
    x = np.random.default_rng(3).standard_normal(4800).astype(np.float32) * 0.1
    cfg = EnvelopeConfig(step=1.0)
    out = apply(x, np.full((cfg.bands, cfg.frames(x.size)), 4000, np.int32), cfg, RATE)
    assert np.isfinite(out).all() and np.abs(out).max() < 1e5 * np.abs(x).max()


def test_the_ladder_spends_more_as_quality_rises():
    settings = [config_for(q) for q in range(1, 101)]
    assert settings[0][0] == 0 and settings[-1][0] == len(envelope.RUNGS) - 1
    assert all(a[1].bands <= b[1].bands and a[1].step >= b[1].step for a, b in zip(settings, settings[1:]))
    assert settings[0][1].step == 1.0 and settings[-1][1].step == 0.25
