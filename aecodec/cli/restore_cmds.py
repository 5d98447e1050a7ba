"""denoise and inpaint. Thin: options are parsed here, the work happens in aecodec.restore.

Images and audio are told apart as `encode` does (`media.detect.is_audio`); outputs are written
atomically, in the format named by their extension.
"""

from __future__ import annotations

from pathlib import Path

import click

from aecodec.cli.batch import (INPUTS_HELP, SKIP_EXISTING, existing_outputs, files_in_flight, plan_outputs,
                               read_source, refuse_same_file, run_batch)
from aecodec.cli.codec_cmds import tell_model
from aecodec.cli.common import FORCE, JSON, FiniteRange, Timings, device_option, option_value
from aecodec.errors import UsageError
from aecodec.media.detect import is_audio
from aecodec.media.kinds import AUDIO_WRITE_FORMATS, IMAGE_SUFFIXES

DEVICE = device_option("Where the restoration network runs.")


@click.command(epilog=INPUTS_HELP)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Output file (format by extension), '-' for PNG or WAV on stdout, or a folder for many inputs.")
@click.option("--sigma", type=FiniteRange(0, 255), default=None,
              help="Images: noise standard deviation in 8-bit units [default: estimated per image].")
@click.option("--strength", type=FiniteRange(0, 1), default=1.0, show_default=True,
              help="0 returns the input unchanged, 1 the fully denoised result; values between mix the two.")
@DEVICE
@FORCE
@SKIP_EXISTING
@JSON
def denoise(inputs, output, sigma, strength, device, force, skip_existing, as_json):
    """Remove noise from images and audio (WAV, FLAC, OGG, Opus, MP3 in; WAV or FLAC out)."""
    from aecodec.models.registry import read_card
    from aecodec.restore import audio as restore_audio
    from aecodec.restore import image as restore_image

    existing = existing_outputs(force, skip_existing)
    pairs = plan_outputs(inputs, output, output_suffix)
    kinds = {is_audio(src) for src, _ in pairs if src != "-"}
    preflight(device, [restore_image.DENOISER] * (False in kinds) + [restore_audio.DENOISER] * (True in kinds))

    def work(src, dst, progress):  # no steps to show: the restorers report none
        source = read_source(src)
        if is_audio(source):
            if sigma is not None:
                raise UsageError(f"--sigma is for images and '{src}' is audio; leave it out (audio needs no noise level)")
            stats = denoise_audio_file(source, dst, strength, device, force)
        else:
            stats = denoise_image_file(source, dst, sigma, strength, device, force)
        model = restore_audio.DENOISER if stats["media"] == "audio" else restore_image.DENOISER
        tell_model(src, lambda: read_card(model), device, Timings())
        return stats

    run_batch(pairs, work, as_json, "denoise", describe, in_flight=files_in_flight(device, len(pairs)),
              existing=existing)


@click.command(epilog=INPUTS_HELP)
@click.argument("input")
@click.option("-o", "--output", required=True,
              help="Output file (format by extension), '-' for PNG or WAV on stdout, or a folder for a folder or glob.")
@click.option("--mask", default=None,
              help="Images: a mask image of the same size; white (luminance >= 128) marks the pixels to fill.")
@click.option("--gap", default=None,
              help="Audio: the spans to fill, START-END or START+DURATION, comma-separated; times are "
                   "[[hh:]mm:]ss[.frac], each gap at most 1 s, e.g. 1:02.5-1:02.7,75+0.2.")
@device_option("Where the image inpainter runs (audio gaps are filled on the CPU).")
@FORCE
@SKIP_EXISTING
@JSON
def inpaint(input, output, mask, gap, device, force, skip_existing, as_json):
    """Fill holes in an image (--mask) or gaps in audio (--gap) from their surroundings."""
    from aecodec.restore.audio import parse_gaps  # numpy, no torch

    existing = existing_outputs(force, skip_existing)
    if mask is None and gap is None:
        raise UsageError("nothing to fill; give --mask MASK for an image or --gap START-END for audio")
    if mask is not None and gap is not None:
        raise UsageError("give --mask (images) or --gap (audio), not both")
    with option_value():  # malformed: a usage error, before any file is read
        gaps = None if gap is None else parse_gaps(gap)
    if mask is not None:
        refuse_same_file(mask, output)

    def work(src, dst, progress):
        source = read_source(src)
        if is_audio(source):
            if mask is not None:
                raise UsageError(f"--mask is for images and '{src}' is audio; give --gap START-END")
            return inpaint_audio_file(source, dst, gaps, force)
        if gap is not None:
            raise UsageError(f"--gap is for audio and '{src}' is an image; give --mask with a mask image")
        from aecodec.models.registry import read_card
        from aecodec.restore.image import INPAINTER

        stats = inpaint_image_file(source, dst, mask, device, force)
        tell_model(src, lambda: read_card(INPAINTER), device, Timings())
        return stats

    run_batch(plan_outputs((input,), output, output_suffix), work, as_json, "inpaint", describe, existing=existing)


def preflight(device: str, models: list[str]) -> None:
    """Fail once, before any file, on a missing device or model (not once per file of a batch)."""
    from aecodec.device import resolve_device
    from aecodec.models.registry import read_card

    resolve_device(device)
    for name in models:
        read_card(name)


def output_suffix(src: str) -> str:
    """A folder of outputs: each keeps its input's extension if it can be written, else .png / .wav."""
    suffix = Path(src).suffix.lower()
    if is_audio(src):
        return suffix if suffix in AUDIO_WRITE_FORMATS else ".wav"
    return suffix if suffix in IMAGE_SUFFIXES else ".png"


def denoise_image_file(source: str | bytes, dst: str, sigma: float | None, strength: float, device: str,
                       force: bool) -> dict:
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import image_to_bytes, output_format, read_image
    from aecodec.restore.image import ALIGN, MAX_PIXELS, denoise_image, estimate_sigma

    fmt = "PNG" if dst == "-" else output_format(dst)  # refuse unknown extensions up front
    check_output(dst, force)
    image = read_image(source, max_pixels=MAX_PIXELS, align=ALIGN)  # the network's limit, not the reader's
    # Estimated here rather than inside denoise_image so that the summary can say what was used.
    level = estimate_sigma(image.pixels[:, :, :3]) if sigma is None else sigma
    data = image_to_bytes(denoise_image(image, level, strength, device), fmt)
    atomic_write(dst, data, force=force)
    return {"media": "image", "width": image.width, "height": image.height, "mode": image.mode,
            "sigma": round(level, 3), "sigma_estimated": sigma is None, "strength": strength, "bytes": len(data)}


def denoise_audio_file(source: str | bytes, dst: str, strength: float, device: str, force: bool) -> dict:
    """Stream: blocks are read, denoised and written one by one, so any length fits in memory."""
    from aecodec.media.atomic import check_output
    from aecodec.media.audio import audio_writer, open_audio, output_audio_format, sample_format_like
    from aecodec.restore.audio import denoise_blocks

    fmt = "WAV" if dst == "-" else output_audio_format(dst)
    check_output(dst, force)
    frames_in = 0

    def counted(blocks):
        nonlocal frames_in
        for block in blocks:
            frames_in += block.shape[0]
            yield block

    with open_audio(source) as reader:
        info = reader.info
        with audio_writer(dst, info.sample_rate, info.channels, force=force, format=fmt,
                          sample_format=sample_format_like(info.subtype, fmt)) as writer:
            for block in denoise_blocks(counted(reader.blocks()), info.sample_rate, info.channels, strength, device):
                writer.write(block)
            if writer.frames != frames_in:  # a bug, but never one that leaves a short file behind
                raise RuntimeError(f"the denoiser returned {writer.frames} frames for {frames_in}")
    return {"media": "audio", "sample_rate": info.sample_rate, "channels": info.channels, "frames": frames_in,
            "duration_s": round(frames_in / info.sample_rate, 6), "strength": strength, **output_bytes(dst)}


def inpaint_image_file(source: str | bytes, dst: str, mask_path: str, device: str, force: bool) -> dict:
    from aecodec.media.atomic import atomic_write, check_output
    from aecodec.media.image import image_to_bytes, output_format, read_image
    from aecodec.restore.image import ALIGN, INPAINTER, MAX_PIXELS, inpaint_image
    from aecodec.restore.masks import read_mask

    fmt = "PNG" if dst == "-" else output_format(dst)
    check_output(dst, force)
    preflight(device, [INPAINTER])
    image = read_image(source, max_pixels=MAX_PIXELS, align=ALIGN)
    mask = read_mask(mask_path, image.width, image.height)
    holes = int(mask.sum())
    data = image_to_bytes(inpaint_image(image, mask, device) if holes else image, fmt)
    atomic_write(dst, data, force=force)
    return {"media": "image", "width": image.width, "height": image.height, "mode": image.mode,
            "filled_pixels": holes, "filled_fraction": round(holes / mask.size, 6), "bytes": len(data)}


def inpaint_audio_file(source: str | bytes, dst: str, gaps_s: list, force: bool) -> dict:
    """Stream: samples are copied block by block, and only the seconds around each gap are held."""
    from aecodec.media.atomic import check_output
    from aecodec.media.audio import audio_writer, open_audio, output_audio_format, sample_format_like
    from aecodec.restore.audio import gap_spans, inpaint_blocks

    fmt = "WAV" if dst == "-" else output_audio_format(dst)
    check_output(dst, force)
    with open_audio(source) as reader:
        info = reader.info
        rate = info.sample_rate
        gaps = gap_spans(gaps_s, rate, info.frames)  # the header's length: checked before any sample is read
        with audio_writer(dst, rate, info.channels, force=force, format=fmt,
                          sample_format=sample_format_like(info.subtype, fmt)) as writer:
            for block in inpaint_blocks(reader.blocks(), gaps, rate, info.channels):
                writer.write(block)
            frames = writer.frames
    gaps = [(start, min(end, frames)) for start, end in gaps if start < frames]  # a header may promise more
    return {"media": "audio", "sample_rate": rate, "channels": info.channels, "frames": frames,
            "gaps_s": [[round(s / rate, 6), round(e / rate, 6)] for s, e in gaps],
            "filled_frames": sum(end - start for start, end in gaps), **output_bytes(dst)}


def output_bytes(dst: str) -> dict:
    return {} if dst == "-" else {"bytes": Path(dst).stat().st_size}


def describe(s: dict) -> str:
    """One summary line per file."""
    if s["media"] == "image":
        what = f"{s['width']}x{s['height']} {s['mode']}"
        if "sigma" in s:
            what += f", sigma {s['sigma']:.1f}{' (estimated)' if s['sigma_estimated'] else ''}, strength {s['strength']:g}"
        elif s["filled_pixels"]:
            what += f", filled {s['filled_pixels']} pixels ({100 * s['filled_fraction']:.2f} %)"
        else:
            what += ", the mask is empty: nothing to fill, written unchanged"
    else:
        what = f"{s['sample_rate']} Hz, {s['channels']} ch, {s['frames'] / s['sample_rate']:.2f} s"
        if "strength" in s:
            what += f", strength {s['strength']:g}"
        else:
            gaps = len(s["gaps_s"])
            what += (f", filled {gaps} gap{'s' * (gaps > 1)} ({s['filled_frames'] / s['sample_rate']:.3f} s)" if gaps
                     else ", no gap within the audio: written unchanged")
    return f"{s['input']} -> {s['output']}: {what} ({s['seconds']:.2f} s)"


COMMANDS = (denoise, inpaint)
