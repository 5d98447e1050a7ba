"""`aecodec train` and `aecodec export`: retrain shipped models and freeze them into pretrained/."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aecodec.cli.main import cli
from aecodec.errors import InputError

RECIPES = Path(__file__).resolve().parents[1] / "train" / "recipes"
RESTORE_TASKS = ("image-denoise", "image-inpaint", "audio-denoise")
TASKS = ("image-codec", "audio-codec") + RESTORE_TASKS
MODEL_NAMES = {"image-codec": "image-hyperprior", "audio-codec": "audio-conv-lstm",
               "image-denoise": "image-denoise-unet", "image-inpaint": "image-inpaint-unet",
               "audio-denoise": "audio-denoise-gru"}
DATA_NOTES = {"image-codec": "shared/data/images/train (SOURCES.md)",
              "audio-codec": "shared/data/audio/speech + shared/data/audio/music (SOURCES.md)",
              "image-denoise": "shared/data/images/train (SOURCES.md), synthetic noise",
              "image-inpaint": "shared/data/images/train (SOURCES.md), synthetic brush-stroke and box masks",
              "audio-denoise": "shared/data/audio/speech + music (clean), shared/data/audio/noise (SOURCES.md)"}


@cli.command()
@click.argument("task", type=click.Choice(TASKS))
@click.option("--data", required=True, multiple=True,
              help="Folder of training data (images; audio: give it once per folder, e.g. speech and music).")
@click.option("--out", required=True, help="Run folder: checkpoint.pt and log.jsonl go here.")
@click.option("--config", default=None, help="Recipe JSON (default: the shipped model's recipe).")
@click.option("--steps", type=int, default=None, help="Total steps of this run.")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt (model, optimiser, step, RNG).")
@click.option("--init", default=None, help="Start from these weights: a .safetensors in pretrained/ or a .pt checkpoint.")
@click.option("--noise-data", default=None, help="audio-denoise: folder of noise recordings mixed into the clean audio.")
@click.option("--val-data", default=None,
              help="Held-out data for periodic validation (audio-denoise: a folder with speech/ and noise/).")
@click.option("--threads", type=int, default=None, help="CPU threads for torch.")
@click.option("--seed", type=int, default=None,
              help="Seed of the run's batches and noise (default: the recipe's); a continuation wants a new one.")
@click.option("--workers", type=click.IntRange(min=-1), default=None,
              help="Processes making batches (default: the recipe's, -1 = 0 on CPU, 4 on CUDA).")
@click.option("--amp", default=None, type=click.Choice(["auto", "on", "off"]),
              help="bfloat16 mixed precision for the transforms (default: the recipe's; auto = where bfloat16 is native: CUDA, CPUs with AVX512-BF16 or AMX).")
@click.option("--device", default=None, type=click.Choice(["auto", "cpu", "cuda"]),
              help="Where to train (default: the recipe's, auto = CUDA when present).")
def train(task, data, out, config, steps, resume, init, noise_data, val_data, threads, seed, workers, amp, device):
    """Train a model on your own data."""
    extra = {}
    if task in RESTORE_TASKS:
        from aecodec.train.restore import load_recipe, train as run

        if task != "audio-denoise" and len(data) > 1:
            raise InputError(f"{task} trains on one --data folder; put the images under one folder")
        data, extra = list(data), {"noise_data": noise_data}
    elif task == "audio-codec":
        from aecodec.train.audio_codec import load_recipe, train as run

        data = list(data)
    else:
        from aecodec.train.image_codec import load_recipe, train as run

        if len(data) > 1:
            raise InputError("image-codec trains on one --data folder; put the images under one folder")
        data = data[0]
    config = config or str(RECIPES / f"{task}.json")
    if not Path(config).is_file():
        raise InputError(f"recipe '{config}' does not exist; pass --config FILE")
    if init and not Path(init).is_file():
        raise InputError(f"--init '{init}' does not exist; give a .safetensors or .pt file")
    if noise_data and task != "audio-denoise":
        raise InputError("--noise-data is only for audio-denoise")
    cfg = load_recipe(config, data=data, out=out, steps=steps, init=init, val_data=val_data, threads=threads,
                      seed=seed, workers=workers, amp=amp, device=device, **extra)
    ckpt = run(cfg, resume=resume, log=lambda line: click.echo(line, err=True))
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line for the whole job
        click.echo(f"checkpoint: {ckpt}")


@cli.command()
@click.argument("task", type=click.Choice(TASKS))
@click.option("--checkpoint", required=True, help="checkpoint.pt written by 'aecodec train'.")
@click.option("--out", default="pretrained", show_default=True, help="Folder of shipped models.")
@click.option("--name", default=None, help="Model name (default: image-hyperprior or audio-conv-lstm).")
@click.option("--version", "version", type=int, required=True, help="Model version (never overwrite a shipped one).")
@click.option("--command", "command", default="", help="The training command to record in the model card.")
@click.option("--force", is_flag=True, help="Overwrite an existing version (only for unreleased weights).")
def export(task, checkpoint, out, name, version, command, force):
    """Freeze a checkpoint into safetensors + card (codecs: with integer CDF tables)."""
    from aecodec.train.export import export_audio_codec, export_image_codec, export_restore

    name = name or MODEL_NAMES[task]

    if not Path(checkpoint).is_file():
        raise InputError(f"checkpoint '{checkpoint}' does not exist; run 'aecodec train' first")
    if (Path(out) / f"{name}.v{version}.json").exists() and not force:
        raise InputError(f"{name} v{version} exists in {out}; pick a new --version (files made with it must keep decoding)")
    extra = {"trained": {"command": command, "data": DATA_NOTES[task]}} if command else {}
    exporter = {"image-codec": export_image_codec, "audio-codec": export_audio_codec}.get(task, export_restore)
    card = exporter(checkpoint, out, name, version, extra)
    click.echo(f"wrote {card}")
