"""Shared fixtures: bundled samples and the shipped image codec (loaded once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    from aecodec.media.image import read_image

    return read_image(DATA / "images" / "canyon_wren.png").pixels


@pytest.fixture(scope="session")
def image_codec():
    from aecodec.codecs.image import LearnedImageCodec

    return LearnedImageCodec(device="cpu")


def write_tone_folder(folder: Path, kind: str, files: int = 3, seconds: float = 1.5, rate: int = 16000) -> Path:
    """Tiny audio training folders: harmonic 'speech' with a moving pitch, or broadband noise."""
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(kind))
    t = np.arange(int(seconds * rate)) / rate
    for i in range(files):
        if kind == "noise":
            x = 0.3 * rng.standard_normal(t.size)
        else:
            f0 = 120 + 40 * i + 30 * np.sin(2 * np.pi * 0.7 * t)
            phase = 2 * np.pi * np.cumsum(f0) / rate
            x = sum(0.3 / k * np.sin(k * phase) for k in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
        soundfile.write(folder / f"{kind}{i}.wav", x.astype(np.float32), rate)
    return folder


FIXTURE_VERSION = 1000
"""Stand-in restoration models are exported as this version, newer than any shipped one, so
that they, not the weights in pretrained/, are what the tests load."""


@pytest.fixture(scope="session")
def tone_folder():
    """``write_tone_folder`` for tests outside this module."""
    return write_tone_folder


@pytest.fixture(scope="session")
def restore_models(tmp_path_factory) -> Path:
    """A models folder with tiny restoration models (image-denoise-unet, image-inpaint-unet,
    audio-denoise-gru) made by the real trainer and exporter in one step each (the U-Nets'
    output layer then randomised); point AECODEC_MODELS at it to test the commands without
    the shipped weights."""
    from aecodec.train.freeze import export_restore
    from aecodec.train.restore import RestoreTrainConfig, train

    root = tmp_path_factory.mktemp("restore")
    models = root / "models"
    common = dict(steps=1, batch_size=2, warmup=1, log_every=1, checkpoint_every=1, threads=1, device="cpu")
    unet = {"widths": [8, 16, 32], "blocks": 1}
    runs = {
        "image-denoise-unet": RestoreTrainConfig(task="image-denoise", data=[str(DATA / "images")], crop=32,
                                                 model=unet, out=str(root / "dn"), **common),
        "image-inpaint-unet": RestoreTrainConfig(task="image-inpaint", data=[str(DATA / "images")], crop=32,
                                                 model=unet, out=str(root / "in"), **common),
        "audio-denoise-gru": RestoreTrainConfig(
            task="audio-denoise", data=[str(write_tone_folder(root / "speech", "speech"))],
            noise_data=str(write_tone_folder(root / "noise", "noise")), segment_seconds=0.5,
            model={"hidden": 16, "layers": 1}, out=str(root / "au"), **common),
    }
    import torch

    for name, cfg in runs.items():
        ckpt = train(cfg, log=lambda _: None)
        state = torch.load(ckpt, weights_only=True)
        if "tail.weight" in state["model"]:  # one step leaves the zero-initialised output layer ~0:
            gen = torch.Generator().manual_seed(0)  # make the stand-in visibly change its input
            state["model"]["tail.weight"] = 0.05 * torch.randn(state["model"]["tail.weight"].shape, generator=gen)
            torch.save(state, ckpt)
        export_restore(ckpt, models, name, FIXTURE_VERSION, {"trained": {"command": "test fixture"}})
    return models


@pytest.fixture(scope="session")
def batch_stream():
    """``stream(make, workers, first, last)``: the batches of steps first..last-1 as the trainers
    get them (on the CPU, made by ``workers`` processes), as one flat list of tensors."""
    import types

    import torch

    from aecodec.train.batches import step_batches

    def stream(make, workers: int, first: int, last: int) -> list:
        cfg = types.SimpleNamespace(seed=0, steps=last, workers=workers)
        return [t for batch in step_batches(make, cfg, 0, torch.device("cpu"), first) for t in batch]

    return stream
