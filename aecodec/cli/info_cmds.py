"""info and models: tables for people, JSON Lines (one compact object per line) with --json.

Both read headers and model cards only: no torch, no numpy, so they answer at once.
"""

from __future__ import annotations

import json
import math

import click

from aecodec.cli.codec_cmds import read_input_bytes
from aecodec.cli.common import escaped, model_words, verbose
from aecodec.errors import AecError

# Header keys the table shows in words; the others (and these too with --verbose) follow as they are.
SHOWN = {"media", "model", "quality", "geometry", "tiles", "residual", "channel_coding", "channels", "sample_rate",
         "frames", "side_quality", "silence"}
TECHNICAL = {"streams", "y_group_channels", "chunking", "dc_offset", "envelope", "mdct"}  # only with --verbose


@click.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the header and what follows from it as one JSON line.")
def info(file, as_json):
    """Show an .aec file's header without loading any model."""
    from aecodec.container import unpack

    data = read_input_bytes(file)
    parsed = unpack(data)
    header = parsed.header
    facts = derived(header, len(data))
    if as_json:  # ASCII: every control character escaped
        click.echo(json.dumps(dict(header, bytes=sum(len(s) for s in parsed.streams), **facts)))
        return
    rows = [("file", file), *described(header, facts)]
    hidden = SHOWN if verbose() else SHOWN | TECHNICAL
    rows += [(key, text) for name, value in header.items() if name not in hidden for key, text in flat(name, value)]
    width = min(24, max(len(escaped(key)) for key, _ in rows))
    for key, text in rows:
        click.echo(f"{escaped(key):<{width}}  {escaped(text)}")


def derived(header: dict, file_bytes: int) -> dict:
    """What the header implies: file size, model version, bpp or duration and kbps (JSON keys)."""
    facts = {"file_bytes": file_bytes, "model_version": model_card(header).get("version")}
    if header.get("media") == "image":
        geometry = header.get("geometry") if isinstance(header.get("geometry"), dict) else {}
        width, height = number(geometry.get("width")), number(geometry.get("height"))
        if width and height:
            facts["bpp"] = round(file_bytes * 8 / (width * height), 4)
    elif header.get("media") == "audio":
        frames, rate = number(header.get("frames")), number(header.get("sample_rate"))
        if frames and rate:
            facts["duration_s"] = round(frames / rate, 6)
            facts["kbps"] = round(file_bytes * 8 / (frames / rate) / 1000, 3)
    return facts


def described(header: dict, facts: dict) -> list[tuple[str, str]]:
    """The table's rows in words."""
    rows = [("media", str(header.get("media"))), ("size", f"{facts['file_bytes']} bytes")]
    card = model_card(header)
    model = header.get("model") if isinstance(header.get("model"), dict) else {}
    rows.append(("model", model_words(card) if card else
                 f"{model.get('name')} ({model.get('sha256')}), not installed: install the aecodec version "
                 "that made the file"))
    quality = number(header.get("quality"))
    if header.get("media") == "audio":
        envelope = header.get("envelope") if isinstance(header.get("envelope"), dict) else {}
        asked = number(envelope.get("quality"))
        if asked is not None and quality is not None:
            rows.append(("quality", f"{asked:g} (waveform layer {quality:g})"))
        elif quality is not None:
            rows.append(("quality", f"{quality:g}"))
        rows += audio_rows(header, facts)
    else:
        if quality is not None:
            rows.append(("quality", f"{quality:g}"))
        rows += image_rows(header, facts)
    return rows


def image_rows(header: dict, facts: dict) -> list[tuple[str, str]]:
    rows = []
    geometry = header.get("geometry") if isinstance(header.get("geometry"), dict) else {}
    if "bpp" in facts:
        rows.append(("image", f"{geometry['width']} x {geometry['height']}, {geometry.get('mode', '?')}"))
        rows.append(("bpp", f"{facts['bpp']:.4f}"))
    tiles = header.get("tiles") if isinstance(header.get("tiles"), dict) else {}
    size = number(tiles.get("size"))
    if size is not None:
        rows.append(("tiles", "none (the whole image at once)" if size == 0 else f"{size:g} x {size:g} pixels"))
    residual = header.get("residual") if isinstance(header.get("residual"), dict) else {}
    step = number(residual.get("step"))
    if step is not None:
        rows.append(("residual", f"step {step:g}: every sample within {(step - 1) / 2:g} of the original"))
    return rows


def audio_rows(header: dict, facts: dict) -> list[tuple[str, str]]:
    rows = []
    channels, coding = number(header.get("channels")), header.get("channel_coding")
    if "duration_s" in facts:
        layout = f"{channels:g} channel{'s' * (channels != 1)}" if channels is not None else "? channels"
        if coding == "mid-side" and number(header.get("side_quality")) is not None:
            layout += f", coded mid-side (side at quality {header['side_quality']:g})"
        elif isinstance(coding, str):
            layout += f", coded {coding}"
        rows.append(("audio", f"{header['sample_rate']} Hz, {layout}"))
        rows.append(("duration", f"{facts['duration_s']:.3f} s ({header['frames']} frames)"))
        rows.append(("bitrate", f"{facts['kbps']:.2f} kbps"))
    silence = header.get("silence")
    if isinstance(silence, list):
        rows.append(("silence", f"{len(silence)} run{'s' * (len(silence) != 1)} of digital silence"
                     if silence else "none"))
    return rows


def model_card(header: dict) -> dict:
    """The installed card of the model the header names, or {} when it is not installed."""
    from aecodec.models.registry import read_card

    model = header.get("model")
    try:
        return read_card(model["name"], model["sha256"])
    except (AecError, KeyError, TypeError, AttributeError):
        return {}


def number(value) -> float | None:
    """``value`` if it is a finite int or float (not a bool), else None: a header is input."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def flat(name: str, value) -> list[tuple[str, str]]:
    """A header entry as (dotted key, text) rows: objects spread out, lists comma-separated."""
    if isinstance(value, dict):
        return [row for key, sub in value.items() for row in flat(f"{name}.{key}", sub)] or [(name, "{}")]
    if isinstance(value, list):
        return [(name, ", ".join(str(v) if not isinstance(v, (dict, list)) else json.dumps(v) for v in value))]
    return [(name, str(value))]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per model card.")
def models(as_json):
    """List the installed models (every version: files made with old ones keep decoding)."""
    from aecodec.models.registry import list_cards

    cards = [{k: v for k, v in c.items() if not k.startswith("_")} for c in list_cards()]
    if as_json:
        for card in cards:
            click.echo(json.dumps(card))
        return
    if not cards:
        click.echo("no models installed")
        return
    rows = [("NAME", "VERSION", "MEDIA", "TASK", "WEIGHTS", "STEPS")]
    for c in cards:
        trained = c.get("trained") if isinstance(c.get("trained"), dict) else {}
        rows.append(tuple(escaped(str(v)) for v in (c["name"], c.get("version", "?"), c.get("media", "?"),
                                                     c.get("task", "?"), c["weights"]["sha256"][:16],
                                                     trained.get("steps", "?"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


COMMANDS = (info, models)
