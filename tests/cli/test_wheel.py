"""The built wheel is a working tool on its own (issue 18): installed with ``pip install
--no-deps`` into a folder outside the clone, it lists its models and encodes, decodes,
denoises and inpaints with the weights it carries, not the source tree's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the project (no build files left in the clone) and
    install it without dependencies (they are this venv's) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "aecodec", src / "aecodec", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(src)],
                   check=True, capture_output=True, timeout=600)
    wheel = next((tmp / "dist").glob("aecodec-*.whl"))
    target = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=600)
    return target


def run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # The installed copy comes first on the path; AECODEC_MODELS must not help it find weights.
    env = {k: v for k, v in os.environ.items() if k != "AECODEC_MODELS"}
    env["PYTHONPATH"] = str(installed)
    r = subprocess.run([sys.executable, "-m", "aecodec", *args], cwd=cwd, env=env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return r


@pytest.mark.slow
def test_the_installed_wheel_works_offline_with_its_own_models(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run([sys.executable, "-c", "import aecodec, aecodec.models.registry as r; "
                            "print(aecodec.__file__); print(r.PACKAGED_MODELS)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(installed) for p in where), where  # not the clone's files

    listing = run(installed, tmp_path, "models").stdout.decode()
    for name in ("image-hyperprior", "audio-conv-lstm", "image-denoise-unet", "image-inpaint-unet",
                 "audio-denoise-gru"):
        assert name in listing, listing

    photo, speech = DATA / "images" / "canyon_wren.png", DATA / "audio" / "librivox_speech.flac"
    run(installed, tmp_path, "encode", str(photo), "-o", "p.aec", "--quality", "40")
    run(installed, tmp_path, "decode", "p.aec", "-o", "p.png")
    run(installed, tmp_path, "encode", str(speech), "-o", "s.aec", "--kbps", "6")
    run(installed, tmp_path, "decode", "s.aec", "-o", "s.wav")
    run(installed, tmp_path, "denoise", str(photo), "-o", "d.png")
    run(installed, tmp_path, "denoise", str(speech), "-o", "d.flac")

    from PIL import Image

    with Image.open(photo) as im:
        size = im.size
    mask = np.zeros(size[::-1], dtype=np.uint8)
    mask[10:30, 20:60] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    run(installed, tmp_path, "inpaint", str(photo), "--mask", "mask.png", "-o", "f.png")
    for out in ("p.png", "s.wav", "d.png", "d.flac", "f.png"):
        assert (tmp_path / out).stat().st_size > 0
    with Image.open(tmp_path / "p.png") as im:
        assert im.size == size
