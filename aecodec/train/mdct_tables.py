"""Training the MDCT audio codec's entropy model: its tables are the symbol statistics of the
codec's own encoder over training audio, so training is counting, not gradient descent.

Each clip (mono, at the model rate, a random gain) is coded at every step of ``steps`` (and of
``low_rate_steps`` with the low-rate envelope), and every symbol is counted under the context the
decoder will know it by (codecs/mdct_coding.py). Counts add up across runs (``--init`` starts
from shipped weights' counts), and the card's "steps" count the clips in them. The checkpoint
holds the counts; ``aecodec export audio-mdct`` turns them into integer tables.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from aecodec.codecs import mdct_coding as coding
from aecodec.codecs.mdct_adaptive import COEF_RANGE
from aecodec.codecs.mdct_header import CHUNK_FRAMES
from aecodec.entropy.tables import escape_columns
from aecodec.media.mdct import Analyser
from aecodec.models.audio.mdct_model import MdctAudioModel, MdctConfig, empty_counts


@dataclass
class MdctTablesConfig:
    data: list[str] = field(default_factory=list)  # folders of training audio
    out: str = "runs/audio-mdct"
    init: str | None = None  # shipped weights or a checkpoint whose counts this run adds to
    steps: int = 400  # clips to count (each a random file's first max_file_seconds)
    max_file_seconds: float = 20.0
    gain_db: list[float] = field(default_factory=lambda: [-24.0, 0.0])
    steps_grid: list[int] = field(default_factory=lambda: list(range(-120, 41, 10)))
    low_rate_steps: list[int] = field(default_factory=lambda: list(range(0, 61, 10)))
    seed: int = 0
    threads: int = 1
    log_every: int = 50
    val_data: str | None = None  # unused: tables are judged by the codec benchmark
    workers: int = 0  # unused; accepted because every trainer takes the CLI's options
    amp: str = "off"
    device: str = "cpu"
    model: dict = field(default_factory=lambda: MdctConfig().to_dict())


def load_recipe(path: str | None, **overrides) -> MdctTablesConfig:
    from aecodec.train.recipe import read_recipe

    return MdctTablesConfig(**read_recipe(path, overrides))


def mdct_frames(x: np.ndarray, m: int) -> np.ndarray:
    analyser = Analyser(m)
    return np.concatenate([analyser.push(x), analyser.finish()])


def count_clip(counts: np.ndarray, frames: np.ndarray, model: MdctAudioModel, settings: coding.Settings) -> None:
    """Add the symbols of a mono clip's MDCT ``frames`` coded at ``settings`` to ``counts``."""
    for start in range(0, frames.shape[0], CHUNK_FRAMES):
        symbols = coding.quantise(frames[start : start + CHUNK_FRAMES], model.bands, settings)
        env_d, env_ctx, coef_ctx, live = coding.contexts(symbols, model.bands, settings, model.interleave)
        _add(counts, env_ctx.ravel(), env_d.ravel(), coding.ENV_RANGE)
        _add(counts, coef_ctx[live], symbols.coefficients[live], COEF_RANGE)


def _add(counts: np.ndarray, tables: np.ndarray, symbols: np.ndarray, r: int) -> None:
    flat = np.bincount((tables * counts.shape[1] + escape_columns(symbols, r)).ravel(), minlength=counts.size)
    counts += flat.reshape(counts.shape).astype(counts.dtype)


def train(cfg: MdctTablesConfig, resume: bool = False, log=print) -> Path:
    """Count ``cfg.steps`` clips into the tables; returns the checkpoint's path."""
    from aecodec.media.audio import read_mono
    from aecodec.train.audio_data import list_audio

    import os

    from aecodec.errors import InputError

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise InputError("audio-mdct training counts symbols in one process; run it without torchrun")
    if resume:
        raise InputError("audio-mdct training does not resume (it takes minutes); start again with "
                         "--init OUT/checkpoint.pt to add to its counts")
    torch.set_num_threads(max(1, cfg.threads))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    config = MdctConfig(**cfg.model)
    counts, prior = empty_counts(config), 0
    if cfg.init:
        counts, prior = initial_counts(cfg.init, config)
    counts = counts.astype(np.float64)  # float32 stops counting at 2^24
    model = MdctAudioModel(config, counts)
    files = [f for folder in cfg.data for f in list_audio(folder)]
    rng = np.random.default_rng(cfg.seed)
    started = time.time()
    for step in range(1, cfg.steps + 1):
        x = read_mono(files[rng.integers(len(files))], config.sample_rate, cfg.max_file_seconds)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak < 1e-4:
            continue
        frames = mdct_frames((x / peak * 10 ** (rng.uniform(*cfg.gain_db) / 20)).astype(np.float32), config.frame)
        for g in cfg.steps_grid:
            count_clip(counts, frames, model, model.settings(g, low_rate=False))
        for g in cfg.low_rate_steps:
            count_clip(counts, frames, model, model.settings(g, low_rate=True))
        if step % cfg.log_every == 0 or step == cfg.steps:
            log(f"clip {step}/{cfg.steps}: {counts.sum():.3g} symbols counted, {time.time() - started:.0f} s")
    state = {"model": {"counts": torch.from_numpy(counts)}, "step": cfg.steps, "prior_steps": prior,
             "total_steps": prior + cfg.steps, "config": asdict(cfg)}
    path = out / "checkpoint.pt"
    torch.save(state, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return path


def initial_counts(source: str, config: MdctConfig) -> tuple[np.ndarray, int]:
    """(counts, clips in them) of shipped weights (their card beside them) or a checkpoint."""
    import json

    from safetensors.torch import load_file

    from aecodec.train.checkpoint import checkpoint_steps, load_checkpoint

    path = Path(source)
    if path.suffix == ".pt":
        state = load_checkpoint(path)
        return state["model"]["counts"].numpy().copy(), checkpoint_steps(state)
    card = json.loads(path.with_suffix(".json").read_text())
    # the counts are of the frame, bands and quantiser law; how the coder adapts them is not counted
    layout = {k: v for k, v in config.to_dict().items() if not k.startswith("adapt_")}
    if {k: v for k, v in card["config"].items() if not k.startswith("adapt_")} != layout:
        raise ValueError("--init weights were counted for another frame or band layout")
    return load_file(str(path))["tables.mdct.counts"].numpy().copy(), int(card["trained"]["steps"])
