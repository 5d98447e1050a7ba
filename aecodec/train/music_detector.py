"""Training of the speech/music detector (models/audio/music_detector.py), which picks the MDCT
codec's model per file.

``--data`` gives speech first, then music folders (as for audio-denoise); ``--noise-data``
recordings of noise. Each batch is half speech, half music, 4-second windows, made so that the
label cannot be read from the recording conditions:

* speech: a random window of a long recording, or (``p_words``) words shorter than
  ``word_seconds`` strung together with pauses of 30-500 ms, as children's-app recordings come;
* music: a random window of a track; a share (``p_synthetic``) is synthetic (1-3 voices of saw,
  square, sine or FM notes on a major or minor scale at 70-170 bpm, over a drum machine 70 % of
  the time), a share (``p_dance``) synthetic dance music (``dance_music``), and a share of the real windows (``p_mix``) gets a second track or a drum machine
  mixed in: the training music is a few games' soundtracks, the music users code is any;
* both: speed 0.8-1.25x, level and a spectral tilt; music gets recorded noise at 0-30 dB SNR,
  speech noise of every kind the denoiser trains on (recordings at 0.5-2x speed, babble, hum,
  coloured noise, clicks, a music bed, tonal events, choruses) at -5-30 dB: speech over birdsong
  or a music bed must still go to the speech model, whose loss on music is the smaller one.

Validation (``--val-data`` with speech/ and music/ inside) scores every clip as the encoder does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aecodec.train.loop import Task

DEFAULTS = {"p_words": 0.5, "word_seconds": 2.0, "p_synthetic": 1 / 3, "p_dance": 0.0, "p_mix": 0.25, "p_speed": 0.5,
            "speed": [0.8, 1.25], "gain_db": [-30.0, 0.0], "p_noise": 0.6, "snr_db": [0.0, 30.0],
            "p_speech_noise": 0.7, "speech_snr_db": [-5.0, 30.0],
            "speech_noise_kinds": [0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "p_tilt": 0.3, "tilt": [-0.7, 0.7]}


class MusicDetectorTask(Task):
    architecture = "audio-music-detector"
    keys = ("loss", "accuracy")
    defaults = DEFAULTS

    def __init__(self, cfg, main: bool):
        from aecodec.errors import InputError
        from aecodec.train.audio_data import RandomSegments, list_audio, load_mono
        from aecodec.train.noise_synth import NoiseBank

        super().__init__(cfg, main)
        self.opts = {**self.defaults, **cfg.degrade}
        self.model_cfg = self.model_config(cfg.model)
        sr = self.model_cfg.sample_rate
        if len(cfg.data) < 2:
            raise InputError("audio-music-detector needs --data SPEECH_DIR --data MUSIC_DIR (speech first)")
        if not cfg.noise_data:
            raise InputError("audio-music-detector needs --noise-data DIR (recordings of noise to mix in)")
        short = self.opts["word_seconds"] * sr
        speech, music = load_mono(list_audio(cfg.data[0]), sr), [x for d in cfg.data[1:] for x in load_mono(list_audio(d), sr)]
        noise = load_mono(list_audio(cfg.noise_data), sr)
        self.noise_bank = NoiseBank(sr, RandomSegments([noise], (0.0, 0.0)), RandomSegments([speech], (0.0, 0.0)),
                                    RandomSegments([music], (0.0, 0.0)), self.opts["speech_noise_kinds"], (0.5, 2.0))
        # float16 tensors, shared with the noise bank; a window becomes float32 numpy when cut (crop)
        self.words = [x for x in speech if len(x) < short]
        self.speech = [x for x in speech if len(x) >= short] or speech
        self.music, self.noise = music, noise
        if cfg.val_data and main:
            for label, kind in ((0.0, "speech"), (1.0, "music")):
                for x in load_mono(list_audio(Path(cfg.val_data) / kind), sr):
                    self.val.append((label, x.float().numpy()))

    @staticmethod
    def model_config(model: dict):
        from aecodec.models.audio.music_detector import DetectorConfig

        return DetectorConfig(**model)

    def build_model(self) -> nn.Module:
        from aecodec.models.audio.music_detector import MusicDetector

        return MusicDetector(self.model_cfg)

    def optimizers(self, model: nn.Module):
        return torch.optim.AdamW(model.parameters(), lr=self.cfg.lr, weight_decay=1e-3), None

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
        n = self.model_cfg.window
        labels = (np.arange(self.cfg.batch_size) % 2).astype(np.float32)
        rows = [self.degrade(self.music_window(rng, n), rng) if y else self.noisy_speech(rng, n, gen) for y in labels]
        return torch.from_numpy(np.stack(rows)), torch.from_numpy(labels)

    # --- the two classes ------------------------------------------------------------------
    def speech_window(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.words and rng.random() < self.opts["p_words"]:
            parts, have, sr = [], 0, self.model_cfg.sample_rate
            while have < n:
                word = self.words[rng.integers(len(self.words))].float().numpy()
                parts += [word, np.zeros(int(rng.uniform(0.03, 0.5) * sr), np.float32)]
                have += len(parts[-2]) + len(parts[-1])
            return np.concatenate(parts)[:n]
        return crop(self.speech[rng.integers(len(self.speech))], n, rng)

    def noisy_speech(self, rng: np.random.Generator, n: int, gen: torch.Generator) -> np.ndarray:
        """A speech window, degraded, under noise of any kind (``speech_noise_kinds``)."""
        x = self.degrade(self.speech_window(rng, n), rng, noise=False)
        if rng.random() < self.opts["p_speech_noise"]:
            noise = self.noise_bank.batch(1, n, gen)[0].numpy()
            x = x + noise * np.sqrt(np.mean(x**2)) * 10 ** (-rng.uniform(*self.opts["speech_snr_db"]) / 20)
        return (x / max(1.0, float(np.abs(x).max()))).astype(np.float32)

    def music_window(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sr = self.model_cfg.sample_rate
        if self.opts["p_dance"] > 0 and rng.random() < self.opts["p_dance"]:  # no draw when off: old recipes replay
            return dance_music(n, sr, rng)
        if rng.random() < self.opts["p_synthetic"]:
            return synthetic_music(n, sr, rng)
        x = crop(self.music[rng.integers(len(self.music))], n, rng)
        if rng.random() < self.opts["p_mix"]:
            y = crop(self.music[rng.integers(len(self.music))], n, rng) if rng.random() < 0.5 \
                else drums(n, sr, 60 / rng.uniform(70, 170), rng)
            x = x / (np.std(x) + 1e-6) + y / (np.std(y) + 1e-6) * rng.uniform(0.3, 1)
        return x.astype(np.float32)

    def degrade(self, x: np.ndarray, rng: np.random.Generator, noise: bool = True) -> np.ndarray:
        o, sr = self.opts, self.model_cfg.sample_rate
        if rng.random() < o["p_speed"]:
            r = np.exp(rng.uniform(np.log(o["speed"][0]), np.log(o["speed"][1])))
            x = np.interp(np.arange(len(x)) * r, np.arange(len(x)), x, right=0)
        x = x / (np.abs(x).max() + 1e-6) * 10 ** (rng.uniform(*o["gain_db"]) / 20)
        if noise and rng.random() < o["p_noise"]:
            recorded = crop(self.noise[rng.integers(len(self.noise))], len(x), rng)
            scale = np.sqrt(np.mean(x**2) / (np.mean(recorded**2) + 1e-12)) * 10 ** (-rng.uniform(*o["snr_db"]) / 20)
            x = x + recorded * scale
        if rng.random() < o["p_tilt"]:
            spectrum = np.fft.rfft(x)
            f = np.fft.rfftfreq(len(x), 1 / sr).clip(50)
            x = np.fft.irfft(spectrum * (f / 1000) ** rng.uniform(*o["tilt"]), len(x))
        return x.astype(np.float32)

    def loss(self, model: nn.Module, forward: Callable[..., torch.Tensor], batch) -> dict:
        x, y = batch
        logits = forward(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
        return {"loss": loss, "accuracy": ((logits > 0).float() == y).float().mean().detach()}

    def validate(self, model: nn.Module) -> dict:
        from aecodec.models.audio.music_detector import windows_of

        c = model.config
        p = np.array([model.p_music(windows_of([x], c.window, c.max_windows)) for _, x in self.val])
        y = np.array([label for label, _ in self.val])
        return {"speech_right": float(np.mean(p[y == 0] < c.threshold)),
                "music_right": float(np.mean(p[y == 1] >= c.threshold)),
                "speech_max_p": float(p[y == 0].max())}


# --- helpers ----------------------------------------------------------------------------------

def crop(x: torch.Tensor, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample window of the clip ``x``, float32 (zero-padded at the end when shorter)."""
    start = rng.integers(0, max(len(x), n) - n + 1)
    if len(x) < n:
        return np.pad(x.float().numpy(), (0, n - len(x)))
    return x[start : start + n].float().numpy()


def drums(n: int, sr: int, beat: float, rng: np.random.Generator) -> np.ndarray:
    """A drum machine: a kick on every beat, kick, snare or hi-hat on the off-beats."""
    x = np.zeros(n, np.float32)
    for k in range(int(n / sr / beat * 2) + 1):
        at = int(k * beat / 2 * sr)
        if at >= n:
            break
        kind = rng.choice(["kick", "snare", "hat"]) if k % 2 else "kick"
        m = min(n - at, int(0.25 * sr))
        t = np.arange(m) / sr
        if kind == "kick":
            w = np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
        elif kind == "snare":
            w = rng.standard_normal(m) * np.exp(-t * 25) * 0.5
        else:
            w = np.diff(rng.standard_normal(m + 1)) * np.exp(-t * 60) * 0.3
        x[at : at + m] += w * rng.uniform(0.5, 1)
    return x


def synthetic_music(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """1-3 voices of notes on a scale, over a drum machine 70 % of the time."""
    beat = 60 / rng.uniform(70, 170)
    x = np.zeros(n, np.float32)
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    scale = [0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.5 else [0, 2, 3, 5, 7, 8, 10]
    for _ in range(rng.integers(1, 4)):
        octave, note = rng.choice([0.5, 1, 2, 4]), beat * rng.choice([0.25, 0.5, 1, 2])
        wave, decay, pos = rng.choice(["saw", "square", "sine", "fm"]), rng.uniform(0, 6), 0.0
        while pos < n / sr:
            f = root * octave * 2 ** ((scale[rng.integers(len(scale))] + 12 * rng.integers(0, 2)) / 12)
            i0, i1 = int(pos * sr), min(n, int((pos + note) * sr))
            t = np.arange(i1 - i0) / sr
            if wave == "saw":
                w = 2 * ((f * t) % 1) - 1
            elif wave == "square":
                w = np.sign(np.sin(2 * np.pi * f * t))
            elif wave == "sine":
                w = np.sin(2 * np.pi * f * t)
            else:
                w = np.sin(2 * np.pi * f * t + rng.uniform(0.5, 3) * np.sin(4 * np.pi * f * t))
            x[i0:i1] += w * np.minimum(1, t / 0.01) * np.exp(-t * decay) * rng.uniform(0.3, 1)
            pos += note
    if rng.random() < 0.7:
        d = drums(n, sr, beat, rng)
        x = x / (np.std(x) + 1e-6) + d / (np.std(d) + 1e-6) * rng.uniform(0.3, 1.5)
    return x.astype(np.float32)


def dance_music(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Electronic dance music, which the training tracks (game soundtracks) lack and which is
    mostly drums: a kick on every beat at 110-150 bpm, hi-hats on the eighths or sixteenths,
    often a clap on beats 2 and 4, a low bass line on the eighths, and half the time a pad
    chord or an arpeggio of plucks; the pitched parts duck after every kick (side-chain
    pumping). Without it, a detector that learned "steady pitched notes" calls a drum-and-bass
    mix speech, whose syllables are also bursts a few per second."""
    beat = 60 / rng.uniform(110, 150)
    t_all = np.arange(n) / sr
    root = 55 * 2 ** (rng.integers(0, 12) / 12)
    scale = [0, 2, 3, 5, 7, 8, 10] if rng.random() < 0.7 else [0, 2, 4, 5, 7, 9, 11]
    drums_part = np.zeros(n)
    offset = rng.uniform(0, beat)
    kick_decay, hat_step = rng.uniform(6, 14), beat / rng.choice([2, 4])
    clap = rng.random() < 0.6
    for k in range(int((n / sr) / beat) + 2):  # the kicks, and claps on beats 2 and 4
        at = offset + (k - 1) * beat
        parts = [("kick", at)] + ([("clap", at)] if clap and k % 2 else [])
        for kind, start in parts:
            i0 = int(start * sr)
            m = int(0.3 * sr)
            t = np.arange(m) / sr
            if kind == "kick":
                w = np.sin(2 * np.pi * (45 + 120 * np.exp(-t * 40)) * t) * np.exp(-t * kick_decay)
            else:
                w = rng.standard_normal(m) * np.exp(-t * 30) * 0.4
            lo, hi = max(0, i0), min(n, i0 + m)
            if hi > lo:
                drums_part[lo:hi] += w[lo - i0 : hi - i0]
    for k in range(int((n / sr) / hat_step) + 2):  # hi-hats: filtered noise ticks
        i0 = int((offset + (k - 1) * hat_step) * sr)
        m = int(rng.uniform(0.02, 0.12) * sr)
        w = np.diff(rng.standard_normal(m + 1)) * np.exp(-np.arange(m) / sr * rng.uniform(30, 80)) * 0.25
        lo, hi = max(0, i0), min(n, i0 + m)
        if hi > lo:
            drums_part[lo:hi] += w[lo - i0 : hi - i0] * rng.uniform(0.5, 1)
    since_kick = np.mod(t_all - offset, beat)
    duck = 1 - rng.uniform(0.3, 0.9) * np.exp(-since_kick / (beat * rng.uniform(0.15, 0.4)))
    pitched = np.zeros(n)
    eighth = beat / 2
    wave = rng.choice(["saw", "square", "sine"])
    for k in range(int((n / sr) / eighth) + 2):  # the bass line
        start = offset + (k - 1) * eighth
        i0, i1 = max(0, int(start * sr)), min(n, int((start + eighth * rng.uniform(0.5, 1)) * sr))
        if i1 <= i0:
            continue
        f = root * 2 ** (scale[rng.integers(len(scale))] / 12) * rng.choice([0.5, 1])
        t = np.arange(i1 - i0) / sr
        w = {"saw": 2 * ((f * t) % 1) - 1, "square": np.sign(np.sin(2 * np.pi * f * t)),
             "sine": np.sin(2 * np.pi * f * t)}[wave]
        pitched[i0:i1] += w * np.minimum(1, t / 0.005) * np.exp(-t * rng.uniform(0, 4))
    upper = rng.random()
    if upper < 0.25:  # a pad: a detuned chord held through the window
        for step in (0, 2, 4):
            f = root * 4 * 2 ** (scale[(step + rng.integers(len(scale))) % len(scale)] / 12)
            for detune in (0.997, 1.003):
                pitched += 0.3 * (2 * ((f * detune * t_all + rng.uniform()) % 1) - 1)
    elif upper < 0.5:  # an arpeggio of plucks on the sixteenths
        sixteenth = beat / 4
        for k in range(int((n / sr) / sixteenth) + 1):
            i0 = int(k * sixteenth * sr)
            i1 = min(n, i0 + int(sixteenth * sr))
            f = root * rng.choice([4, 8]) * 2 ** (scale[rng.integers(len(scale))] / 12)
            t = np.arange(i1 - i0) / sr
            pitched[i0:i1] += 0.5 * np.sign(np.sin(2 * np.pi * f * t)) * np.exp(-t * rng.uniform(10, 40))
    pitched = pitched * duck
    x = drums_part / (np.std(drums_part) + 1e-6) + pitched / (np.std(pitched) + 1e-6) * rng.uniform(0.3, 1.2)
    return x.astype(np.float32)
