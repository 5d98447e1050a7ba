"""Independent check of an audio results.json: re-measure LAME CBR MP3 kbps and mel distance without aecodec.

Usage (same --data and --limit as the bench run):

    python bench/check_mp3.py --data DIR --results OUT/results.json [--limit N] [--tolerance 0.03]

Reads every audio file (found like the bench does: recursively, sorted by path, float32 clipped to
[-1, 1]) and encodes it at each MP3 bitrate in the results with lameenc directly (CBR, LAME
quality 2, no resampling: the file's rate must be one MP3 can carry at that bitrate, e.g. 24 kHz
for 8..160 kbps). kbps is the size of lameenc's output over the input's duration.

The bare lameenc stream has no LAME gapless tag, so libsndfile (mpg123) decodes it with the
encoder delay (576) and decoder delay (529) in front and the padding of the last frame behind.
This script finds the delay itself: the lag in 0..4096 samples that maximises the cross-correlation
of the decoded and input signals (channel means, via FFT), then cuts the decode to the input's
length from there. The mel distance is computed with its own code (see ``mel_distance``).
Prints the relative deviation per point and the maximum. Exit code 0 if the maximum is within the
tolerance, 1 if not.

The bench's files are one frame longer than lameenc's output (the "Info"/LAME tag frame it adds,
as the lame CLI does): that shows up as a small kbps deviation, 3 x kbps bytes per file at 24 kHz
(0.45 % at 16 kbps over 8 s), by design.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import lameenc
import numpy as np
import soundfile
import torch
import torchaudio

SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3"}
MAX_LAG = 4096  # samples; LAME + mpg123 delay is 1105


def read(path: Path) -> tuple[np.ndarray, int]:
    samples, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
    return np.clip(samples, -1.0, 1.0), int(sample_rate)


def header_kbps_and_rate(stream: bytes) -> tuple[int, int]:
    """Bitrate and sample rate in the first MPEG Layer III frame header of ``stream``."""
    version = (stream[1] >> 3) & 3  # 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    kbps_table = (
        (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
        if version == 3
        else (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
    )
    rate = (44100, 48000, 32000)[(stream[2] >> 2) & 3] // {3: 1, 2: 2, 0: 4}[version]
    return kbps_table[(stream[2] >> 4) - 1], rate


def encode_mp3(samples: np.ndarray, sample_rate: int, kbps: int) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(samples.shape[1])
    encoder.set_quality(2)
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    stream = bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())
    written = header_kbps_and_rate(stream)
    if written != (kbps, sample_rate):
        raise SystemExit(f"LAME wrote {written[0]} kbps at {written[1]} Hz for {kbps} kbps at {sample_rate} Hz; "
                         "this check does not resample, use inputs at a rate MP3 carries at that bitrate")
    return stream


def align(reference: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """``decoded`` shifted by its cross-correlation lag against ``reference`` and cut to its length."""
    a, b = reference.mean(axis=1), decoded.mean(axis=1)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    correlation = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)  # [k] = sum b[t + k] a[t]
    lag = int(np.argmax(correlation[: MAX_LAG + 1]))
    shifted = decoded[lag : lag + len(reference)]
    return np.pad(shifted, ((0, len(reference) - len(shifted)), (0, 0)))


def mel_distance(reference: np.ndarray, decoded: np.ndarray, sample_rate: int) -> float:
    """Sum over (n_fft, n_mels) of mean |log10(max(mel_ref, 1e-5)) - log10(max(mel_dec, 1e-5))|, mono."""
    signals = torch.from_numpy(np.stack([reference.mean(axis=1), decoded.mean(axis=1)]).astype(np.float32))
    total = 0.0
    for n_fft, n_mels in ((512, 64), (1024, 80), (2048, 128)):
        mel = torchaudio.transforms.MelSpectrogram(
            sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, power=1.0
        )(signals)
        log_mel = torch.log10(torch.clamp(mel, min=1e-5))
        total += float(torch.mean(torch.abs(log_mel[0] - log_mel[1])))
    return total


def measure(clips: list[tuple[np.ndarray, int]], kbps: int) -> tuple[float, float]:
    """Mean kbps and mean mel distance of LAME CBR MP3 at ``kbps`` over ``clips``."""
    rates, distances = [], []
    for samples, sample_rate in clips:
        stream = encode_mp3(samples, sample_rate, kbps)
        decoded, decoded_rate = soundfile.read(io.BytesIO(stream), dtype="float32", always_2d=True)
        assert decoded_rate == sample_rate, (decoded_rate, sample_rate)
        rates.append(len(stream) * 8.0 / (len(samples) / sample_rate) / 1000.0)
        distances.append(mel_distance(samples, align(samples, decoded), sample_rate))
    return float(np.mean(rates)), float(np.mean(distances))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tolerance", type=float, default=0.03)
    args = parser.parse_args()

    points = json.loads(args.results.read_text())["codecs"]["mp3"]["points"]
    files = sorted(p for p in args.data.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)[: args.limit]
    clips = [read(path) for path in files]
    print(f"{len(files)} files, {len(points)} MP3 points from {args.results}")
    print("quality  kbps(results)  kbps(check)  rel.dev   mel(results)  mel(check)  rel.dev")
    worst = 0.0
    for point in points:
        kbps, distance = measure(clips, point["quality"])
        kbps_dev = abs(kbps - point["kbps"]) / point["kbps"]
        mel_dev = abs(distance - point["mel_distance"]) / point["mel_distance"]
        worst = max(worst, kbps_dev, mel_dev)
        print(f"{point['quality']:7d}  {point['kbps']:13.3f}  {kbps:11.3f}  {kbps_dev:7.2%}   "
              f"{point['mel_distance']:12.4f}  {distance:10.4f}  {mel_dev:7.2%}")
    print(f"max relative deviation: {worst:.4%} (tolerance {args.tolerance:.0%})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
