"""encode and decode. Thin: options are parsed here, work happens in codecs/."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click

from aecodec.cli.batch import (INPUTS_HELP, SKIP_EXISTING, Once, existing_outputs, files_in_flight, plan_outputs,
                               read_source, run_batch)
from aecodec.cli.common import FORCE, JSON, FiniteRange, Timings, detail, device_option, model_words, verbose
from aecodec.cli.inputs import Wanted
from aecodec.errors import AecError, InputError, UsageError
from aecodec.media.detect import head, is_audio

DEVICE = device_option("Where the transforms run; files decode bit-exactly on any of them.")
CODEC_ALIGN = 64  # the image codec pads both sides to its stride (HyperpriorTransforms.stride)
AEC_MAGIC = b"AEC\x1a"  # aecodec.container.MAGIC, without importing the container for --help
POSITIVE = FiniteRange(min=0, min_open=True)  # --bpp, --kbps
DEFAULT_QUALITY = 75.0
AEC_FILES = Wanted(lambda path: path.lower().endswith(".aec") or head(path).startswith(AEC_MAGIC), ".aec")


@click.command(epilog=INPUTS_HELP)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Output .aec file, '-' for stdout, or a folder for many inputs.")
@click.option("-q", "--quality", type=FiniteRange(1, 100), default=None, help="Higher is better (default 75).")
@click.option("--bpp", type=POSITIVE, default=None,
              help="Images: the highest quality whose file is at most this many bits per pixel "
                   "(out of reach: quality 1, with a warning).")
@click.option("--kbps", type=POSITIVE, default=None,
              help="Audio: the highest quality whose file is at most this many kbit/s "
                   "(out of reach: quality 1, with a warning).")
@click.option("--model", default=None, help="Model from 'aecodec models' [default: image-hyperprior or audio-mdct].")
@click.option("--effort", type=click.IntRange(1, 9), default=None,
              help="Images: 1 (default, fastest) to 9 (slowest, smallest): optimises the latents for the decoder "
                   "longer; same format, any aecodec decodes it. Images over 2 MP (padded) get effort 1.")
@click.option("--strip-metadata", is_flag=True,
              help="Images: leave out the ICC profile, EXIF (camera, time, GPS position) and XMP.")
@DEVICE
@FORCE
@SKIP_EXISTING
@JSON
def encode(inputs, output, quality, bpp, kbps, model, effort, strip_metadata, device, force, skip_existing, as_json):
    """Compress images and audio (WAV, FLAC, OGG, Opus, MP3) into .aec files."""
    from aecodec.codecs.image import MAX_PIXELS, LearnedImageCodec
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import read_image

    existing = existing_outputs(force, skip_existing)
    if sum(v is not None for v in (quality, bpp, kbps)) > 1:
        raise UsageError("give one of --quality, --bpp and --kbps, not several")
    pairs = plan_outputs(inputs, output, ".aec")
    codec = LearnedImageCodec(model=model or "image-hyperprior", device=device)
    audio_codec = Once(lambda: _audio_codec(model, device))  # images never import it

    def work(src, dst, progress):
        check_output(dst, force)
        source = read_source(src)
        if is_audio(source):
            if bpp is not None:
                raise UsageError(f"--bpp is for images and '{src}' is audio; use --kbps or --quality")
            if effort is not None:
                raise UsageError(f"--effort is for images and '{src}' is audio; leave it out")
            return encode_audio(audio_codec(), source, src, dst, quality, kbps, force, progress)
        if kbps is not None:
            raise UsageError(f"--kbps is for audio and '{src}' is an image; use --bpp or --quality")
        times = Timings()
        with times("read"):  # the codec's own pixel limit, counted on the padded image it will really transform
            image = read_image(source, max_pixels=MAX_PIXELS, align=CODEC_ALIGN, metadata=not strip_metadata)
        with times("code"):
            data, q = encode_at(partial(codec.encode, effort=effort or 1),
                                partial(codec.encode_to_bpp, effort=effort or 1), image, quality, bpp, progress)
        with times("write"):
            atomic_write(dst, data, force=force)
        tell_model(src, lambda: codec.loaded()[0], device, times)
        return {"bytes": len(data), "bpp": len(data) * 8 / (image.height * image.width), "quality": q,
                "height": image.height, "width": image.width}

    run_batch(pairs, work, as_json, "encode", in_flight=files_in_flight(device, len(pairs)), existing=existing)


def _audio_codec(model: str | None, device: str):
    from aecodec.codecs import audio_codec

    return audio_codec(model, device)


def tell_model(src: str, card, device: str, times: Timings) -> None:
    """--verbose: the model (``card()``, its card) and device a file was coded with, and where its time went."""
    if verbose():
        from aecodec.device import resolve_device

        detail(f"{src}: {model_words(card())} on {resolve_device(device).type}" + (f"; {times}" if times.parts else ""))


def encode_at(encode, encode_to_rate, item, quality: float | None, rate: float | None,
              progress=None) -> tuple[bytes, float]:
    """Encode at a rate target (--bpp / --kbps) if given, else at --quality (default 75). A target
    out of reach gives the quality-1 file, with the codec's warning (as ``cwebp -size``)."""
    if rate is not None:
        result = encode_to_rate(item, rate, or_lowest=True, progress=progress)
        return result.data, result.quality
    q = DEFAULT_QUALITY if quality is None else quality
    return encode(item, q, progress=progress), q


def encode_audio(codec, source: str | bytes, src: str, dst: str, quality: float | None, kbps: float | None,
                 force: bool, progress=None) -> dict:
    from aecodec.container import read_header
    from aecodec.media.atomic import atomic_write
    from aecodec.media.audio import open_audio

    times = Timings()
    with times("read and code"), open_audio(source) as reader:  # streamed: reading and coding interleave
        if hasattr(codec, "pick"):  # no --model: the model this file gets
            codec = codec.pick(reader, quality=DEFAULT_QUALITY if quality is None else quality, kbps=kbps)
        data, q = encode_at(codec.encode, codec.encode_to_kbps, reader, quality, kbps, progress)
        info = reader.info
    with times("write"):
        atomic_write(dst, data, force=force)
    tell_model(src, lambda: codec.loaded()[0], codec.device, times)
    header = read_header(data)
    seconds = header["frames"] / info.sample_rate  # what was decodable, not what the file claimed
    return {"bytes": len(data), "kbps": len(data) * 8 / seconds / 1000, "quality": q,
            "sample_rate": info.sample_rate, "channels": info.channels, "duration_s": round(seconds, 6),
            "model": header["model"]["name"]}


@click.command(epilog=INPUTS_HELP)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Output file (format by extension), '-' for PNG or WAV on stdout, or a folder (.png / .wav files).")
@click.option("--sample-format", type=click.Choice(["16", "24", "float"]), default=None,
              help="Audio: 16- or 24-bit integer samples, or 32-bit float (WAV only) [default: 16].")
@DEVICE
@FORCE
@SKIP_EXISTING
@JSON
def decode(inputs, output, sample_format, device, force, skip_existing, as_json):
    """Decompress .aec files into images (PNG, JPEG, TIFF, WebP) or audio (WAV, FLAC) by extension."""
    from aecodec.codecs.image import LearnedImageCodec
    from aecodec.container import read_header, unpack
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import image_to_bytes, output_format
    from aecodec.models.registry import read_card

    def suffix(src: str) -> str:  # a folder of outputs: each file's own kind
        try:
            return ".wav" if src != "-" and read_header(src)["media"] == "audio" else ".png"
        except AecError:
            return ".png"  # the decode reports it

    existing = existing_outputs(force, skip_existing)
    pairs = plan_outputs(inputs, output, suffix, AEC_FILES)
    codec = LearnedImageCodec(device=device)
    audio_codecs = {}  # by the model a file names: each architecture has its own codec

    def audio_codec(name: str):
        if name not in audio_codecs:
            audio_codecs[name] = _audio_codec(name, device)
        return audio_codecs[name]

    def work(src, dst, progress):
        times = Timings()
        with times("read"):
            parsed = unpack(read_input_bytes(src))  # parsed and checked once: the codecs take it as is
        model = parsed.header["model"]
        if parsed.header["media"] == "audio":
            with times("decode and write"):  # streamed
                stats = decode_audio(audio_codec(model["name"]), parsed, dst, sample_format or "16", force, progress)
            tell_model(src, lambda: read_card(model["name"], model["sha256"]), device, times)
            return stats
        if sample_format is not None:
            raise UsageError(f"--sample-format is for audio and '{src}' holds an image; leave it out")
        fmt = "PNG" if dst == "-" else output_format(dst)  # refuse unknown extensions up front
        check_output(dst, force)
        with times("decode"):
            image = codec.decode(parsed, progress=progress)
        with times("write"):
            data = image_to_bytes(image, fmt)
            atomic_write(dst, data, force=force)
        tell_model(src, lambda: read_card(model["name"], model["sha256"]), device, times)
        return {"bytes": len(data), "height": image.height, "width": image.width}

    run_batch(pairs, work, as_json, "decode", in_flight=files_in_flight(device, len(pairs)), existing=existing)


def decode_audio(codec, data, dst: str, sample_format: str, force: bool, progress=None) -> dict:
    from aecodec.media.atomic import check_output
    from aecodec.media.audio import audio_writer, output_audio_format

    fmt = "WAV" if dst == "-" else output_audio_format(dst)  # refuse unknown extensions up front
    check_output(dst, force)
    header = codec.decode_to(data, lambda rate, channels: audio_writer(
        dst, rate, channels, force=force, sample_format=sample_format, format=fmt), progress=progress)
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


COMMANDS = (encode, decode)
