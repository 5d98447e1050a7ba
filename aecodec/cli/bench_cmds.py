"""bench image and bench audio. Thin: options are parsed here, the work happens in aecodec.bench."""

from __future__ import annotations

from pathlib import Path

import click

from aecodec.cli.main import cli
from aecodec.errors import InputError

DATA = click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path),
                    help="Folder of input files (searched recursively).")
OUT = click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
                   help="Output folder; rerunning into it resumes from its points.jsonl.")
LIMIT = click.option("--limit", type=int, default=None, help="Use only the first N files (sorted by path).")
DEVICE = click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
                      help="Where aecodec's learned codec runs; baselines run on the CPU.")


def parse_names(text: str, option: str) -> tuple[str, ...]:
    """Comma-separated codec names, lower-cased, duplicates dropped."""
    names = tuple(dict.fromkeys(name.strip().lower() for name in text.split(",") if name.strip()))
    if not names:
        raise InputError(f"{option} is empty; e.g. {option} jpeg,webp")
    return names


def parse_integers(text: str | None, option: str) -> tuple[int, ...] | None:
    """Comma-separated positive integers, sorted, or None when the option was not given."""
    if text is None:
        return None
    try:
        values = tuple(sorted({int(value) for value in text.split(",") if value.strip()}))
    except ValueError:
        raise InputError(f"{option} takes comma-separated integers, got '{text}'; e.g. {option} 10,50,90") from None
    if not values or values[0] < 1:
        raise InputError(f"{option} needs positive integers, got '{text}'; e.g. {option} 10,50,90")
    return values


def report(results: dict, out_dir: Path) -> None:
    """One stdout line per codec with its BD-rate, then where the results are."""
    for codec, bd in results["bd_rate"].items():
        shown = "n/a" if bd is None else f"{bd:+.1f} %"
        click.echo(f"{codec}: BD-rate {shown} vs {results['reference']}")
    click.echo(f"results in {out_dir}: results.json, results.md, points.jsonl, plots")


@cli.group()
def bench() -> None:
    """Rate-distortion benchmarks of codecs over a folder (JSON, Markdown, plots)."""


@bench.command("image")
@DATA
@OUT
@click.option("--codecs", default="aecodec,jpeg,jpeg444,webp,avif,jpeg2000", show_default=True,
              help="Comma-separated codecs; BD values are against jpeg.")
@click.option("--qualities", default=None,
              help="Comma-separated qualities for every codec [default: 10..90,95; aecodec 5..95 by 15].")
@LIMIT
@DEVICE
def bench_image(data_dir: Path, out_dir: Path, codecs: str, qualities: str | None, limit: int | None, device: str) -> None:
    """Measure bpp, PSNR and MS-SSIM of image codecs over the images in --data."""
    names = parse_names(codecs, "--codecs")
    values = parse_integers(qualities, "--qualities")
    from aecodec.bench.image import bench_images

    report(bench_images(data_dir, out_dir, names, values, limit, device), out_dir)


@bench.command("audio")
@DATA
@OUT
@click.option("--codecs", default="aecodec,mp3,opus", show_default=True,
              help="Comma-separated codecs; BD values are against mp3, on mel distance.")
@click.option("--kbps", default=None,
              help="Comma-separated bitrates for every codec [default: per codec, e.g. mp3 16..128].")
@LIMIT
@DEVICE
def bench_audio(data_dir: Path, out_dir: Path, codecs: str, kbps: str | None, limit: int | None, device: str) -> None:
    """Measure kbps, mel distance and SI-SNR of audio codecs over the audio files in --data."""
    names = parse_names(codecs, "--codecs")
    values = parse_integers(kbps, "--kbps")
    from aecodec.bench.audio import bench_audio as run

    report(run(data_dir, out_dir, names, values, limit, device), out_dir)
