"""bench image, audio, denoise-image, inpaint-image, denoise-audio.

Thin: options are parsed here, the work happens in aecodec.bench.
"""

from __future__ import annotations

import math
from pathlib import Path

import click

from aecodec.cli.common import device_option, say
from aecodec.errors import UsageError

DATA = click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path),
                    help="Folder of input files (searched recursively).")
OUT = click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
                   help="Output folder; rerunning into it resumes from its points.jsonl.")
LIMIT = click.option("--limit", type=int, default=None, help="Use only the first N files (sorted by path).")
DEVICE = device_option("Where aecodec's learned codec runs; baselines run on the CPU.")


def parse_names(text: str, option: str) -> tuple[str, ...]:
    """Comma-separated codec names, lower-cased, duplicates dropped."""
    names = tuple(dict.fromkeys(name.strip().lower() for name in text.split(",") if name.strip()))
    if not names:
        raise UsageError(f"{option} is empty; e.g. {option} jpeg,webp")
    return names


def parse_integers(text: str | None, option: str) -> tuple[int, ...] | None:
    """Comma-separated positive integers, sorted, or None when the option was not given."""
    return _parse(text, option, int, "integers", "10,50,90")


def parse_numbers(text: str | None, option: str) -> tuple[float, ...] | None:
    """Comma-separated positive numbers (integers stay integers), sorted, or None when not given."""
    return _parse(text, option, lambda v: int(v) if v.strip().isdigit() else float(v), "numbers", "1.5,3,6")


def _parse(text: str | None, option: str, kind, noun: str, example: str):
    if text is None:
        return None
    try:
        values = tuple(sorted({kind(value) for value in text.split(",") if value.strip()}))
    except ValueError:
        raise UsageError(f"{option} takes comma-separated {noun}, got '{text}'; e.g. {option} {example}") from None
    if not values or not values[0] > 0 or not all(math.isfinite(v) for v in values):
        raise UsageError(f"{option} needs positive {noun}, got '{text}'; e.g. {option} {example}")
    return values


def report(results: dict, out_dir: Path) -> None:
    """One stdout line per codec with its BD-rate, then where the results are."""
    for codec, bd in results["bd_rate"].items():
        shown = "n/a" if bd is None else f"{bd:+.1f} %"
        on_ms_ssim = results.get("bd_rate_ms_ssim", {})
        if codec in on_ms_ssim:
            shown += ", " + ("n/a" if on_ms_ssim[codec] is None else f"{on_ms_ssim[codec]:+.1f} %") + " on MS-SSIM"
        say(f"{codec}: BD-rate {shown} vs {results['reference']}")
    say(f"results in {out_dir}: results.json, results.md, points.jsonl, plots")


@click.group()
def bench() -> None:
    """Rate-distortion benchmarks of codecs over a folder (JSON, Markdown, plots)."""


@bench.command("image")
@DATA
@OUT
@click.option("--codecs", default=None,
              help="Comma-separated codecs; BD values are against jpeg [default: aecodec,jpeg,jpeg444,webp,"
                   "avif,jpeg2000,jxl,heif; jxl and heif where pip install 'aecodec[bench]' put them].")
@click.option("--qualities", default=None,
              help="Comma-separated qualities for every codec [default: 10..90,95; aecodec 5..95 by 15; "
                   "heif 5..70 by 5].")
@LIMIT
@DEVICE
def bench_image(data_dir: Path, out_dir: Path, codecs: str | None, qualities: str | None, limit: int | None,
                device: str) -> None:
    """Measure bpp, PSNR and MS-SSIM of image codecs over the images in --data."""
    rd_sweep("aecodec.bench.image:bench_images", data_dir, out_dir, codecs,
             parse_integers(qualities, "--qualities"), limit, device)


@bench.command("audio")
@DATA
@OUT
@click.option("--codecs", default=None,
              help="Comma-separated codecs [default: aecodec,mp3,opus,codec2]; BD values are against mp3.")
@click.option("--kbps", default=None,
              help="Comma-separated bitrates for every codec [default: per codec, e.g. mp3 8..48].")
@LIMIT
@DEVICE
def bench_audio(data_dir: Path, out_dir: Path, codecs: str | None, kbps: str | None, limit: int | None,
                device: str) -> None:
    """Measure kbps, PESQ-WB, STOI, SI-SNR, LSD, mel distance and ViSQOL of audio codecs over --data."""
    rd_sweep("aecodec.bench.audio:bench_audio", data_dir, out_dir, codecs, parse_numbers(kbps, "--kbps"), limit, device)


def rd_sweep(runner: str, data_dir: Path, out_dir: Path, codecs: str | None, values, limit: int | None,
             device: str) -> None:
    """Run a rate-distortion sweep (``runner``: "module:function", imported now) and report it."""
    import importlib

    module, _, function = runner.partition(":")
    names = None if codecs is None else parse_names(codecs, "--codecs")
    run = getattr(importlib.import_module(module), function)
    report(run(data_dir, out_dir, names, values, limit, device), out_dir)


def report_restore(results: dict, out_dir: Path, score_key: str, label: str, unit: str, item: str) -> None:
    """One stdout line per method with its mean score and speed, then where the results are."""
    for name, entry in results["methods"].items():
        score = "n/a" if entry[score_key] is None else f"{entry[score_key]:.2f} {unit}"
        speed = "n/a" if entry["seconds_per_item"] is None else f"{entry['seconds_per_item']:.3f} s/{item}"
        say(f"{name}: {label} {score}, {speed} ({entry['items']} {item}s)")
    say(f"results in {out_dir}: results.json, results.md, points.jsonl")


def parse_crop(text: str) -> tuple[int, int] | None:
    """'WxH' -> (W, H); 'none' -> None (whole images)."""
    if text.strip().lower() == "none":
        return None
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--crop takes WIDTHxHEIGHT or none, got '{text}'; e.g. --crop 481x321") from None
    if width < 1 or height < 1:
        raise UsageError(f"--crop needs positive sizes, got '{text}'; e.g. --crop 481x321")
    return width, height


RESTORE_DEVICE = device_option("Where aecodec's models run; baselines run on the CPU.", default="cpu")


@bench.command("denoise-image")
@DATA
@OUT
@click.option("--sigma", type=float, default=25.0, show_default=True, help="AWGN standard deviation, 0..255 units.")
@click.option("--crop", default="481x321", show_default=True,
              help="Centre crop WIDTHxHEIGHT (turned for portrait images), or none for whole images.")
@click.option("--methods", default="aecodec,aecodec-sigma,cbm3d", show_default=True,
              help="Comma-separated: aecodec (blind), aecodec-sigma (told sigma), cbm3d.")
@LIMIT
@RESTORE_DEVICE
def bench_denoise_image(data_dir: Path, out_dir: Path, sigma: float, crop: str, methods: str, limit: int | None,
                        device: str) -> None:
    """PSNR of image denoisers on AWGN-noisy 8-bit copies of the images in --data."""
    names = parse_names(methods, "--methods")
    size = parse_crop(crop)
    from aecodec.bench.restore_image import bench_image_denoise

    results = bench_image_denoise(data_dir, out_dir, sigma, limit, size, names, device)
    report_restore(results, out_dir, "mean_psnr", "PSNR", "dB", "image")


@bench.command("inpaint-image")
@DATA
@OUT
@click.option("--methods", default="aecodec,telea", show_default=True, help="Comma-separated: aecodec, telea.")
@LIMIT
@RESTORE_DEVICE
def bench_inpaint_image(data_dir: Path, out_dir: Path, methods: str, limit: int | None, device: str) -> None:
    """PSNR inside brush-stroke holes of image inpainters over the images in --data."""
    names = parse_names(methods, "--methods")
    from aecodec.bench.restore_image import bench_image_inpaint

    results = bench_image_inpaint(data_dir, out_dir, limit, names, device=device)
    report_restore(results, out_dir, "mean_psnr", "hole PSNR", "dB", "image")


@bench.command("denoise-audio")
@click.option("--speech", "speech_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of clean speech files (searched recursively).")
@click.option("--noise", "noise_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of noise files, paired with the speech files in path order.")
@OUT
@click.option("--snr", "snr_db", default="0,5,10", show_default=True, help="Mixing SNRs in dB, comma-separated.")
@click.option("--methods", default="aecodec,noisereduce,noisereduce-stationary,rnnoise,deepfilternet3",
              show_default=True, help="Comma-separated: aecodec, noisereduce, noisereduce-stationary, rnnoise, "
              "deepfilternet3 (baselines not installed are skipped).")
@LIMIT
@RESTORE_DEVICE
def bench_denoise_audio(speech_dir: Path, noise_dir: Path, out_dir: Path, snr_db: str, methods: str,
                        limit: int | None, device: str) -> None:
    """SI-SNR gain, PESQ-WB, STOI and real-time factor of speech denoisers on speech mixed with noise."""
    names = parse_names(methods, "--methods")
    from aecodec.bench.restore_audio import bench_audio_denoise, parse_snrs

    results = bench_audio_denoise(speech_dir, noise_dir, out_dir, parse_snrs(snr_db), limit, names, device=device)
    report_restore(results, out_dir, "mean_si_snr_improvement", "SI-SNR improvement", "dB", "clip")


COMMANDS = (bench,)
