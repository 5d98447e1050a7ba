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
    # the gains stop at 10^(MAX_LOG_RATIO + step) = 1e5; float32 rounding may land a hair above it
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0001e5 * np.abs(x).max()


def test_the_ladder_spends_more_as_quality_rises():
    settings = [config_for(q) for q in range(1, 101)]
    assert settings[0][0] == 0 and settings[-1][0] == len(envelope.RUNGS) - 1
    assert all(a[1].bands <= b[1].bands and a[1].step >= b[1].step for a, b in zip(settings, settings[1:]))
    assert settings[0][1].step == 1.0 and settings[-1][1].step == 0.25


def test_every_ladder_rung_is_a_setting_decoders_accept():
    for quality in range(1, 101):
        cfg = config_for(quality)[1]
        assert envelope.check_config(cfg.to_dict()) == cfg


@pytest.mark.parametrize("settings", [
    {"n_fft": 8192, "hop": 1, "bands": 128, "step": 0.5}, {"n_fft": 1024, "hop": 1024, "bands": 32, "step": 0.5},
    {"n_fft": 1024, "hop": 255, "bands": 32, "step": 0.5}, {"n_fft": 1000, "hop": 400, "bands": 32, "step": 0.5},
    {"n_fft": 512, "hop": 256, "bands": 33, "step": 0.5}, {"n_fft": 1024, "hop": 480, "bands": 3, "step": 0.5},
    {"n_fft": 1024, "hop": 480, "bands": 32, "step": 2.5}, {"n_fft": 1024.0, "hop": 480, "bands": 32, "step": 0.5},
    {"n_fft": 1024, "hop": 480, "bands": True, "step": 0.5}, {"n_fft": 1024, "hop": 480, "bands": 32, "step": None},
])
def test_settings_outside_the_limits_are_refused(settings):
    with pytest.raises((ValueError, TypeError)):
        envelope.check_config(settings)


def test_the_extremes_decoders_accept_all_invert_cleanly():
    """hop n_fft / 4 to n_fft / 2 and up to n_fft / 16 bands: the inverse STFT always exists,
    no mel band is empty (torchaudio would warn), and the work stays small for any length."""
    import warnings

    x = np.random.default_rng(5).standard_normal(4801).astype(np.float32) * 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n_fft in envelope.N_FFTS:
            for hop in (n_fft // 4, n_fft // 2 - 1, n_fft // 2):
                cfg = envelope.check_config({"n_fft": n_fft, "hop": hop, "bands": min(128, n_fft // 16), "step": 0.05})
                for length in (1, 319, x.size):
                    out = apply(x[:length], np.ones((cfg.bands, cfg.frames(length)), np.int32), cfg, RATE)
                    assert out.shape == (length,) and np.isfinite(out).all()


def test_a_stream_too_short_for_its_symbols_is_known_before_decoding():
    symbols = np.zeros((32, 501), np.int32)
    data = encode_symbols(symbols)
    assert envelope.shortest_stream(data, symbols.size) <= len(data)
    assert envelope.shortest_stream(data, 10 * symbols.size) > len(data)
    with pytest.raises(FormatError, match="no known table"):
        envelope.shortest_stream(b"\x08" + data[1:], symbols.size)
