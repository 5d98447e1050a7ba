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


@pytest.mark.slow
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


@pytest.mark.slow
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


# Issue 20: bad recipes, --init files and run folders are one line naming what is wrong,
# before any training starts. In-process (main() is the CLI's edge, minus the process setup).


def run_main(capsys, *args: str) -> tuple[int, str]:
    from aecodec.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(list(map(str, args)))
    err = capsys.readouterr().err
    return exit_.value.code, err


def assert_one_line_error(code: int, err: str, *words: str, expected: int = 1) -> None:
    """Exit ``expected`` (2: a usage error) and one stderr line naming every one of ``words``."""
    assert code == expected and err.startswith("aecodec: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err


BAD_RECIPES = {
    "not json": ("notjson", "it is not JSON"),
    "a list": ("[1, 2]", "holds a JSON list, not an object"),
    "unknown key": ('{"batch_sise": 8}', "unknown key 'batch_sise'"),
    "wrong type": ('{"batch_size": "8"}', "'batch_size' must be a whole number, got \"8\""),
    "huge model": ('{"model": {"N": 100000}}', "'model.N' must be within 1..1024, got 100000"),
    "unknown model key": ('{"model": {"depth": 3}}', "unknown key 'model.depth'"),
    "huge batch": ('{"batch_size": 4096, "crop": 2048}', "pixels a step, over the 4194304 limit"),
    "not a number": ('{"lr": "fast"}', "'lr' must be a number"),
    "nested too deeply": ("[" * 100000, "it is not JSON (nested too deeply)"),
    "a seed past 64 bits": ('{"seed": 1180591620717411303424}', "'seed' must be within"),
}


@pytest.mark.parametrize("case", BAD_RECIPES)
def test_bad_recipes_are_one_line_naming_the_key(tmp_path, capsys, case):
    text, words = BAD_RECIPES[case]
    recipe = tmp_path / "r.json"
    recipe.write_text(text)
    code, err = run_main(capsys, "train", "image-codec", "--data", DATA, "--out", tmp_path / "run",
                         "--config", recipe, "--steps", "1")
    assert_one_line_error(code, err, words)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task, recipe, words", [
    ("image-denoise", {"task": "image-denoise", "model": {"widths": [8, 99999]}}, "'model.widths' must be within"),
    ("image-denoise", {"task": "image-denoise", "degrade": {"sigma": "loud"}}, "'degrade.sigma' must be a list of 2"),
    ("image-inpaint", {"task": "image-denoise"}, "is for 'image-denoise', not image-inpaint"),
    ("audio-denoise", {"task": "audio-denoise", "degrade": {"exclude_noise": "water"}},
     "'degrade.exclude_noise' must be a list of at most 64 non-empty strings"),
    ("audio-codec", {"segment_seconds": [1, 600]}, "'segment_seconds' must be within"),
    ("audio-codec", {"model": {"channels": [4, 4]}}, "channels needs one entry per stride"),
    ("audio-denoise", {"task": "audio-denoise", "model": {"conv_from_hz": 300.0}}, "conv_from_hz needs conv_channels"),
    ("audio-denoise", {"task": "audio-denoise", "model": {"df_order": 5}}, "df_order and df_hz go together"),
])
def test_recipes_of_every_trainer_are_checked(tmp_path, capsys, task, recipe, words):
    (tmp_path / "r.json").write_text(json.dumps(recipe))
    code, err = run_main(capsys, "train", task, "--data", DATA, "--out", tmp_path / "run", "--config",
                         tmp_path / "r.json", "--steps", "1")
    assert_one_line_error(code, err, words)


def init_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    notes = tmp_path / "notes.txt"
    notes.write_text("weights?")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\xff" * 64)
    cardless = tmp_path / "cardless.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(cardless))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    other = tmp_path / "other-task.pt"
    torch.save({"model": {}, "step": 1, "config": {"task": "audio-denoise"}}, other)
    return {
        "not weights": (notes, "neither shipped weights (.safetensors) nor a checkpoint (.pt)"),
        "corrupt safetensors": (corrupt, "is not a readable .safetensors file"),
        "no card": (cardless, "has no valid model card 'cardless.json'"),
        "corrupt checkpoint": (garbage, "not an aecodec checkpoint"),
        "another task": (other, "holds weights of audio-mask-gru, not of image-hyperprior"),
        "a device": (Path("/dev/zero"), "not a regular file"),
    }


@pytest.mark.parametrize("case", ["not weights", "corrupt safetensors", "no card", "corrupt checkpoint",
                                  "another task", "a device"])
def test_init_takes_only_weights_or_checkpoints(tmp_path, capsys, case):
    path, words = init_files(tmp_path)[case]
    code, err = run_main(capsys, "train", "image-codec", "--data", DATA, "--out", tmp_path / "run",
                         "--steps", "1", "--init", path)
    assert_one_line_error(code, err, words)


def test_an_existing_run_is_not_trained_over_without_resume_or_force(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text('{"step": 1}\n')
    code, err = run_main(capsys, "train", "image-codec", "--data", DATA, "--out", run, "--steps", "1")
    assert_one_line_error(code, err, "holds a training run; pass --resume to continue it, --force")
    assert (run / "log.jsonl").read_text() == '{"step": 1}\n'


def test_a_failed_run_leaves_no_run_folder(tmp_path, capsys):
    code, err = run_main(capsys, "train", "image-codec", "--data", tmp_path / "nowhere", "--out", tmp_path / "run",
                         "--steps", "1")
    assert_one_line_error(code, err, "does not exist")
    assert not (tmp_path / "run").exists()


def test_export_refuses_a_checkpoint_of_another_model_and_huge_versions(tmp_path, capsys):
    import torch

    torch.save({"model": {"x": torch.zeros(1)}, "step": 1, "config": {"model": {}}}, tmp_path / "c.pt")
    args = ["export", "image-codec", "--checkpoint", tmp_path / "c.pt", "--out", tmp_path / "models"]
    assert_one_line_error(*run_main(capsys, *args, "--version", "1"), "does not hold a image-codec model")
    assert_one_line_error(*run_main(capsys, *args, "--version", str(2**70)), "is too large", expected=2)
    assert not any((tmp_path / "models").glob("*")) if (tmp_path / "models").exists() else True


@pytest.mark.parametrize("name", ["", "../x", "/tmp/x", ".hidden", "Upper", "a/b", "x\x1b[2J"])
def test_export_names_stay_inside_out(tmp_path, capsys, name):
    checkpoint = tmp_path / "c.pt"
    checkpoint.write_bytes(b"x")
    code, err = run_main(capsys, "export", "image-denoise", "--checkpoint", checkpoint, "--out",
                         tmp_path / "models", "--name", name, "--version", "1")
    assert_one_line_error(code, err, "is not allowed; use lower-case letters", expected=2)  # an option's value
    assert "\x1b" not in err and not (tmp_path / "models").exists()


def test_export_never_overwrites_existing_weights(tmp_path, capsys):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mine.v1.safetensors").write_bytes(b"precious")  # no card beside it
    checkpoint = tmp_path / "c.pt"
    checkpoint.write_bytes(b"x")
    code, err = run_main(capsys, "export", "image-denoise", "--checkpoint", checkpoint, "--out", models,
                         "--name", "mine", "--version", "1")
    assert_one_line_error(code, err, "mine v1 exists in")
    assert (models / "mine.v1.safetensors").read_bytes() == b"precious"


def test_training_log_rows_on_stderr_are_bare_json_and_quiet_drops_them(tmp_path, capsys):
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY))
    code, err = run_main(capsys, "train", "image-codec", "--data", DATA, "--out", tmp_path / "run",
                         "--config", recipe, "--steps", "2", "--threads", "1")
    assert code == 0, err
    rows = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [row["step"] for row in rows][-1] == 2  # parseable as they are, like log.jsonl
    code, err = run_main(capsys, "--quiet", "train", "image-codec", "--data", DATA, "--out", tmp_path / "run2",
                         "--config", recipe, "--steps", "2", "--threads", "1")
    assert code == 0 and err == "", err


def test_audio_mdct_tables_count_add_up_and_export(tmp_path, tone_folder, monkeypatch, capsys):
    """`aecodec train audio-mdct` counts the codec's symbols; --init adds to earlier counts (the
    card's steps add up); the exported model loads and codes audio with its own tables."""
    import numpy as np

    from aecodec.codecs import audio_codec
    from aecodec.media.types import Audio

    data = str(tone_folder(tmp_path / "speech", "speech"))
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps({"steps_grid": [-60, 0], "low_rate_steps": [0], "max_file_seconds": 2.0}))
    first, second = tmp_path / "one", tmp_path / "two"
    code, err = run_main(capsys, "train", "audio-mdct", "--data", data, "--out", first, "--steps", "3",
                         "--config", recipe)
    assert code == 0, err
    code, err = run_main(capsys, "train", "audio-mdct", "--data", data, "--out", second, "--steps", "2",
                         "--config", recipe, "--init", first / "checkpoint.pt", "--seed", "1")
    assert code == 0, err
    one = torch.load(first / "checkpoint.pt", weights_only=True)
    two = torch.load(second / "checkpoint.pt", weights_only=True)
    assert two["total_steps"] == 5 and (two["model"]["counts"] >= one["model"]["counts"]).all()
    assert two["model"]["counts"].sum() > one["model"]["counts"].sum()
    models = tmp_path / "models"
    code, err = run_main(capsys, "export", "audio-mdct", "--checkpoint", second / "checkpoint.pt", "--out", models,
                         "--version", "1000", "--command", "aecodec train audio-mdct ...")
    assert code == 0, err
    card = json.loads((models / "audio-mdct.v1000.json").read_text())
    assert card["architecture"] == "audio-mdct" and card["trained"]["steps"] == 5
    monkeypatch.setenv("AECODEC_MODELS", str(models))
    codec = audio_codec("audio-mdct")
    assert codec.loaded()[0]["version"] == 1000
    x = (0.3 * np.sin(np.arange(24000) / 7.0)).astype(np.float32)[:, None]
    assert codec.decode(codec.encode(Audio(x, 24000), 50)).samples.shape == x.shape
    code, err = run_main(capsys, "train", "audio-mdct", "--data", data, "--out", second, "--resume")
    assert_one_line_error(code, err, "does not resume")


@pytest.mark.parametrize("missing", ["music", "noise"])
def test_the_music_detector_needs_speech_music_and_noise_folders(tmp_path, tone_folder, capsys, missing):
    args = ["train", "audio-music-detector", "--data", tone_folder(tmp_path / "speech", "speech"),
            "--out", tmp_path / "run", "--steps", "1"]
    if missing != "music":
        args += ["--data", tone_folder(tmp_path / "music", "music")]
    if missing != "noise":
        args += ["--noise-data", tone_folder(tmp_path / "noise", "noise")]
    code, err = run_main(capsys, *args)
    assert_one_line_error(code, err, "audio-music-detector needs", "MUSIC_DIR" if missing == "music" else "--noise-data")
    assert not (tmp_path / "run").exists()
