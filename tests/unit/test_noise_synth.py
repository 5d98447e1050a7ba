"""The denoiser's training noise: each synthetic kind is what its name says, and draws are exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aecodec.errors import InputError
from aecodec.train.audio_data import RandomSegments
from aecodec.train.noise_synth import KINDS, NoiseBank, random_eq, reverberate, room_impulse

SR = 16000


def tone_clips(seed: int, count: int = 4, seconds: float = 1.0) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return [torch.from_numpy((0.3 * np.sin(2 * np.pi * rng.uniform(100, 300) * t)).astype(np.float16)) for _ in range(count)]


@pytest.fixture
def bank() -> NoiseBank:
    segments = [RandomSegments([tone_clips(seed)], (0.0, 0.0)) for seed in range(3)]
    return NoiseBank(SR, *segments)


def spectrum(x: torch.Tensor) -> np.ndarray:
    return np.abs(np.fft.rfft(x.numpy().astype(np.float64))) ** 2


def flatness(x: torch.Tensor) -> float:
    """Geometric over arithmetic mean of the power spectrum above the lowest bins: white noise
    about 0.56, a few tones near 0."""
    power = spectrum(x)[10:]
    return float(np.exp(np.mean(np.log(power + 1e-12))) / power.mean())


def test_batches_are_unit_power_finite_and_exact(bank):
    a = bank.batch(8, 8000, torch.Generator().manual_seed(3))
    b = bank.batch(8, 8000, torch.Generator().manual_seed(3))
    c = bank.batch(8, 8000, torch.Generator().manual_seed(4))
    assert a.shape == (8, 8000) and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(a.square().mean(1), torch.ones(8), rtol=1e-3)


def test_hum_sits_on_mains_harmonics(bank):
    gen = torch.Generator().manual_seed(0)
    x = bank._hum(SR * 2, gen)
    power = spectrum(x)
    freqs = np.fft.rfftfreq(x.numel(), 1 / SR)
    peak = freqs[np.argmax(power[freqs > 20]) + np.sum(freqs <= 20)]
    nearest = min(abs(peak / base - round(peak / base)) * base for base in (50.0, 60.0))
    assert nearest < 3.0  # within the drawn 2 % drift of a mains harmonic


def test_coloured_noise_slopes_and_clicks_are_impulsive(bank):
    gen = torch.Generator().manual_seed(1)
    slopes = []
    for _ in range(12):
        power = spectrum(bank._coloured(SR, gen))
        slopes.append(np.log10(power[200:1000].mean() / power[4000:7000].mean()))
    assert max(slopes) - min(slopes) > 1.0  # blue to brown: tilts differ by over 10 dB
    clicks = bank._clicks(SR, gen).numpy()
    kurtosis = np.mean(clicks**4) / np.mean(clicks**2) ** 2
    assert kurtosis > 10  # Gaussian noise has 3


def test_babble_sums_several_talkers(bank):
    x = bank._babble(8000, torch.Generator().manual_seed(2))
    peaks = np.sort(spectrum(x)[50:2000])[::-1]
    assert peaks[2] > 0.05 * peaks[0]  # at least three strong tones, not one voice


def strong_tones(x: torch.Tensor) -> int:
    """Spectral peaks (local maxima) within 10 dB of the strongest, below 400 Hz."""
    power = spectrum(x)[: 400 * x.numel() // SR]
    local = (power[1:-1] > power[:-2]) & (power[1:-1] >= power[2:]) & (power[1:-1] > 0.1 * power.max())
    return int(local.sum())


def test_a_recipe_sets_how_many_talkers_babble_has_and_how_far_apart_in_level():
    rng = np.random.default_rng(5)
    t = np.arange(SR) / SR  # 24 talkers, each one steady tone 5 Hz or more from the others
    freqs = rng.permutation(np.arange(100, 340, 10))
    voices = [torch.from_numpy((0.3 * np.sin(2 * np.pi * f * t)).astype(np.float16)) for f in freqs]
    segments = [RandomSegments([voices], (0.0, 0.0))] * 2
    gen = torch.Generator().manual_seed(0)
    crowd = NoiseBank(SR, *segments, talkers=(16, 16), talker_spread_db=0.0)
    few = NoiseBank(SR, *segments, talkers=(2, 2), talker_spread_db=0.0)
    counts = [strong_tones(crowd._babble(SR, gen)) for _ in range(4)], [strong_tones(few._babble(SR, gen)) for _ in range(4)]
    assert min(counts[0]) >= 8 and max(counts[1]) <= 2
    with pytest.raises(InputError, match="babble_talkers"):
        NoiseBank(SR, *segments, talkers=(1, 4))
    with pytest.raises(InputError, match="babble_spread_db"):
        NoiseBank(SR, *segments, talker_spread_db=-1)


def test_every_kind_can_be_drawn(bank):
    assert bank.kinds == [k for k in KINDS if k not in ("tones", "chorus", "whine", "patterns")]  # only when asked
    segments = [RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2
    every = NoiseBank(SR, *segments, segments[0], (1,) * len(KINDS))
    assert every.kinds == list(KINDS) and torch.isfinite(every.batch(16, 4000, torch.Generator())).all()
    with pytest.raises(InputError, match="noise_kinds"):  # music only, but no music: refused, not silence
        NoiseBank(SR, *segments, None, (0, 0, 0, 0, 0, 1))
    with pytest.raises(InputError, match="noise_kinds"):
        NoiseBank(SR, *segments, None, (1, -1, 0, 0, 0, 0))


def test_tones_are_tonal_events():
    bank = NoiseBank(SR, *[RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2)
    gen = torch.Generator().manual_seed(6)
    flat, swings = [], []
    for _ in range(8):
        x = bank._tones(2 * SR, gen)
        flat.append(flatness(x))
        frames = x[: 2 * SR // 400 * 400].reshape(-1, 400).square().mean(1)
        swings.append(float(frames.max() / frames.median().clamp_min(1e-12)))
    assert np.median(flat) < 0.05  # white noise: about 0.56; energy sits on a few lines
    assert np.median(swings) > 10  # events come and go: not a steady tone


def test_a_chorus_is_tonal_and_lasts_the_whole_segment():
    bank = NoiseBank(SR, *[RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2)
    gen = torch.Generator().manual_seed(6)
    flat, covered = [], []
    for _ in range(8):
        x = bank._chorus(2 * SR, gen)
        flat.append(flatness(x))
        quarters = x.reshape(-1, SR // 4).square().mean(1)
        covered.append(float((quarters > 0.01 * quarters.max()).float().mean()))
    assert np.median(flat) < 0.05  # callers sit on their pitches
    assert min(covered) == 1.0  # unlike tonal events, no quarter second is without callers


def test_whine_is_steady_and_tonal_at_any_pitch():
    bank = NoiseBank(SR, *[RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2)
    gen = torch.Generator().manual_seed(6)
    flat, covered, peaks = [], [], []
    for _ in range(16):
        x = bank._whine(2 * SR, gen)
        flat.append(flatness(x))
        quarters = x.reshape(-1, SR // 4).square().mean(1)
        covered.append(float(quarters.min() / quarters.max()))
        peaks.append(np.argmax(spectrum(x)) * SR / x.numel())
    assert np.median(flat) < 0.05  # energy on a few lines
    assert min(covered) > 0.05  # no quarter second without the tones: steady, not events
    assert min(peaks) < 800 and max(peaks) > 1500  # low pitches too, where the chorus never goes


def test_patterns_are_bands_of_noise_that_come_and_go_anywhere_in_the_spectrum():
    bank = NoiseBank(SR, *[RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2)
    gen = torch.Generator().manual_seed(6)
    flat, swings, centroids = [], [], []
    freqs = np.fft.rfftfreq(2 * SR, 1 / SR)
    for _ in range(16):
        x = bank._patterns(2 * SR, gen)
        assert x.shape == (2 * SR,) and torch.isfinite(x).all()
        flat.append(flatness(x))
        frames = x.reshape(-1, 400).square().mean(1)
        swings.append(float(frames.max() / frames.median().clamp_min(1e-12)))
        power = spectrum(x)
        centroids.append(float((power * freqs).sum() / power.sum()))
    assert 0.1 < np.median(flat) < 0.5  # bands of noise: neither a few lines (tones) nor white (0.56)
    assert np.median(swings) > 10  # events, not a steady bed
    assert min(centroids) < 1000 and max(centroids) > 4000  # low and high, where no one kind reaches both


def test_patterns_start_where_the_recipe_says():
    segments = [RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2
    low, high = NoiseBank(SR, *segments), NoiseBank(SR, *segments, patterns_from_hz=1000.0)
    freqs = np.fft.rfftfreq(2 * SR, 1 / SR)

    def lowest_centroid(bank: NoiseBank) -> float:
        gen = torch.Generator().manual_seed(2)
        return min(float((spectrum(x) * freqs).sum() / spectrum(x).sum()) for x in (bank._patterns(2 * SR, gen) for _ in range(16)))

    assert lowest_centroid(high) > 1.5 * lowest_centroid(low)
    for bad in (10.0, 0.5 * SR, "low"):
        with pytest.raises(InputError, match="patterns_from_hz"):
            NoiseBank(SR, *segments, patterns_from_hz=bad)


def test_patterns_repeat_and_width_follow_the_recipe():
    segments = [RandomSegments([tone_clips(0)], (0.0, 0.0))] * 2
    narrow = NoiseBank(SR, *segments, patterns_octaves=(0.03, 0.05))
    wide = NoiseBank(SR, *segments, patterns_octaves=(1.5, 2.0))

    def median_flatness(bank: NoiseBank) -> float:
        gen = torch.Generator().manual_seed(3)
        return float(np.median([flatness(bank._patterns(2 * SR, gen)) for _ in range(12)]))

    assert median_flatness(wide) > 2 * median_flatness(narrow)  # wide bands are nearer white noise

    def events(bank: NoiseBank) -> float:
        """Mean number of separate bursts of energy in a 2 s row (frames above a tenth of the peak)."""
        gen, counts = torch.Generator().manual_seed(4), []
        for _ in range(12):
            loud = (bank._patterns(2 * SR, gen).reshape(-1, 160).square().mean(1)).numpy()
            on = loud > 0.1 * loud.max()
            counts.append(int(on[0]) + int(np.sum(on[1:] & ~on[:-1])))
        return float(np.mean(counts))

    assert events(NoiseBank(SR, *segments, patterns_repeat=1.0)) > 1.5 * events(NoiseBank(SR, *segments, patterns_repeat=0.0))
    for repeat, octaves in ((1.5, (0.03, 2.0)), (0.5, (2.0, 1.0)), (0.5, (0.001, 1.0)), ("often", (0.03, 2.0)), (0.5, 3)):
        with pytest.raises(InputError, match="patterns_repeat"):
            NoiseBank(SR, *segments, patterns_repeat=repeat, patterns_octaves=octaves)


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_noise_speed_plays_recordings_faster_or_slower(factor):
    t = np.arange(3 * SR) / SR
    recording = RandomSegments([[torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32))]], (0.0, 0.0))
    bank = NoiseBank(SR, recording, recording, None, (1, 0, 0, 0, 0, 0), speed=(factor, factor))
    x = bank._recorded(SR, torch.Generator().manual_seed(0))
    assert x.shape == (SR,)
    assert abs(np.argmax(spectrum(x)) * SR / x.numel() - 1000 * factor) < 5


def test_recipes_from_before_a_kind_existed_draw_exactly_as_before():
    segments = [RandomSegments([tone_clips(seed)], (0.0, 0.0)) for seed in range(3)]
    six, eight = NoiseBank(SR, *segments, (1, 1, 1, 1, 1, 1)), NoiseBank(SR, *segments, (1, 1, 1, 1, 1, 1, 0, 0))
    assert torch.equal(six.batch(8, 4000, torch.Generator().manual_seed(1)),
                       eight.batch(8, 4000, torch.Generator().manual_seed(1)))
    with pytest.raises(InputError, match="kinds"):
        NoiseBank(SR, *segments, (1,) * (len(KINDS) + 1))
    with pytest.raises(InputError, match="noise_speed"):
        NoiseBank(SR, *segments, speed=(2.0, 1.0))


def test_room_and_eq_keep_length_and_stay_finite():
    gen = torch.Generator().manual_seed(5)
    rir = room_impulse(SR, gen)
    assert rir[0] == 1.0 and 0.15 * SR <= rir.numel() <= 0.9 * SR
    x = torch.randn(4000, generator=gen)
    wet = reverberate(x, rir)
    assert wet.shape == x.shape and torch.isfinite(wet).all()
    assert torch.allclose(reverberate(x, torch.tensor([1.0])), x, atol=1e-5)
    eq = random_eq(x, SR, gen)
    assert eq.shape == x.shape and 0.1 < float(eq.std() / x.std()) < 10


def test_a_recipe_holds_noise_kinds_out_by_pattern_and_typos_are_errors(tmp_path):
    from aecodec.train.restore import held_in

    for name in ("0ad/amb__water__river.ogg", "0ad/amb__weather__rain.ogg", "gcompris/harbor1.flac"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    kept = held_in(files, tmp_path, ["0ad/*__water__*", "gcompris/harbor*"])
    assert [p.relative_to(tmp_path).as_posix() for p in kept] == ["0ad/amb__weather__rain.ogg"]
    assert held_in(files, tmp_path, []) == files
    with pytest.raises(InputError, match="'0ad/\\*__wtaer__\\*' matches no file"):
        held_in(files, tmp_path, ["0ad/*__wtaer__*"])
    with pytest.raises(InputError, match="leaves no noise recording"):
        held_in(files, tmp_path, ["*"])
