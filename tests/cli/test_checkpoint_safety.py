"""No path that reads a training checkpoint unpickles code (issue 20): a crafted ``.pt`` given
to ``train --init``, a recipe's ``init``, ``train --resume`` or ``export --checkpoint`` is one
error line, and its payload never runs."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aecodec.errors import InputError
from aecodec.train.checkpoint import load_checkpoint

DATA = Path(__file__).parents[1] / "data" / "images"


class Payload:
    """Unpickling this object creates ``marker``: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def crafted_checkpoint(path: Path, marker: Path) -> Path:
    # torch.save pickles arbitrary objects; torch.load(weights_only=False) would call Path.touch
    torch.save({"model": {}, "step": 1, "evil": Payload(marker)}, path)
    return path


def aecodec(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aecodec", *args], capture_output=True, timeout=120)


def assert_one_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert r.returncode == 1 and err.startswith("aecodec: error:") and err.count("\n") == 1, err
    return err


def test_library_refuses_a_crafted_checkpoint(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(InputError, match="not an aecodec checkpoint"):
        load_checkpoint(crafted_checkpoint(tmp_path / "evil.pt", marker))
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", pickle.dumps([1, 2, 3])])
def test_library_refuses_non_checkpoints(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(InputError):
        load_checkpoint(path)


def test_library_refuses_a_tensor_file_that_is_no_checkpoint(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "x.pt")  # loads safely, but has no model/step
    with pytest.raises(InputError, match="no model weights"):
        load_checkpoint(tmp_path / "x.pt")


@pytest.mark.slow
@pytest.mark.parametrize("route", ["init", "recipe", "resume", "export"])
def test_cli_never_runs_a_checkpoints_code(tmp_path, route):
    marker = tmp_path / "ran"
    evil = crafted_checkpoint(tmp_path / "evil.pt", marker)
    train = ["train", "image-codec", "--data", str(DATA), "--steps", "1", "--out", str(tmp_path / "run")]
    if route == "init":
        r = aecodec(*train, "--init", str(evil))
    elif route == "recipe":
        recipe = tmp_path / "recipe.json"
        recipe.write_text(json.dumps({"init": str(evil)}))
        r = aecodec(*train, "--config", str(recipe))
    elif route == "resume":
        (tmp_path / "run").mkdir()
        crafted_checkpoint(tmp_path / "run" / "checkpoint.pt", marker)
        r = aecodec(*train, "--resume")
    else:
        r = aecodec("export", "image-codec", "--checkpoint", str(evil), "--out", str(tmp_path / "models"),
                    "--version", "1", "--command", "x")
    assert "not an aecodec checkpoint" in assert_one_line(r)
    assert not marker.exists()
