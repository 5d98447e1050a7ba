"""PESQ-WB, STOI, log-spectral distance and ViSQOL (aecodec.metrics.audio) on the bundled speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.signal import stft

from aecodec.metrics.audio import lsd, pesq_wb, stoi, visqol

SPEECH = Path(__file__).resolve().parents[1] / "data" / "audio" / "librivox_speech.flac"  # 4 s, 24 kHz


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(SPEECH, dtype="float32")
    return samples[: 3 * rate], rate


@pytest.fixture
def speech_metrics() -> None:
    """PESQ and STOI come with the bench extra (requirements.txt has them)."""
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")


def noisy(samples: np.ndarray, level: float) -> np.ndarray:
    return (samples + level * np.random.default_rng(0).standard_normal(samples.shape)).astype(np.float32)


def band(samples: np.ndarray, rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    """White noise with nothing outside low_hz..high_hz: its other FFT bins zeroed."""
    spectrum = np.fft.rfft(np.random.default_rng(1).standard_normal(samples.shape[0]))
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    return np.fft.irfft(spectrum, samples.shape[0]).astype(np.float32)


def test_identical_signals_score_perfectly(speech: tuple[np.ndarray, int], speech_metrics: None) -> None:
    x, rate = speech
    assert lsd(x, x, rate) == 0.0 and lsd(x, x, rate, max_hz=4000) == 0.0
    assert pesq_wb(x, x, rate) > 4.5  # P.862.2's ceiling is 4.64
    assert stoi(x, x, rate) == pytest.approx(1.0, abs=1e-6)


def test_added_noise_lowers_every_score(speech: tuple[np.ndarray, int], speech_metrics: None) -> None:
    x, rate = speech
    slight, strong = noisy(x, 0.003), noisy(x, 0.05)
    assert pesq_wb(x, x, rate) > pesq_wb(x, slight, rate) > pesq_wb(x, strong, rate)
    assert stoi(x, x, rate) > stoi(x, slight, rate) > stoi(x, strong, rate)
    assert 0.0 < lsd(x, slight, rate) < lsd(x, strong, rate)
    assert 0.0 < lsd(x, slight, rate, max_hz=4000) < lsd(x, strong, rate, max_hz=4000)


def test_lsd_below_4khz_ignores_a_change_above_it(speech: tuple[np.ndarray, int]) -> None:
    x, rate = speech
    hiss = x + 0.05 * band(x, rate, 5000.0, rate / 2)
    assert lsd(x, hiss, rate, max_hz=4000) < 0.05  # window leakage and float32 rounding only
    assert lsd(x, hiss, rate) > 1.0
    rumble = x + 0.05 * band(x, rate, 0.0, 3000.0)
    assert lsd(x, rumble, rate, max_hz=4000) > 1.0


def test_lsd_is_the_prototype_definition(speech: tuple[np.ndarray, int]) -> None:
    """The formula bench/prototypes/audio_mdct/evalh.py measured (lsd4k), written out again."""
    x, rate = speech
    y = noisy(x, 0.01)
    spectra = [np.abs(stft(s.astype(np.float64), 24000, nperseg=1024, noverlap=768)[2][:171]) ** 2 for s in (x, y)]
    floor = 1e-8 * spectra[0].max()
    ref, est = (10 * np.log10(np.maximum(p, floor)) for p in spectra)
    expected = float(np.mean(np.sqrt(np.mean((ref - est) ** 2, axis=0))))
    assert lsd(x, y, rate, max_hz=4000) == pytest.approx(expected, rel=1e-5)


def test_channels_are_averaged_and_other_rates_resampled(speech: tuple[np.ndarray, int], speech_metrics: None) -> None:
    x, rate = speech
    y = noisy(x, 0.01)
    stereo = np.stack([x, x], axis=1), np.stack([y, y], axis=1)
    assert lsd(*stereo, rate) == pytest.approx(lsd(x, y, rate), rel=1e-6)
    assert stoi(*stereo, rate) == pytest.approx(stoi(x, y, rate), rel=1e-6)
    assert pesq_wb(*stereo, rate) == pytest.approx(pesq_wb(x, y, rate), rel=1e-6)
    assert lsd(x[::2], x[::2], rate // 2) == 0.0  # 12 kHz in: resampled to 24 kHz


def test_what_cannot_be_scored(speech: tuple[np.ndarray, int], speech_metrics: None) -> None:
    x, rate = speech
    silence = np.zeros_like(x)
    assert pesq_wb(silence, silence, rate) is None and pesq_wb(silence, x, rate) is None
    assert lsd(silence, silence, rate) == 0.0
    with pytest.raises(ValueError, match="one shape"):
        lsd(x, x[:-1], rate)
    with pytest.raises(ValueError, match="1024 frames"):
        lsd(x[:1000], x[:1000], rate)


def test_visqol_audio_mode(speech: tuple[np.ndarray, int]) -> None:
    pytest.importorskip("visqol")
    x, rate = speech
    x = x[: 2 * rate]  # ViSQOL takes ~0.6 s per second of audio
    perfect = visqol(x, x, rate)
    assert perfect > 4.5 and visqol(x, noisy(x, 0.05), rate) < perfect - 1.0
    silence = np.zeros_like(x)
    assert visqol(silence, silence, rate) is None and visqol(x[: rate // 2], x[: rate // 2], rate) is None
