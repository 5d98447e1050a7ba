"""`aecodec train` runs alone and under torchrun (DDP on gloo), and bad options are one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).parents[1] / "data" / "images"
TINY = {"batch_size": 2, "crop": 64, "warmup": 1, "log_every": 1, "checkpoint_every": 2,
        "model": {"N": 8, "M": 12}}


AUDIO_TINY = {"batch_size": 2, "segment_seconds": [0.1, 0.2], "warmup": 1, "log_every": 1, "checkpoint_every": 2,
              "model": {"channels": [4, 4, 8, 8, 8], "latent": 4}}
RESTORE_TINY = {"batch_size": 2, "crop": 32, "warmup": 1, "log_every": 1, "checkpoint_every": 2,
                "model": {"widths": [4, 8, 8], "blocks": 1}}


@pytest.mark.parametrize("task", ["image-codec", "audio-codec", "image-denoise"])
def test_torchrun_two_processes_write_a_checkpoint(tmp_path, task, tone_folder):
    recipe = tmp_path / "tiny.json"
    if task == "audio-codec":
        recipe.write_text(json.dumps(AUDIO_TINY))
        data = ["--data", str(tone_folder(tmp_path / "speech", "speech"))]
    else:
        recipe.write_text(json.dumps(TINY if task == "image-codec" else {"task": task, **RESTORE_TINY}))
        data = ["--data", str(DATA)]
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    r = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "aecodec", "train", task,
                        *data, "--out", str(tmp_path / "run"), "--steps", "4", "--config", str(recipe),
                        "--threads", "1", "--workers", "1"], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4 and "rng" not in state  # batches are seeded per (rank, step): no data RNG to save
    assert r.stdout.decode().count("checkpoint:") == 1
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert rows[-1]["ranks"] == 2 and rows[-1]["step"] == 4


def test_bad_training_options_are_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "aecodec", "train", "image-codec", "--data", str(tmp_path / "none"),
                        "--out", str(tmp_path / "run"), "--steps", "1"], capture_output=True, timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.startswith("aecodec: error:") and err.count("\n") == 1, err


def test_training_on_cuda_without_cuda_is_one_line(tmp_path):
    if torch.cuda.is_available():
        return  # the GPU path is exercised by the gpu-marked tests instead
    r = subprocess.run([sys.executable, "-m", "aecodec", "train", "image-codec", "--data", str(DATA),
                        "--out", str(tmp_path / "run"), "--steps", "1", "--device", "cuda"],
                       capture_output=True, timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1 and "CUDA" in err and err.count("\n") == 1, err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
