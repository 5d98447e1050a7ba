"""Probe (stop 27): how far the denoiser is from an ideal ratio mask under night insects.

Rebuilds the benchmark's night-insect mixtures (dev speech clips 6 and 14 with wesnoth_night, the
bench's seeded offsets), applies sqrt(|S|^2 / (|S|^2 + |N|^2)) with the model's own STFT (the best
a real gain per bin can do) and compares with the installed denoiser:

    AECODEC_MODELS=/tmp/models-v90 python bench/prototypes/denoise_tones/insects_oracle.py
"""
import numpy as np
import torch
from pathlib import Path

from aecodec.bench.restore import file_rng
from aecodec.bench.restore_audio import SAMPLE_RATE_HZ as SR, MAX_SECONDS, speech_scorers
from aecodec.media.audio import read_mono
from aecodec.metrics.audio import si_snr
from aecodec.restore.degrade import mix_at_snr
from aecodec.restore.networks import shipped

dev = Path("../shared/data/audio/dev")
pesq = speech_scorers()["pesq"]
net, _ = shipped("audio-denoise-gru", "cpu")
files = sorted(p for p in (dev / "speech").iterdir() if p.suffix == ".flac")
noise = read_mono(dev / "noise" / "wesnoth_night.flac", SR)
for snr in (0.0, 5.0, 10.0):
    for index in (6, 14):
        path = files[index]
        clean = read_mono(path, SR)[: int(MAX_SECONDS * SR)]
        noisy, scaled = mix_at_snr(clean, noise, snr, file_rng(0, path.name))
        peak = float(np.abs(noisy).max())
        s = 0.99 / peak if peak > 1 else 1.0
        clean, noisy, scaled = clean * s, noisy * s, scaled * s
        with torch.inference_mode():
            x = torch.from_numpy(noisy)[None]
            spec = net.stft(x)
            S, N = net.stft(torch.from_numpy(clean.astype(np.float32))[None]), net.stft(torch.from_numpy(scaled)[None])
            irm = torch.sqrt(S.abs() ** 2 / (S.abs() ** 2 + N.abs() ** 2 + 1e-12))
            gains = net.gains(spec)
            oracle = net.istft(spec * irm, x.shape[-1])[0].numpy()
            model = net(x)[0].numpy()
            active = (S.abs() ** 2).sum(1)[0] > 1e-3 * (S.abs() ** 2).sum(1)[0].max()
            # broadband attenuation of speech-active frames (energy-weighted), model against oracle
            def frame_db(g):
                return 10 * torch.log10(((g * spec.abs()) ** 2).sum(1)[0] / (spec.abs() ** 2).sum(1)[0])[active]
            excess = float((frame_db(gains) - frame_db(irm)).median())
        base = si_snr(clean, noisy)
        print(f"{snr:4.0f} dB {path.name:22s} oracle {si_snr(clean, oracle) - base:+6.2f} dB PESQ {pesq(clean, oracle):.2f} | "
              f"model {si_snr(clean, model) - base:+6.2f} dB PESQ {pesq(clean, model):.2f} | noisy PESQ {pesq(clean, noisy):.2f} | "
              f"model removes {-excess:+.1f} dB more than the oracle in speech frames (median)")
