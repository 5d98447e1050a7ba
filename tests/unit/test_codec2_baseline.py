"""The codec2 baseline (aecodec.codecs.audio_baselines.Codec2): length, rate, channels, alignment, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from aecodec.codecs.audio_baselines import _CODEC2_DELAY, _CODEC2_HEADER, Codec2
from aecodec.errors import FormatError, InputError
from aecodec.media.types import Audio, Image

pycodec2 = pytest.importorskip("pycodec2")

SPEECH = Path(__file__).resolve().parents[1] / "data" / "audio" / "librivox_speech.flac"  # 4 s, 24 kHz
MODES = {0.7: (700, 320, 28), 1.3: (1300, 320, 52), 3.2: (3200, 160, 64)}  # kbps: bit/s, samples, bits a frame


@pytest.fixture(scope="module")
def speech() -> Audio:
    samples, rate = soundfile.read(SPEECH, dtype="float32", always_2d=True)
    return Audio(samples[: 2 * rate], rate)


@pytest.mark.parametrize("kbps", sorted(MODES))
def test_round_trip_keeps_rate_length_and_channels(speech: Audio, kbps: float) -> None:
    codec = Codec2()
    for audio in (speech, Audio(np.repeat(speech.samples[:12345], 2, axis=1), 44100),
                  Audio(speech.samples[:7777], 16000)):
        decoded = codec.decode(codec.encode(audio, kbps))
        assert decoded.samples.shape == audio.samples.shape and decoded.sample_rate == audio.sample_rate
        assert decoded.samples.dtype == np.float32


@pytest.mark.parametrize("kbps", sorted(MODES))
def test_the_rate_is_the_modes(speech: Audio, kbps: float) -> None:
    bps, frame_samples, frame_bits = MODES[kbps]
    codec = pycodec2.Codec2(bps)
    assert (codec.samples_per_frame(), codec.bits_per_frame()) == (frame_samples, frame_bits)
    data = Codec2().encode(speech, kbps)
    seconds = speech.frames / speech.sample_rate
    coded = math.ceil((seconds * 8000 + _CODEC2_DELAY[bps]) / frame_samples)  # frames, the delay's included
    assert len(data) == _CODEC2_HEADER.size + math.ceil(coded * frame_bits / 8)  # bits back to back
    payload_bps = (len(data) - _CODEC2_HEADER.size) * 8 / seconds
    assert bps <= payload_bps <= bps * (1 + (_CODEC2_DELAY[bps] + frame_samples) / 8000 / seconds) + 8 / seconds


def test_decodes_are_time_aligned_speech(speech: Audio) -> None:
    from aecodec.metrics.audio import lsd

    codec, x = Codec2(), speech.samples[:, 0]
    decoded = codec.decode(codec.encode(speech, 3.2)).samples[:, 0]
    step = speech.sample_rate // 400  # 2.5 ms
    shifted = {lag: lsd(x[step * 8 : -step * 8], decoded[step * 8 + lag : decoded.shape[0] - step * 8 + lag],
                        speech.sample_rate, max_hz=4000) for lag in range(-8 * step, 9 * step, step)}
    assert abs(min(shifted, key=shifted.get)) <= 2 * step  # the delay is taken out, to within 5 ms


def test_bad_input_and_damaged_data() -> None:
    codec = Codec2()
    audio = Audio(np.zeros((8000, 1), np.float32), 8000)
    with pytest.raises(InputError, match="no 2.0 kbps mode; use one of 0.7, 1.3, 3.2"):
        codec.encode(audio, 2.0)
    with pytest.raises(InputError, match="not images"):
        codec.encode(Image(np.zeros((4, 4, 3), np.uint8)), 1.3)
    data = codec.encode(audio, 1.3)
    with pytest.raises(FormatError, match="shorter than its header"):
        codec.decode(data[:5])
    with pytest.raises(FormatError, match="is the file complete"):
        codec.decode(data[:-1])
    with pytest.raises(FormatError, match="header is damaged"):
        codec.decode(b"\x00\x00" + data[2:])  # mode 0
