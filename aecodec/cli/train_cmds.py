"""`aecodec train` and `aecodec export`: retrain shipped models and freeze them into aecodec/pretrained/."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aecodec.cli.common import notice, option_value, say
from aecodec.errors import InputError, UsageError

RECIPES = Path(__file__).resolve().parents[1] / "train" / "recipes"
RESTORE_TASKS = ("image-denoise", "image-inpaint", "audio-denoise", "audio-music-detector")  # train/restore.py's tasks
AUDIO_FOLDER_TASKS = ("audio-denoise", "audio-music-detector")  # --data speech, then music; --noise-data
TASKS = ("image-codec", "audio-codec", "audio-mdct") + RESTORE_TASKS
MODEL_NAMES = {"image-codec": "image-hyperprior", "audio-codec": "audio-conv-lstm", "audio-mdct": "audio-mdct",
               "image-denoise": "image-denoise-unet", "image-inpaint": "image-inpaint-unet",
               "audio-denoise": "audio-denoise-gru", "audio-music-detector": "audio-music-detector"}
DATA_NOTES = {"image-codec": "shared/data/images/train (SOURCES.md)",
              "audio-codec": "shared/data/audio/speech + shared/data/audio/music (SOURCES.md)",
              "audio-mdct": "shared/data/audio/speech + shared/data/audio/music (SOURCES.md)",
              "image-denoise": "shared/data/images/train (SOURCES.md), synthetic noise",
              "image-inpaint": "shared/data/images/train (SOURCES.md), synthetic brush-stroke and box masks",
              "audio-denoise": "shared/data/audio/speech + music (clean), shared/data/audio/noise (SOURCES.md)",
              "audio-music-detector": "shared/data/audio/speech, music and noise (SOURCES.md), synthetic music"}


ARCHITECTURES = {"image-codec": "image-hyperprior", "audio-codec": "audio-conv-lstm", "audio-mdct": "audio-mdct",
                 "image-denoise": "restore-unet",
                 "image-inpaint": "restore-unet", "audio-denoise": "audio-mask-gru",
                 "audio-music-detector": "audio-music-detector"}


@click.command()
@click.argument("task", type=click.Choice(TASKS))
@click.option("--data", required=True, multiple=True,
              help="Folder of training data (images; audio: give it once per folder, e.g. speech and music).")
@click.option("--out", required=True, help="Run folder: checkpoint.pt and log.jsonl go here.")
@click.option("--config", default=None, help="Recipe JSON (default: the shipped model's recipe).")
@click.option("--steps", type=int, default=None, help="Total steps of this run.")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt (model, optimiser, step, RNG).")
@click.option("--force", is_flag=True,
              help="Start a new run in an --out that holds one (its checkpoint is replaced, its log appended to).")
@click.option("--init", default=None, help="Start from these weights: a .safetensors in aecodec/pretrained/ or a .pt checkpoint.")
@click.option("--noise-data", default=None,
              help="audio-denoise, audio-music-detector: folder of noise recordings mixed into the audio.")
@click.option("--val-data", default=None,
              help="Held-out data for periodic validation (audio-denoise: a folder with speech/ and noise/; "
                   "audio-music-detector: speech/ and music/).")
@click.option("--threads", type=int, default=None, help="CPU threads for torch.")
@click.option("--seed", type=int, default=None,
              help="Seed of the run's batches and noise (default: the recipe's); a continuation wants a new one.")
@click.option("--workers", type=click.IntRange(min=-1), default=None,
              help="Processes making batches (default: the recipe's, -1 = 0 on CPU, 4 on CUDA).")
@click.option("--amp", default=None, type=click.Choice(["auto", "on", "off"]),
              help="bfloat16 mixed precision for the transforms (default: the recipe's; auto = where bfloat16 is native: CUDA, CPUs with AVX512-BF16 or AMX).")
@click.option("--device", default=None, type=click.Choice(["auto", "cpu", "cuda"]),
              help="Where to train (default: the recipe's, auto = CUDA when present).")
def train(task, data, out, config, steps, resume, force, init, noise_data, val_data, threads, seed, workers, amp,
          device):
    """Train a model on your own data."""
    from aecodec.train.recipe import read_recipe, validate_recipe

    if noise_data and task not in AUDIO_FOLDER_TASKS:
        raise UsageError(f"--noise-data is only for {' and '.join(AUDIO_FOLDER_TASKS)}; leave it out")
    extra = {}
    Config, load_recipe, run, nested, options = trainer(task)
    if task in RESTORE_TASKS:
        if task not in AUDIO_FOLDER_TASKS and len(data) > 1:
            raise UsageError(f"{task} trains on one --data folder; put the images under one folder")
        data, extra = list(data), {"noise_data": noise_data}
    elif task in ("audio-codec", "audio-mdct"):
        data = list(data)
    else:
        if len(data) > 1:
            raise UsageError("image-codec trains on one --data folder; put the images under one folder")
        data = data[0]
    config = config or str(RECIPES / f"{task}.json")
    if not Path(config).exists():
        raise InputError(f"recipe '{config}' does not exist; pass --config FILE")
    overrides = dict(data=data, out=out, steps=steps, init=init, val_data=val_data, threads=threads, seed=seed,
                     workers=workers, amp=amp, device=device, **extra)
    recipe = read_recipe(config, overrides)
    if task in RESTORE_TASKS and recipe.setdefault("task", task) != task:
        raise InputError(f"recipe '{config}' is for {recipe['task']!r}, not {task}; "
                         f"run 'aecodec train {recipe['task']}' or pass a {task} recipe")
    validate_recipe(recipe, Config, nested, f"recipe '{config}'", options)
    check_run_folder(out, resume, force)
    created = not Path(out).exists()
    try:
        _run(task, config, overrides, load_recipe, run, resume)
    except BaseException:
        if created:  # a run that failed before writing anything leaves no empty folder behind
            try:
                os.rmdir(out)
            except OSError:
                pass
        raise


def trainer(task: str):
    """(config dataclass, recipe loader, train function, nested config classes, option defaults)
    of a task: what ``validate_recipe`` checks a recipe against, and what runs it."""
    nested, options = {}, {}
    if task in RESTORE_TASKS:
        from aecodec.train.restore import TASK_CLASSES, RestoreTrainConfig as Config, load_recipe, train as run

        nested = {"model": TASK_CLASSES[task].model_config(model={}).__class__}
        options = {"degrade": TASK_CLASSES[task].defaults}
    elif task == "audio-codec":
        from aecodec.train.audio_codec import AudioTrainConfig as Config, load_recipe, train as run
    elif task == "audio-mdct":
        from aecodec.train.mdct_tables import MdctTablesConfig as Config, load_recipe, train as run
    else:
        from aecodec.train.image_codec import ImageTrainConfig as Config, load_recipe, train as run
    return Config, load_recipe, run, nested, options


def _run(task, config, overrides, load_recipe, run, resume) -> None:
    """Build the config and train; a failure here removes the run folder it made (``train``)."""
    if task in RESTORE_TASKS:
        overrides["task"] = task
    try:
        cfg = load_recipe(config, **overrides)
    except (TypeError, ValueError) as e:  # what a config's own __post_init__ refuses
        raise InputError(f"recipe '{config}': {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                         "fix the recipe") from None
    if cfg.init:
        check_init(cfg.init, task)
    try:
        ckpt = run(cfg, resume=resume, log=lambda line: notice(line, prefixed=False))
    except RuntimeError as e:  # load_state_dict: --init / --resume weights of another shape
        if "loading state_dict" not in str(e):
            raise
        source = "OUT/checkpoint.pt" if resume else f"--init '{cfg.init}'"
        raise InputError(f"{source} does not fit the model of this recipe (its layers differ); "
                         "use the recipe it was trained with, or start without it") from None
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line for the whole job
        say(f"checkpoint: {ckpt}")


def check_run_folder(out: str, resume: bool, force: bool) -> None:
    """Refuse to start a new run over an old one (its checkpoint would be replaced, its log
    mixed with the new one) unless --resume continues it or --force says so. Only rank 0
    looks: under torchrun, another rank may start late, when rank 0 has written its first row."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out '{out}' is a file; give a folder for the run")
    if resume or force or os.environ.get("RANK", "0") != "0":
        return
    if (path / "checkpoint.pt").exists() or (path / "log.jsonl").exists():
        raise InputError(f"'{out}' holds a training run; pass --resume to continue it, --force to start a new "
                         "one there, or choose another --out")


def check_init(init: str, task: str) -> None:
    """``--init`` (or a recipe's "init") must be shipped weights (.safetensors with their card
    beside them) or a checkpoint of ``aecodec train`` (.pt) for this task; anything else, or a
    damaged file, is one error line before any training starts."""
    from aecodec.media.inputs import check_regular_file

    path = Path(init)
    check_regular_file(path, lambda reason, hint: InputError(f"cannot read --init '{init}': {reason}; {hint}"),
                       "give a .safetensors or .pt file")
    if path.suffix == ".safetensors":
        architecture = _safetensors_architecture(path)
    elif path.suffix == ".pt":
        from aecodec.train.checkpoint import load_checkpoint

        architecture = _checkpoint_architecture(load_checkpoint(path))
    else:
        raise InputError(f"--init '{init}' is neither shipped weights (.safetensors) nor a checkpoint (.pt); "
                         "give one of those")
    if architecture != ARCHITECTURES[task]:
        raise InputError(f"--init '{init}' holds weights of {architecture or 'another model'}, not of "
                         f"{ARCHITECTURES[task]}; give weights trained for {task}")


def _safetensors_architecture(path: Path) -> str | None:
    """The architecture named by a .safetensors' card, after checking the file's header."""
    import json

    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as weights:
            weights.keys()
    except Exception as e:  # SafetensorError, OSError, ...: a damaged or foreign file
        reason = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        raise InputError(f"--init '{path}' is not a readable .safetensors file ({reason}); "
                         "give shipped weights from aecodec/pretrained/") from None
    card_path = path.with_suffix(".json")
    try:
        # a regular file of bounded size: a card that links to /dev/zero must not be read forever
        if not card_path.is_file() or card_path.stat().st_size > 1 << 20:
            raise ValueError
        card = json.loads(card_path.read_text(encoding="utf-8"))
        int(card["trained"]["steps"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise InputError(f"--init '{path}' has no valid model card '{card_path.name}' beside it; "
                         "copy the weights together with their .json card") from None
    return card.get("architecture") if isinstance(card, dict) else None


def _checkpoint_architecture(state: dict) -> str | None:
    """What a training checkpoint trained, from the config saved in it."""
    config = state.get("config")
    if not isinstance(config, dict):
        return None
    if config.get("task") in RESTORE_TASKS:
        return ARCHITECTURES[config["task"]]
    model = config.get("model")
    if isinstance(model, dict) and "N" in model:
        return ARCHITECTURES["image-codec"]
    if isinstance(model, dict) and "strides" in model:
        return ARCHITECTURES["audio-codec"]
    if isinstance(model, dict) and "band_edges" in model:
        return ARCHITECTURES["audio-mdct"]
    return None


@click.command()
@click.argument("task", type=click.Choice(TASKS))
@click.option("--checkpoint", required=True, help="checkpoint.pt written by 'aecodec train'.")
@click.option("--out", default="aecodec/pretrained", show_default=True, help="Folder of shipped models.")
@click.option("--name", default=None,
              help="Model name: lower-case letters, digits, '.' and '-' (default: image-hyperprior or audio-conv-lstm).")
@click.option("--version", "version", type=click.IntRange(min=1), required=True,
              help="Model version (never overwrite a shipped one).")
@click.option("--command", "command", default="", help="The training command to record in the model card.")
@click.option("--force", is_flag=True, help="Overwrite an existing version (only for unreleased weights).")
def export(task, checkpoint, out, name, version, command, force):
    """Freeze a checkpoint into safetensors + card (codecs: with integer CDF tables)."""
    from aecodec.train.export import check_model_name
    from aecodec.train.freeze import export_audio_codec, export_image_codec, export_mdct, export_restore

    with option_value():
        name = check_model_name(MODEL_NAMES[task] if name is None else name)
    if version >= 10**6:  # a version is a small counter; huge ones only make unreadable file names
        raise UsageError(f"--version {version} is too large; versions count up from 1")
    if not Path(checkpoint).is_file():
        raise InputError(f"checkpoint '{checkpoint}' does not exist; run 'aecodec train' first")
    for path in (Path(out) / f"{name}.v{version}.json", Path(out) / f"{name}.v{version}.safetensors"):
        if path.is_symlink():
            raise InputError(f"'{path}' is a symlink; export writes only into --out itself, remove the link")
        if path.exists() and not force:
            raise InputError(f"{name} v{version} exists in {out}; pick a new --version "
                             "(files made with it must keep decoding)")
    extra = {"trained": {"command": command, "data": DATA_NOTES[task]}} if command else {}
    exporter = {"image-codec": export_image_codec, "audio-codec": export_audio_codec,
                "audio-mdct": export_mdct}.get(task, export_restore)
    try:
        card = exporter(checkpoint, out, name, version, extra)
    except (RuntimeError, KeyError, TypeError, ValueError) as e:  # weights or config of another model
        if isinstance(e, RuntimeError) and "loading state_dict" not in str(e):
            raise
        raise InputError(f"checkpoint '{checkpoint}' does not hold a {task} model (its weights or settings "
                         f"differ); export it as the task it was trained for") from None
    say(f"wrote {card}")


COMMANDS = (train, export)
