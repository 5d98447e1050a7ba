"""encode, decode, info and models. Thin: options are parsed here, work happens in codecs/."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from aecodec.cli.main import cli
from aecodec.errors import AecError, InputError

DEVICE = click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
                      help="Where the transforms run; files decode bit-exactly on any of them.")
FORCE = click.option("--force", is_flag=True, help="Overwrite existing outputs.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print per-file statistics as JSON lines.")
IMAGE_OUT = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


def plan_outputs(inputs: tuple[str, ...], output: str, suffix: str) -> list[tuple[str, str]]:
    """One input -> the named file; many inputs (or an existing folder) -> files in that folder."""
    if not inputs:
        raise InputError("no input files given; e.g. 'aecodec encode photo.png -o photo.aec'")
    out = Path(output)
    if len(inputs) == 1 and not out.is_dir():
        return [(inputs[0], output)]
    if output == "-":
        raise InputError("several inputs cannot go to standard output; give a folder with -o")
    if not out.is_dir():
        raise InputError(f"output folder '{output}' does not exist; create it or give one input")
    pairs = [(i, str(out / (Path(i).stem + suffix))) for i in inputs]
    names = [p for _, p in pairs]
    if len(set(names)) != len(names):
        raise InputError("two inputs have the same name stem and would overwrite each other; rename one")
    return pairs


def run_batch(pairs, work, as_json: bool, verb: str) -> None:
    """Run ``work(src, dst) -> stats`` per file; report failures per file and carry on."""
    from tqdm import tqdm

    failures = 0
    show = len(pairs) > 1 and sys.stderr.isatty()
    for src, dst in tqdm(pairs, disable=not show, unit="file", desc=verb):
        try:
            t0 = time.perf_counter()
            stats = work(src, dst)
            stats.update(input=src, output=dst, seconds=round(time.perf_counter() - t0, 3))
        except AecError as e:
            if len(pairs) == 1:
                raise
            failures += 1
            click.echo(f"aecodec: error: {src}: {e}", err=True)
            continue
        if dst != "-":
            click.echo(json.dumps(stats) if as_json else summary(stats))
    if failures:
        raise AecError(f"{failures} of {len(pairs)} files failed; see the messages above")


def summary(s: dict) -> str:
    rate = f", {s['bpp']:.4f} bpp" if "bpp" in s else ""
    quality = f", quality {s['quality']:g}" if "quality" in s else ""
    return f"{s['input']} -> {s['output']}: {s['bytes']} bytes{rate}{quality} ({s['seconds']:.2f} s)"


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Output .aec file, '-' for stdout, or a folder for many inputs.")
@click.option("-q", "--quality", type=float, default=None, help="1..100, higher is better (default 75).")
@click.option("--bpp", type=float, default=None, help="Highest quality whose file is at most this many bits per pixel.")
@click.option("--model", default="image-hyperprior", show_default=True, help="Model from 'aecodec models'.")
@DEVICE
@FORCE
@JSON
def encode(inputs, output, quality, bpp, model, device, force, as_json):
    """Compress images into .aec files."""
    from aecodec.codecs.learned import LearnedImageCodec, check_quality
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import read_image

    if quality is not None and bpp is not None:
        raise InputError("give either --quality or --bpp, not both")
    if quality is not None:
        check_quality(quality)
    pairs = plan_outputs(inputs, output, ".aec")
    codec = LearnedImageCodec(model=model, device=device)

    def work(src, dst):
        check_output(dst, force)
        image = read_image(src)
        if bpp is not None:
            result = codec.encode_to_bpp(image, bpp)
            data, q = result.data, result.quality
        else:
            q = 75.0 if quality is None else quality
            data = codec.encode(image, q)
        atomic_write(dst, data, force=force)
        return {"bytes": len(data), "bpp": len(data) * 8 / (image.height * image.width), "quality": q,
                "height": image.height, "width": image.width}

    run_batch(pairs, work, as_json, "encode")


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Output file (format by extension), '-' for PNG on stdout, or a folder.")
@DEVICE
@FORCE
@JSON
def decode(inputs, output, device, force, as_json):
    """Decompress .aec files into images (PNG, JPEG, TIFF, WebP by extension)."""
    from aecodec.codecs.learned import LearnedImageCodec
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import image_to_bytes, output_format

    pairs = plan_outputs(inputs, output, ".png")
    codec = LearnedImageCodec(device=device)

    def work(src, dst):
        fmt = "PNG" if dst == "-" else output_format(dst)  # refuse unknown extensions up front
        check_output(dst, force)
        image = codec.decode(read_input_bytes(src))
        data = image_to_bytes(image, fmt)
        atomic_write(dst, data, force=force)
        return {"bytes": len(data), "height": image.height, "width": image.width}

    run_batch(pairs, work, as_json, "decode")


def read_input_bytes(src: str) -> bytes:
    if src == "-":
        return sys.stdin.buffer.read()
    path = Path(src)
    if path.is_dir():
        raise InputError(f"'{src}' is a directory; give .aec files")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"'{src}' does not exist; check the path") from None
    except OSError as e:
        raise InputError(f"cannot read '{src}': {e.strerror}; check permissions") from None


@cli.command()
@click.argument("file")
@JSON
def info(file, as_json):
    """Show an .aec file's header without loading any model."""
    from aecodec.container import unpack

    parsed = unpack(read_input_bytes(file))
    header = dict(parsed.header, bytes=sum(len(s) for s in parsed.streams))
    if as_json:
        click.echo(json.dumps(header, indent=2))
        return
    for key, value in header.items():
        click.echo(f"{key:>16}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")


@cli.command()
@JSON
def models(as_json):
    """List the installed models."""
    from aecodec.models.registry import list_cards

    cards = [{k: v for k, v in c.items() if not k.startswith("_")} for c in list_cards()]
    if as_json:
        click.echo(json.dumps(cards, indent=2))
        return
    if not cards:
        click.echo("no models installed")
    for c in cards:
        steps = c.get("trained", {}).get("steps", "?")
        click.echo(f"{c['name']:<24} {c.get('media', '?'):<6} {c.get('task', '?'):<9} {c['weights']['sha256'][:16]}  {steps} steps")
