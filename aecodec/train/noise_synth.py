"""Varied noise for training the speech denoiser, so it holds on noise it has never heard.

A few dozen recordings teach a denoiser those recordings. Every batch row here draws one or two
noise *kinds* — recorded noise (optionally played 0.5-2x faster or slower), babble of 3-8 talkers
from the speech corpus, mains hum with its harmonics, coloured noise (blue to brown) with a
slowly moving level, clicks and crackle, music beds, tonal events (beeps, chirps, warbles
and trills: alarms, phones, squeaks, animals), choruses (insects, frogs: many callers pulsing
on their own pitches for the whole segment) and whine (a few steady tones at any pitch from 80 Hz
up, for the whole segment: fans, motors, feedback, electrical whine) and random time-frequency
patterns (bands of noise of any width, length, pitch, sweep and rhythm: no one source, so what
the network learns from them is "not speech" rather than a kind) — then a random equaliser. Reverberation (synthetic room impulse responses, an
exponentially decaying noise tail after the direct path) goes on the speech and on the noise
separately, as in the DNS challenge recipes; the target keeps its reverberation, since the task is
to remove noise, not rooms. Every draw comes from the step's own generator, so runs are exact.
"""

from __future__ import annotations

import math

import torch

from aecodec.errors import InputError
from aecodec.train.audio_data import RandomSegments

KINDS = ("recorded", "babble", "hum", "coloured", "clicks", "music", "tones", "chorus", "whine", "patterns")
# How often each kind is drawn, in KINDS order; "tones", "chorus", "whine" and "patterns" came
# later and are off unless a recipe asks, so older recipes draw exactly as before.
DEFAULT_WEIGHTS = (0.30, 0.20, 0.10, 0.20, 0.10, 0.10, 0.0, 0.0, 0.0, 0.0)


def _uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=gen))


def _unit_power(x: torch.Tensor) -> torch.Tensor:
    return x / x.square().mean().clamp_min(1e-12).sqrt()


def add_copies(out: torch.Tensor, event: torch.Tensor, at: int, gap: int, copies: int) -> None:
    """Add ``event`` into ``out`` along the last axis at ``at``, ``at + gap``, ... (``copies``
    times: a trill, a rhythm), each cut where ``out`` ends; copies starting past it are dropped."""
    size, length = out.shape[-1], event.shape[-1]
    for c in range(copies):
        start = at + c * gap
        if start >= size:
            break
        end = min(size, start + length)
        out[..., start:end] += event[..., : end - start]


def random_eq(x: torch.Tensor, sample_rate: int, gen: torch.Generator) -> torch.Tensor:
    """A tilt of -6..+6 dB per octave around 1 kHz plus one bell of -12..+12 dB, applied as a
    zero-phase gain curve in the frequency domain."""
    n = x.shape[-1]
    f = torch.fft.rfftfreq(n, 1 / sample_rate).clamp_min(20.0)
    octaves = torch.log2(f / 1000.0)
    gain_db = _uniform(gen, -6, 6) * octaves.clamp(-4, 4)
    centre = math.log2(_uniform(gen, 150, 0.4 * sample_rate) / 1000.0)
    width = _uniform(gen, 0.3, 2.0)
    gain_db = gain_db + _uniform(gen, -12, 12) * torch.exp(-0.5 * ((octaves - centre) / width) ** 2)
    return torch.fft.irfft(torch.fft.rfft(x) * 10 ** (gain_db / 20), n)


def room_impulse(sample_rate: int, gen: torch.Generator) -> torch.Tensor:
    """A direct path, then a noise tail decaying to -60 dB in RT60 = 0.15-0.9 s, at a direct-to-
    reverberant ratio of about -3..+12 dB."""
    rt60 = _uniform(gen, 0.15, 0.9)
    n = int(rt60 * sample_rate)
    t = torch.arange(n) / sample_rate
    tail = torch.randn(n, generator=gen) * torch.exp(-6.9 * t / rt60)
    tail[: int(0.002 * sample_rate)] = 0  # the first reflection comes a little after the direct path
    drr_db = _uniform(gen, -3, 12)
    tail = tail / tail.norm().clamp_min(1e-9) * 10 ** (-drr_db / 20)
    tail[0] = 1.0
    return tail


def reverberate(x: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """Linear convolution of [frames] with the impulse response, cut to the input's length."""
    n = x.shape[-1] + rir.shape[-1] - 1
    return torch.fft.irfft(torch.fft.rfft(x, n) * torch.fft.rfft(rir, n), n)[: x.shape[-1]]


def speed_range(speed, option: str, lowest: float, highest: float) -> tuple[float, float]:
    """A recipe's [low, high] speed range as floats, or an InputError naming ``option``."""
    try:
        low, high = (float(v) for v in speed)
    except (TypeError, ValueError):
        low = high = math.nan
    if not lowest <= low <= high <= highest:
        raise InputError(f"degrade.{option} must be [low, high] with {lowest:g} <= low <= high <= {highest:g}, "
                         f"got {speed!r}")
    return low, high


def at_speed(segments: RandomSegments, frames: int, speed: tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    """One segment of ``frames`` played at a random speed, log-uniform in ``speed`` (pitch and
    tempo change together, as a tape played faster or slower). At (1, 1) it draws exactly what
    ``segments.batch(1, frames, gen)`` draws, so recipes without a speed range are unchanged."""
    if tuple(speed) == (1.0, 1.0):
        return segments.batch(1, frames, gen)[0]
    factor = math.exp(_uniform(gen, math.log(speed[0]), math.log(speed[1])))
    read = max(2, round(frames * factor))
    x = segments.batch(1, read, gen)[0]
    if factor > 1:  # band-limit before decimating, so nothing folds back
        x = torch.fft.irfft(torch.fft.rfft(x)[: read // 2 + 1] * (torch.arange(read // 2 + 1) < frames // 2), read)
    return torch.nn.functional.interpolate(x[None, None], size=frames, mode="linear", align_corners=False)[0, 0]


class NoiseBank:
    """One row of noise at a time, from recordings and from the synthetic kinds above."""

    def __init__(self, sample_rate: int, recorded: RandomSegments, speech: RandomSegments,
                 music: RandomSegments | None = None, weights=DEFAULT_WEIGHTS, speed=(1.0, 1.0),
                 talkers=(3, 8), talker_spread_db: float = 6.0, patterns_from_hz: float = 100.0,
                 patterns_repeat: float = 0.5, patterns_octaves=(0.03, 2.0)):
        self.sample_rate, self.recorded, self.speech, self.music = sample_rate, recorded, speech, music
        if len(weights) > len(KINDS):
            raise InputError(f"degrade.noise_kinds has {len(weights)} weights, there are {len(KINDS)} kinds: "
                             f"{', '.join(KINDS)}")
        self.speed = speed_range(speed, "noise_speed", 0.25, 4.0)
        try:
            fewest, most = (int(v) for v in talkers)
        except (TypeError, ValueError):
            fewest = most = 0
        if not 2 <= fewest <= most <= 32 or not 0 <= float(talker_spread_db) <= 24:
            raise InputError(f"degrade.babble_talkers must be [fewest, most] with 2 <= fewest <= most <= 32 and "
                             f"degrade.babble_spread_db 0..24, got {talkers!r} and {talker_spread_db!r}")
        self.talkers, self.talker_spread_db = (fewest, most), float(talker_spread_db)
        try:
            self.patterns_from_hz = float(patterns_from_hz)
        except (TypeError, ValueError):
            self.patterns_from_hz = math.nan
        if not 20.0 <= self.patterns_from_hz <= 0.2 * sample_rate:
            raise InputError(f"degrade.patterns_from_hz must be 20..{0.2 * sample_rate:g} Hz, got {patterns_from_hz!r}")
        try:
            self.patterns_repeat = float(patterns_repeat)
            narrowest, widest = (float(v) for v in patterns_octaves)
        except (TypeError, ValueError):
            self.patterns_repeat = narrowest = widest = math.nan
        if not 0.0 <= self.patterns_repeat <= 1.0 or not 0.01 <= narrowest <= widest <= 4.0:
            raise InputError(f"degrade.patterns_repeat must be 0..1 and degrade.patterns_octaves [narrowest, widest] "
                             f"with 0.01 <= narrowest <= widest <= 4, got {patterns_repeat!r} and {patterns_octaves!r}")
        self.patterns_octaves = (narrowest, widest)
        weights = dict(zip(KINDS, weights))  # a shorter list (a recipe from before a kind existed): the rest are 0
        if music is None:
            weights["music"] = 0.0
        if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
            raise InputError(f"degrade.noise_kinds must be up to {len(KINDS)} weights >= 0, not all 0, for "
                             f"{', '.join(KINDS)} (music needs a second --data folder); got {list(weights.values())}")
        self.kinds = [k for k in KINDS if weights.get(k, 0) > 0]
        self.weights = torch.tensor([float(weights[k]) for k in self.kinds], dtype=torch.float64)

    def batch(self, size: int, frames: int, gen: torch.Generator) -> torch.Tensor:
        """float32 [size, frames] of unit-power noise rows (the caller sets the SNR)."""
        out = torch.empty(size, frames)
        for i in range(size):
            kinds = 2 if torch.rand(1, generator=gen) < 0.3 else 1
            row = torch.zeros(frames)
            for _ in range(kinds):
                kind = self.kinds[int(torch.multinomial(self.weights, 1, generator=gen))]
                row += _unit_power(getattr(self, f"_{kind}")(frames, gen)) * _uniform(gen, 0.3, 1.0)
            if torch.rand(1, generator=gen) < 0.5:
                row = random_eq(row, self.sample_rate, gen)
            if torch.rand(1, generator=gen) < 0.3:
                row = reverberate(row, room_impulse(self.sample_rate, gen))
            out[i] = _unit_power(row)
        return out

    def _recorded(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """A recording, played at a random speed (log-uniform in ``speed``) when the recipe asks:
        rain at half speed is a patter, an engine at twice speed a whine, kinds of their own."""
        return at_speed(self.recorded, frames, self.speed, gen)

    def _music(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        return self.music.batch(1, frames, gen)[0]

    def _babble(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Talkers from the speech corpus, each at +-``talker_spread_db``. Few talkers far apart
        in level are one voice louder than the rest: at a low SNR that voice is louder than the
        speech to keep, and a network taught to remove it learns to remove some clean voices
        whole (stop 27), so recipes can ask for more talkers, closer in level."""
        talkers = int(torch.randint(self.talkers[0], self.talkers[1] + 1, (1,), generator=gen))
        voices = self.speech.batch(talkers, frames, gen)
        spread = self.talker_spread_db
        level = 10 ** (torch.empty(talkers).uniform_(-spread, spread, generator=gen) / 20)
        return (voices / voices.square().mean(1, keepdim=True).clamp_min(1e-9).sqrt() * level[:, None]).sum(0)

    def _hum(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Mains hum (50 or 60 Hz, drifting slightly) with 1-30 harmonics of random strength,
        sometimes with a buzz's odd-harmonic emphasis, over a little broadband noise."""
        sr = self.sample_rate
        f0 = (50.0 if torch.rand(1, generator=gen) < 0.5 else 60.0) * _uniform(gen, 0.98, 1.02)
        t = torch.arange(frames) / sr
        drift = 1 + 0.002 * torch.sin(2 * math.pi * _uniform(gen, 0.05, 0.5) * t)
        phase = 2 * math.pi * f0 * torch.cumsum(drift, 0) / sr
        harmonics = int(torch.randint(1, 31, (1,), generator=gen))
        slope = _uniform(gen, 0.3, 2.0)
        odd = torch.rand(1, generator=gen) < 0.4
        x = torch.zeros(frames)
        for k in range(1, harmonics + 1):
            if k * f0 >= 0.45 * sr:
                break
            amp = k ** -slope * (3.0 if odd and k % 2 else 1.0) * _uniform(gen, 0.5, 1.5)
            x += amp * torch.sin(k * phase + _uniform(gen, 0, 2 * math.pi))
        return _unit_power(x) + 0.03 * torch.randn(frames, generator=gen)

    def _coloured(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Noise with a 1/f^beta spectrum (beta -1..2: blue, white, pink, brown), whose level moves
        by up to 20 dB at 0.1-4 Hz half of the time (traffic, wind, machines spinning up)."""
        white = torch.randn(frames, generator=gen)
        f = torch.fft.rfftfreq(frames, 1 / self.sample_rate).clamp_min(20.0)
        x = torch.fft.irfft(torch.fft.rfft(white) * f ** (-_uniform(gen, -1.0, 2.0) / 2), frames)
        if torch.rand(1, generator=gen) < 0.5:
            t = torch.arange(frames) / self.sample_rate
            depth = _uniform(gen, 3, 20)
            wobble = sum(torch.sin(2 * math.pi * _uniform(gen, 0.1, 4.0) * t + _uniform(gen, 0, 6.3)) for _ in range(3))
            x = x * 10 ** (depth * wobble / 3 / 20)
        return x

    def _clicks(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Clicks, knocks and crackle: 1-40 short decaying bursts a second at random levels."""
        sr = self.sample_rate
        rate = _uniform(gen, 1, 40)
        count = max(1, int(rate * frames / sr))
        x = torch.zeros(frames)
        for _ in range(count):
            length = int(_uniform(gen, 0.001, 0.03) * sr)
            at = int(torch.randint(frames, (1,), generator=gen))
            burst = torch.randn(length, generator=gen) * torch.exp(-torch.arange(length) / (length / 4))
            burst = burst * 10 ** (_uniform(gen, -20, 0) / 20)
            end = min(frames, at + length)
            x[at:end] += burst[: end - at]
        return x + 1e-3 * torch.randn(frames, generator=gen)

    def _tones(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Tonal events: 0.5-8 a second, each 20 ms-1.5 s long at 300 Hz-0.4 x the sample rate
        (log-uniform), steady, swept (up to 2 octaves) or warbling (2-30 Hz, 1-20 %), with 1-4
        harmonics, a random attack and decay, and half the time repeated as a trill of 2-12 copies."""
        sr = self.sample_rate
        x = torch.zeros(frames)
        for _ in range(max(1, int(_uniform(gen, 0.5, 8) * frames / sr))):
            length = max(8, int(math.exp(_uniform(gen, math.log(0.02), math.log(1.5))) * sr))
            t = torch.arange(length) / sr
            f0 = math.exp(_uniform(gen, math.log(300.0), math.log(0.4 * sr)))
            shape = float(torch.rand(1, generator=gen))
            if shape < 0.3:
                freq = torch.full((length,), f0)
            elif shape < 0.65:
                freq = f0 * 2 ** (_uniform(gen, -2, 2) * t / t[-1].clamp_min(1e-6))
            else:
                freq = f0 * (1 + _uniform(gen, 0.01, 0.2) * torch.sin(2 * math.pi * _uniform(gen, 2, 30) * t))
            phase = 2 * math.pi * torch.cumsum(freq, 0) / sr
            tone = torch.zeros(length)
            for k in range(1, int(torch.randint(1, 5, (1,), generator=gen)) + 1):
                tone += (freq * k < 0.45 * sr) * torch.sin(k * phase) * k ** -_uniform(gen, 0.5, 2.0)
            attack = max(1, int(_uniform(gen, 0.05, 0.5) * length))
            envelope = torch.minimum(t * sr / attack, torch.exp(-(t - attack / sr).clamp_min(0) * _uniform(gen, 0, 8)))
            event = tone * envelope.clamp(0, 1) * 10 ** (_uniform(gen, -20, 0) / 20)
            copies = int(torch.randint(2, 13, (1,), generator=gen)) if torch.rand(1, generator=gen) < 0.5 else 1
            gap = length + int(_uniform(gen, 0.01, 0.2) * sr)
            add_copies(x, event, int(torch.randint(frames, (1,), generator=gen)), gap, copies)
        return x + 1e-3 * torch.randn(frames, generator=gen)

    def _chorus(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """A chorus (crickets, katydids, frogs) that lasts the whole segment: 2-24 callers, each on
        its own pitch (800 Hz-0.4 x the sample rate, log-uniform, with 0-2 weaker harmonics),
        pulsing at 5-80 Hz with a 20-80 % duty cycle, half of them in chirps (0.3-4 a second),
        each at its own level. Sparse tonal events (``_tones``) do not teach this: the dev night
        recording is such a chorus, and a denoiser that never heard one took it for speech."""
        sr = self.sample_rate
        t = torch.arange(frames) / sr
        x = torch.zeros(frames)

        def gate(rate: float, duty: float) -> torch.Tensor:
            # A square wave with 10 %-of-period ramps, so pulses click no more than calls do.
            frac = torch.remainder(rate * t + _uniform(gen, 0, 1), 1.0)
            ramp = 0.1
            return ((frac / ramp).clamp(0, 1) * ((duty - frac) / ramp).clamp(0, 1))

        for _ in range(int(torch.randint(2, 25, (1,), generator=gen))):
            f0 = math.exp(_uniform(gen, math.log(800.0), math.log(0.4 * sr)))
            freq = f0 * (1 + _uniform(gen, 0.0, 0.01) * torch.sin(2 * math.pi * _uniform(gen, 0.1, 3) * t))
            phase = 2 * math.pi * torch.cumsum(freq, 0) / sr + _uniform(gen, 0, 2 * math.pi)
            call = torch.zeros(frames)
            for k in range(1, int(torch.randint(1, 4, (1,), generator=gen)) + 1):
                if k * f0 < 0.45 * sr:
                    call += torch.sin(k * phase) * (1.0 if k == 1 else _uniform(gen, 0.05, 0.4))
            call = call * gate(_uniform(gen, 5, 80), _uniform(gen, 0.2, 0.8))
            if torch.rand(1, generator=gen) < 0.5:
                call = call * gate(_uniform(gen, 0.3, 4), _uniform(gen, 0.2, 0.8))
            x += call * 10 ** (_uniform(gen, -20, 0) / 20)
        return x + 1e-3 * torch.randn(frames, generator=gen)

    def _whine(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Whine: 1-4 tones that last the whole segment (fans, motors, transformers, feedback,
        a test tone), each at its own pitch (80 Hz-0.4 x the sample rate, log-uniform, so speech's
        own range is covered, which hum's mains harmonics and the chorus's 800 Hz floor leave
        thin), drifting by up to 1 % and at its own level; a third of the tones carry 2-6
        harmonics, a third tremble (2-40 Hz, 20-100 % deep). Added because the convolutional
        twins left steady tones in training speech; a steady chord is the same signal, and the
        twin trained with this kind removed one, so no shipped recipe draws it."""
        sr = self.sample_rate
        t = torch.arange(frames) / sr
        x = torch.zeros(frames)
        for _ in range(int(torch.randint(1, 5, (1,), generator=gen))):
            f0 = math.exp(_uniform(gen, math.log(80.0), math.log(0.4 * sr)))
            freq = f0 * (1 + _uniform(gen, 0.0, 0.01) * torch.sin(2 * math.pi * _uniform(gen, 0.05, 2) * t))
            phase = 2 * math.pi * torch.cumsum(freq, 0) / sr + _uniform(gen, 0, 2 * math.pi)
            harmonics = int(torch.randint(2, 7, (1,), generator=gen)) if torch.rand(1, generator=gen) < 1 / 3 else 1
            slope = _uniform(gen, 0.5, 2.0)
            tone = sum((k * f0 < 0.45 * sr) * torch.sin(k * phase) * k ** -slope for k in range(1, harmonics + 1))
            if torch.rand(1, generator=gen) < 1 / 3:
                depth = _uniform(gen, 0.2, 1.0)
                tone = tone * (1 - depth / 2 + depth / 2 * torch.sin(2 * math.pi * _uniform(gen, 2, 40) * t))
            x += tone * 10 ** (_uniform(gen, -20, 0) / 20)
        return x + 1e-3 * torch.randn(frames, generator=gen)

    def _patterns(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """Random time-frequency patterns: 2-16 events, each a band of noise (Gaussian in log
        frequency, ``patterns_octaves`` (0.03-2 unless a recipe asks) wide, centred at
        ``patterns_from_hz`` (100 Hz unless asked)-0.45 x the sample rate, log-uniform) lasting
        5 ms-2 s, held or (40 %) sweeping by up to 2 octaves, with its own attack and decay and
        level, repeated 2-20 times at a steady rate with probability ``patterns_repeat`` (half
        unless asked): complex Gaussian noise shaped in a 512-point STFT. Every other kind
        imitates a source; these imitate none, so a network that must remove them learns that
        what is not speech goes, which is what noise it has never heard asks of it."""
        sr, n_fft, hop = self.sample_rate, 512, 128
        steps = frames // hop + 1
        octave = torch.log2(torch.fft.rfftfreq(n_fft, 1 / sr).clamp_min(20.0))  # [bins]
        env = torch.zeros(octave.numel(), steps)
        for _ in range(int(torch.randint(2, 17, (1,), generator=gen))):
            length = max(1, int(math.exp(_uniform(gen, math.log(0.005), math.log(2.0))) * sr / hop))
            centre = _uniform(gen, math.log2(self.patterns_from_hz), math.log2(0.45 * sr))
            sweep = _uniform(gen, -2, 2) if torch.rand(1, generator=gen) < 0.4 else 0.0
            # at least half a bin wide, or a narrow band between bins would vanish
            narrowest, widest = self.patterns_octaves
            width = max(math.exp(_uniform(gen, math.log(narrowest), math.log(widest))), 0.5 * sr / n_fft / 2**centre / math.log(2))
            i = torch.arange(length)
            centres = centre + sweep * i / max(1, length - 1)
            shape = torch.exp(-0.5 * ((octave[:, None] - centres[None]) / width) ** 2)  # [bins, length]
            attack = max(1, int(_uniform(gen, 0.0, 0.5) * length))
            gate = torch.minimum((i + 1) / attack, torch.exp(-(i - attack).clamp_min(0) * _uniform(gen, 0, 8) / length))
            event = shape * gate * 10 ** (_uniform(gen, -20, 0) / 20)
            copies = int(torch.randint(2, 21, (1,), generator=gen)) if torch.rand(1, generator=gen) < self.patterns_repeat else 1
            gap = length + int(_uniform(gen, 0.01, 0.3) * sr / hop)
            add_copies(env, event, int(torch.randint(steps, (1,), generator=gen)), gap, copies)
        phase = torch.complex(torch.randn(env.shape, generator=gen), torch.randn(env.shape, generator=gen))
        x = torch.istft(env * phase, n_fft, hop, window=torch.hann_window(n_fft), length=frames)
        return _unit_power(x) + 1e-3 * torch.randn(frames, generator=gen)  # the floor as far under as the others'
