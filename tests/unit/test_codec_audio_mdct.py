"""The MDCT audio codec (the default audio codec) through its public interface, with each shipped
model (audio-mdct, audio-mdct-music): the transform, the bitstream (the decoder reads exactly what the encoder
meant), rate control, any rate and channel count, exact length, no frame-rate comb, and hostile
files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aecodec import codecs, container
from aecodec.codecs import mdct_coding as coding
from aecodec.codecs.mdct_adaptive import COEF_RANGE
from aecodec.codecs.audio_mdct import MdctAudioCodec, _Analysis
from aecodec.codecs.audio_io import first_pass, open_source
from aecodec.errors import FormatError
from aecodec.media.audio import read_audio
from aecodec.media.mdct import Analyser, Synthesiser, frame_count
from aecodec.media.types import Audio

SPEECH = Path(__file__).parents[1] / "data" / "audio" / "librivox_speech.flac"
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module", params=["audio-mdct", "audio-mdct-music"])
def codec(request):
    """Each shipped model of the codec: the default, and the music model (40 ms frames, a
    companded quantiser)."""
    return MdctAudioCodec(request.param)


@pytest.fixture(scope="module")
def speech() -> Audio:
    return read_audio(SPEECH)


def snr(x: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)))


def spectrum_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of the middle second (1 Hz bins) in dB."""
    seg = x[len(x) // 2 - rate // 2 : len(x) // 2 + rate // 2]
    p = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    return np.fft.rfftfreq(len(seg), 1 / rate), 10 * np.log10(p + 1e-20)


@pytest.mark.parametrize("samples", [1, 479, 480, 481, 5000])
@pytest.mark.parametrize("block", [1, 333, 4096])
def test_the_mdct_reconstructs_exactly_in_any_blocks(samples, block):
    x = RNG.standard_normal(samples).astype(np.float32)
    analyser = Analyser(480)
    frames = [analyser.push(x[i : i + block]) for i in range(0, samples, block)] + [analyser.finish()]
    frames = np.concatenate(frames)
    assert frames.shape == (frame_count(samples, 480), 480)
    synth = Synthesiser(480, samples)
    y = np.concatenate([synth.push(frames[i : i + 3]) for i in range(0, len(frames), 3)])
    assert y.shape == x.shape and np.abs(y - x).max() < 1e-5


def test_the_decoder_reads_exactly_the_symbols_the_encoder_quantised(codec, speech):
    card, model = codec.loaded()
    source = open_source(speech)
    analysis = _Analysis(card, model, source, *first_pass(source), None)
    for step80, low_rate in ((-450, False), (-148, False), (-50, True), (-47, True)):  # fine steps too
        data = analysis.file(step80, low_rate, 50.0)
        settings = analysis.settings(step80, low_rate)[0]
        assert settings.step80 == step80
        read = codec.symbols(data)
        for k, chunk in enumerate(analysis.chunks()):
            meant = coding.quantise(chunk[0], model.bands, settings)
            assert np.array_equal(read["levels"][k][0], meant.envelope)
            assert np.array_equal(read["coefficients"][k][0], meant.coefficients)


@pytest.mark.parametrize("rate, channels, seconds", [(24000, 1, 1.3), (44100, 2, 0.7), (16000, 3, 0.5), (8000, 1, 0.01)])
def test_any_rate_and_channel_count_keeps_its_exact_length(codec, rate, channels, seconds):
    frames = int(rate * seconds) + 7
    t = np.arange(frames) / rate
    x = np.stack([0.3 * np.sin(2 * np.pi * (300 + 200 * c) * t) for c in range(channels)], axis=1).astype(np.float32)
    data = codec.encode(Audio(x, rate), 80)
    header = container.unpack(data).header
    assert header["channel_coding"] == ("mono" if channels == 1 else "mid-side" if channels == 2 else "independent")
    y = codec.decode(data)
    assert y.samples.shape == x.shape and y.sample_rate == rate
    if seconds > 0.1:
        assert snr(x[rate // 10 : -rate // 10], y.samples[rate // 10 : -rate // 10]) > 15


def test_quality_and_rate_rise_together(codec, speech):
    x = speech.samples[:, 0]
    rates, snrs = [], []
    for q in (5, 30, 60, 90):
        data = codec.encode(speech, q)
        rates.append(len(data))
        snrs.append(snr(x, codec.decode(data).samples[:, 0]))
    assert np.all(np.diff(rates) > 0) and np.all(np.diff(snrs) > 0), (rates, snrs)
    assert snrs[-1] > 25


@pytest.mark.parametrize("kbps", [1.5, 3, 6, 12, 24])
def test_kbps_targets_hold_and_are_used(codec, speech, kbps):
    from aecodec.codecs.audio_mdct import FINE, LOW_RATE_BELOW_KBPS, quality_for

    seconds = speech.frames / speech.sample_rate
    result = codec.encode_to_kbps(speech, kbps)
    real = len(result.data) * 8 / seconds / 1000
    assert 0.85 * kbps < real <= kbps
    # used: the next finer step, 1/80 of an octave, would not have fit
    keys = container.unpack(result.data).header["mdct"]["channels"][0]
    step80 = keys["fine_step"] if "fine_step" in keys else 5 * keys["step"]
    finer = codec._analysis(speech, None).file(step80 - 1, kbps < LOW_RATE_BELOW_KBPS, quality_for((step80 - 1) / FINE))
    assert len(finer) * 8 / seconds / 1000 > kbps
    assert codec.decode(result.data).samples.shape == speech.samples.shape


def test_a_kbps_target_out_of_reach_gives_the_quality_1_file(codec, speech, caplog):
    result = MdctAudioCodec(quality_unit="kbps").encode(speech, 0.01)
    assert container.unpack(result).header["quality"] == 1
    assert "out of reach" in caplog.text


@pytest.mark.parametrize("kind", ["harmonic", "chirp"])
def test_decoded_tones_carry_no_lines_the_input_lacks(codec, kind):
    rate = 24000
    t = np.arange(3 * rate) / rate
    if kind == "harmonic":  # 220 Hz and its harmonics up to 4 kHz
        x = sum(0.05 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 19))
    else:  # 200 Hz to 4 kHz over 3 s
        x = 0.3 * np.sin(2 * np.pi * (200 * t + (3800 / 6) * t**2))
    audio = Audio(x.astype(np.float32)[:, None], rate)
    y = codec.decode(codec.encode_to_kbps(audio, 12).data).samples[:, 0]
    f, py = spectrum_db(y, rate)
    _, px = spectrum_db(x, rate)
    # the frame rate is 50 Hz (24000 / 480): a comb would put lines at its multiples; where the
    # input is weak (30 Hz or more from a partial), they must not stand out of their surroundings
    comb = [b for b in range(100, 4000, 50) if kind == "chirp" or min(abs(b - 220 * k) for k in range(1, 19)) >= 30]
    if kind == "chirp":  # the middle second sweeps 1467..2733 Hz: look below and above it
        comb = [b for b in comb if b < 1300 or b > 2900]
    line = np.array([py[b] for b in comb])
    around = np.array([np.mean(np.r_[py[b - 15 : b - 9], py[b + 10 : b + 16]]) for b in comb])
    assert np.mean(line - around) < 3.0
    strong = px > px.max() - 20  # and every strong partial is kept within 3 dB
    assert np.abs(py[strong] - px[strong]).mean() < 3.0


def test_long_files_keep_bounded_memory_and_the_same_bytes(codec, monkeypatch):
    """Past KEEP_COEFFICIENTS the encoder keeps every n-th chunk to estimate from and reads the
    source again to code: at a quality the file is byte for byte the in-memory one, and a
    --kbps target still holds."""
    from aecodec.codecs import audio_mdct

    rate = 24000
    t = np.arange(int(25.3 * rate)) / rate  # three chunks of 10 s
    x = (0.2 * np.sin(2 * np.pi * (220 + 30 * np.sin(t)) * t) + 0.01 * RNG.standard_normal(t.size)).astype(np.float32)
    audio = Audio(x[:, None], rate)
    whole = codec.encode(audio, 60)
    monkeypatch.setattr(audio_mdct, "KEEP_COEFFICIENTS", 480 * 500)  # one chunk
    assert codec.encode(audio, 60) == whole
    result = codec.encode_to_kbps(audio, 8)
    assert len(result.data) * 8 / 25.3 / 1000 <= 8
    assert codec.decode(result.data).samples.shape == (t.size, 1)


def test_decoding_is_repeatable(codec, speech):
    data = codec.encode(speech, 40)
    a, b = codec.decode(data).samples, codec.decode(data).samples
    assert np.array_equal(a, b)


@pytest.mark.parametrize("law", [{}, {"weight": 14, "compander": 65, "recon": 5, "floor_shift": -139}])
def test_the_decoder_rebuilds_each_coefficient_inside_the_interval_the_encoder_rounded_from(law):
    from dataclasses import replace

    from aecodec.models.audio.mdct_model import default_bands

    bands = default_bands(24000, 960)
    s = replace(coding.Settings(-40), **law)
    x = RNG.laplace(0, 0.02, (40, 960)) * np.exp(RNG.normal(0, 1, (40, 1)))
    symbols = coding.quantise(x, bands, s)
    y = coding.coefficients(symbols, bands, s, seed=0)
    q = np.abs(symbols.coefficients)
    coded = q > 0
    assert coded.sum() > 1000
    c = s.compander / 100
    step = bands.per_bin(coding.steps(symbols.envelope, bands, s))[coded]
    low, high = np.maximum(q[coded] - s.rounding, 0) ** (1 / c) * step, (q[coded] + 1 - s.rounding) ** (1 / c) * step
    assert np.all(np.sign(y[coded]) == np.sign(x[coded]))
    assert np.all((low <= np.abs(x[coded]) + 1e-9) & (np.abs(x[coded]) < high + 1e-9))  # the encoder's rounding
    assert np.all((low <= np.abs(y[coded]) + 1e-6) & (np.abs(y[coded]) < high))  # the decoder's level, same cell
    if c < 1:  # companded: level gaps grow with the level, so small coefficients get finer steps
        levels = np.array([(k - s.recon / 100) ** (1 / c) for k in (1, 2, 3, 4)])
        assert np.all(np.diff(np.diff(levels)) > 0)


def test_noise_fill_is_integer_hashed():
    n = coding.noise((50, 480), seed=3)
    assert np.array_equal(n, coding.noise((50, 480), seed=3)) and not np.array_equal(n, coding.noise((50, 480), 4))
    assert 0.5 <= np.abs(n).min() and np.abs(n).max() < 1 and abs(np.mean(n > 0) - 0.5) < 0.02


def test_the_default_audio_codec_chooses_an_mdct_model_and_old_files_pick_their_own():
    from aecodec.codecs.audio_choice import ChoosingAudioCodec

    chooser = codecs.audio_codec()
    assert isinstance(chooser, ChoosingAudioCodec)
    assert (chooser.default.model_name, chooser.music.model_name) == ("audio-mdct", "audio-mdct-music")
    assert isinstance(codecs.audio_codec("audio-mdct"), MdctAudioCodec)
    from aecodec.codecs.audio import LearnedAudioCodec

    assert isinstance(codecs.audio_codec("audio-conv-lstm"), LearnedAudioCodec)


# --- hostile files ---------------------------------------------------------------------------
def repacked(data: bytes, change=None, streams=None) -> bytes:
    parsed = container.unpack(data)
    header = {k: v for k, v in parsed.header.items() if k != "streams"}
    if change:
        change(header)
    return container.pack(header, parsed.streams if streams is None else streams)


@pytest.mark.parametrize("key, value", [("step", 10**6), ("env_step", 5), ("env_every", 0), ("noise_gain", -1),
                                        ("step", 1.5), ("env_step", "2"),
                                        ("fine_step", -148), ("fine_step", 10**6)])  # both keys; out of range
def test_settings_the_encoder_never_writes_are_refused(codec, speech, key, value):
    data = codec.encode(speech, 30)

    def change(h):
        h["mdct"]["channels"][0][key] = value

    with pytest.raises(FormatError, match="audio header is invalid"):
        codec.decode(repacked(data, change))


def test_a_fine_step_decodes_as_its_whole_step_would_and_needs_its_key(codec, speech):
    """fine_step -150 is step -30: the same file. A file with neither key is refused, which is
    how readers from before fine_step refuse the files that carry it."""
    data = codec.encode(speech, 50)

    def fine(h):
        h["mdct"]["channels"][0]["fine_step"] = 5 * h["mdct"]["channels"][0].pop("step")

    def neither(h):
        del h["mdct"]["channels"][0]["step"]

    assert np.array_equal(codec.decode(repacked(data, fine)).samples, codec.decode(data).samples)
    with pytest.raises(FormatError, match="audio header is invalid"):
        codec.decode(repacked(data, neither))


def test_a_file_claiming_more_audio_than_its_streams_hold_is_refused(codec, speech):
    data = codec.encode(speech, 30)

    def longer(h):
        h["frames"] = h["frames"] * 1000

    with pytest.raises(FormatError, match="streams"):
        codec.decode(repacked(data, longer))
    with pytest.raises(FormatError, match="need at least|shorter than any"):
        codec.decode(repacked(data, streams=[s[:9] for s in container.unpack(data).streams]))


def test_damaged_streams_fail_cleanly(codec, speech):
    data = codec.encode(speech, 60)
    stream = bytearray(container.unpack(data).streams[0])
    for i in range(12):
        damaged = bytearray(stream)
        pos = RNG.integers(len(damaged))
        damaged[pos] ^= 1 << int(RNG.integers(8))
        try:
            y = codec.decode(repacked(data, streams=[bytes(damaged)]))
        except FormatError:
            continue
        assert y.samples.shape == speech.samples.shape and np.isfinite(y.samples).all()
        assert np.abs(y.samples).max() <= 1


def test_adapted_tables_are_valid_integer_cdfs_that_learn_what_they_count():
    trained = MdctAudioCodec("audio-mdct-music").loaded()[1].coef_tables
    n = coding.COEF_SYMBOLS
    counts = np.zeros((trained.size, n), np.int64)
    same = coding.adapted_tables(trained, counts, 32)
    # no counts: the trained tables, up to the rounding of a rebuild
    assert np.abs(same.cdf[:, : n + 1].astype(np.int64) - trained.cdf[:, : n + 1]).max() <= 2 * n
    table, symbol = 40, COEF_RANGE + 3  # q = 3 under table 40, many times
    coding.count_coefficients(counts, np.full(500, table), np.full(500, 3))
    coding.count_coefficients(counts, np.full(7, table), np.full(7, 99))  # escaped
    learned = coding.adapted_tables(trained, counts, 32)
    for t in (same, learned):
        assert t.cdf.dtype == np.int32 and np.all(t.cdf[:, 0] == 0) and np.all(t.cdf[:, n] == 1 << 16)
        assert np.all(np.diff(t.cdf[:, : n + 1].astype(np.int64), axis=1) >= 1)  # every symbol codable
    freq = np.diff(learned.cdf[table, : n + 1].astype(np.int64))
    before = np.diff(trained.cdf[table, : n + 1].astype(np.int64))
    mirror = 2 * COEF_RANGE - symbol
    assert freq[symbol] > 4 * before[symbol] and abs(freq[symbol] - freq[mirror]) < 0.01 * freq[symbol]  # q and -q
    assert freq[-1] > before[-1]  # the escape learned too
    others = np.arange(trained.size) != table
    assert np.array_equal(learned.cdf[others], same.cdf[others])  # a table learns only from its own symbols


def test_adaptive_tables_shrink_a_file_and_decode_to_the_same_symbols(speech):
    """The same model with static and with adaptive coefficient tables: the same symbols, fewer bytes,
    and the rate estimate that --kbps searches on stays within 3 % of the real file."""
    codec = MdctAudioCodec("audio-mdct-music")
    card, model = codec.loaded()
    source = open_source(speech)
    analysis = _Analysis(card, model, source, *first_pass(source), None)
    sizes, symbols, shipped = {}, {}, model.adaptation
    for adapt in (None, coding.Adaptation(8, 32), coding.Adaptation(1, 4)):
        model.adaptation = adapt
        try:
            data = analysis.file(-100, False, 50.0)
            sizes[adapt], symbols[adapt] = len(data), codec.symbols(data)
            estimate = analysis.estimated_bits(-100, False) / 8
            assert 0.97 < estimate / (len(data) - analysis.overhead_bytes(-100, False)) < 1.03
        finally:
            model.adaptation = shipped
    plain, *adaptive = sizes.values()
    assert all(size < plain for size in adaptive), sizes
    for read in list(symbols.values())[1:]:
        for key in ("levels", "coefficients"):
            assert all(np.array_equal(a, b) for a, b in zip(read[key], symbols[None][key]))


def test_an_odd_bin_s_table_knows_its_even_neighbours_and_nothing_else():
    q = np.array([0, 9, 1, -9, -1, 9, 3, 9, 0, 9, 5, 9])  # the odd bins' own values must not matter
    base = np.arange(6)
    got = coding.odd_tables(base, q)
    around = np.array([0 + 1, 1 + 1, 1 + 3, 3 + 0, 0 + 5, 5])  # |q[k-1]| + |q[k+1]|; the last bin has no k+1
    assert np.array_equal(got, coding.COEF_CONTEXTS + base * coding.NEIGHBOUR_CLASSES + np.array([1, 2, 3, 2, 3, 3]))
    assert np.array_equal(np.digitize(around, coding.NEIGHBOUR_EDGES), [1, 2, 3, 2, 3, 3])
    assert np.array_equal(coding.odd_tables(np.stack([base, base]), np.stack([q, q * 0])),
                          np.stack([got, coding.COEF_CONTEXTS + base * coding.NEIGHBOUR_CLASSES]))
    assert got.max() < coding.coefficient_tables(True)


def test_a_stream_coded_in_pieces_is_the_stream_coded_at_once():
    """The MDCT encoder codes each block of frames with its own tables (entropy.tables.encode_pieces):
    the bytes must be those of one call with every table stacked, short streams padded alike."""
    from aecodec.entropy.tables import decode, encode, encode_pieces, geometric_tables

    a = geometric_tables((60, 200), 8)
    b = coding.stacked([coding.table_rows(a, 0, 1), coding.table_rows(geometric_tables((120, 240), 8), 1, 2)])
    # every piece's table 0 is the same (the MDCT stream's: the first envelope table), as padding uses it
    rng = np.random.default_rng(5)
    for n in (1, 3, 200):
        sym, idx = rng.integers(-9, 10, n), rng.integers(0, 2, n)
        cut = n // 2
        pieces = [(sym[:cut], idx[:cut], a), (sym[cut:], idx[cut:], b)]
        whole = encode(sym, idx + np.r_[np.zeros(cut, int), np.full(n - cut, 2)], coding.stacked([a, b]))
        assert encode_pieces(pieces) == whole
        assert np.array_equal(decode(whole, idx + np.r_[np.zeros(cut, int), np.full(n - cut, 2)],
                                     coding.stacked([a, b])), sym)
