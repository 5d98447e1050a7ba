"""encode, decode, info and models. Thin: options are parsed here, work happens in codecs/."""

from __future__ import annotations

import json
from pathlib import Path

import click

from aecodec.cli.batch import Once, files_in_flight, plan_outputs, read_source, run_batch
from aecodec.cli.common import FORCE, JSON, device_option, escaped
from aecodec.errors import AecError, InputError
from aecodec.media.detect import is_audio

DEVICE = device_option("Where the transforms run; files decode bit-exactly on any of them.")
CODEC_ALIGN = 64  # the image codec pads both sides to its stride (HyperpriorTransforms.stride)
AEC_MAGIC = b"AEC\x1a"  # aecodec.container.MAGIC, without importing the container for --help


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Output .aec file, '-' for stdout, or a folder for many inputs.")
@click.option("-q", "--quality", type=float, default=None, help="1..100, higher is better (default 75).")
@click.option("--bpp", type=float, default=None, help="Images: the highest quality whose file is at most this many bits per pixel.")
@click.option("--kbps", type=float, default=None, help="Audio: the highest quality whose file is at most this many kbit/s.")
@click.option("--model", default=None, help="Model from 'aecodec models' [default: image-hyperprior or audio-conv-lstm].")
@DEVICE
@FORCE
@JSON
def encode(inputs, output, quality, bpp, kbps, model, device, force, as_json):
    """Compress images and audio (WAV, FLAC, OGG, Opus, MP3) into .aec files."""
    from aecodec.codecs.base import check_quality
    from aecodec.codecs.image import MAX_PIXELS, LearnedImageCodec
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import read_image

    if sum(v is not None for v in (quality, bpp, kbps)) > 1:
        raise InputError("give one of --quality, --bpp and --kbps, not several")
    if quality is not None:
        check_quality(quality)
    pairs = plan_outputs(inputs, output, ".aec")
    codec = LearnedImageCodec(model=model or "image-hyperprior", device=device)
    audio_codec = Once(lambda: _audio_codec(model or "audio-conv-lstm", device))  # images never import it

    def work(src, dst):
        check_output(dst, force)
        source = read_source(src)
        if is_audio(source):
            if bpp is not None:
                raise InputError(f"--bpp is for images and '{src}' is audio; use --kbps or --quality")
            return encode_audio(audio_codec(), source, dst, quality, kbps, force)
        if kbps is not None:
            raise InputError(f"--kbps is for audio and '{src}' is an image; use --bpp or --quality")
        # The codec's own pixel limit, counted on the padded image it will really transform.
        image = read_image(source, max_pixels=MAX_PIXELS, align=CODEC_ALIGN)
        data, q = encode_at(codec.encode, codec.encode_to_bpp, image, quality, bpp)
        atomic_write(dst, data, force=force)
        return {"bytes": len(data), "bpp": len(data) * 8 / (image.height * image.width), "quality": q,
                "height": image.height, "width": image.width}

    run_batch(pairs, work, as_json, "encode", in_flight=files_in_flight(device, len(pairs)))


def _audio_codec(model: str, device: str):
    from aecodec.codecs.audio import LearnedAudioCodec

    return LearnedAudioCodec(model=model, device=device)


def encode_at(encode, encode_to_rate, item, quality: float | None, rate: float | None) -> tuple[bytes, float]:
    """Encode at a rate target (--bpp / --kbps) if given, else at --quality (default 75)."""
    if rate is not None:
        result = encode_to_rate(item, rate)
        return result.data, result.quality
    q = 75.0 if quality is None else quality
    return encode(item, q), q


def encode_audio(codec, source: str | bytes, dst: str, quality: float | None, kbps: float | None, force: bool) -> dict:
    from aecodec.container import read_header
    from aecodec.media.atomic import atomic_write
    from aecodec.media.audio import open_audio

    with open_audio(source) as reader:
        data, q = encode_at(codec.encode, codec.encode_to_kbps, reader, quality, kbps)
        info = reader.info
    atomic_write(dst, data, force=force)
    seconds = read_header(data)["frames"] / info.sample_rate  # what was decodable, not what the file claimed
    return {"bytes": len(data), "kbps": len(data) * 8 / seconds / 1000, "quality": q,
            "sample_rate": info.sample_rate, "channels": info.channels, "duration_s": round(seconds, 6)}


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Output file (format by extension), '-' for PNG or WAV on stdout, or a folder (.png / .wav files).")
@click.option("--sample-format", type=click.Choice(["16", "24", "float"]), default=None,
              help="Audio: 16- or 24-bit integer samples, or 32-bit float (WAV only) [default: 16].")
@DEVICE
@FORCE
@JSON
def decode(inputs, output, sample_format, device, force, as_json):
    """Decompress .aec files into images (PNG, JPEG, TIFF, WebP) or audio (WAV, FLAC) by extension."""
    from aecodec.codecs.image import LearnedImageCodec
    from aecodec.container import read_header, unpack
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import image_to_bytes, output_format

    def suffix(src: str) -> str:  # a folder of outputs: each file's own kind
        try:
            return ".wav" if src != "-" and read_header(src)["media"] == "audio" else ".png"
        except AecError:
            return ".png"  # the decode reports it

    pairs = plan_outputs(inputs, output, suffix)
    codec = LearnedImageCodec(device=device)
    audio_codec = Once(lambda: _audio_codec("audio-conv-lstm", device))

    def work(src, dst):
        parsed = unpack(read_input_bytes(src))  # parsed and checked once: the codecs take it as is
        if parsed.header["media"] == "audio":
            return decode_audio(audio_codec(), parsed, dst, sample_format or "16", force)
        if sample_format is not None:
            raise InputError(f"--sample-format is for audio and '{src}' holds an image; leave it out")
        fmt = "PNG" if dst == "-" else output_format(dst)  # refuse unknown extensions up front
        check_output(dst, force)
        image = codec.decode(parsed)
        data = image_to_bytes(image, fmt)
        atomic_write(dst, data, force=force)
        return {"bytes": len(data), "height": image.height, "width": image.width}

    run_batch(pairs, work, as_json, "decode", in_flight=files_in_flight(device, len(pairs)))


def decode_audio(codec, data, dst: str, sample_format: str, force: bool) -> dict:
    from aecodec.media.atomic import check_output
    from aecodec.media.audio import audio_writer, output_audio_format

    fmt = "WAV" if dst == "-" else output_audio_format(dst)  # refuse unknown extensions up front
    check_output(dst, force)
    header = codec.decode_to(data, lambda rate, channels: audio_writer(
        dst, rate, channels, force=force, sample_format=sample_format, format=fmt))
    stats = {"sample_rate": header.sample_rate, "channels": header.channels, "frames": header.frames}
    if dst != "-":
        stats["bytes"] = Path(dst).stat().st_size
    return stats


def read_input_bytes(src: str) -> bytes:
    """An .aec file's bytes: a regular file, or standard input (which must start like one, and
    is read up to a bound; see aecodec.media.inputs)."""
    from aecodec.media.inputs import read_regular_file, read_stdin

    if src == "-":
        return read_stdin(_aec_error("standard input"), accept=lambda head: head.startswith(AEC_MAGIC),
                          kind="an .aec file")
    return read_regular_file(src, _aec_error(src), directory_hint="give .aec files")


def _aec_error(src: str):
    def error(reason: str, hint: str) -> InputError:
        if reason == "no such file":
            return InputError(f"'{src}' does not exist; check the path")
        if reason == "it is a directory":
            return InputError(f"'{src}' is a directory; {hint}")
        return InputError(f"cannot read '{src}': {reason}; {hint}")

    return error


@click.command()
@click.argument("file")
@JSON
def info(file, as_json):
    """Show an .aec file's header without loading any model."""
    from aecodec.container import unpack

    parsed = unpack(read_input_bytes(file))
    header = dict(parsed.header, bytes=sum(len(s) for s in parsed.streams))
    if as_json:
        click.echo(json.dumps(header, indent=2))  # ASCII: every control character escaped
        return
    for key, value in header.items():
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        click.echo(f"{escaped(key):>16}: {escaped(text)}")


@click.command()
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


COMMANDS = (encode, decode, info, models)
