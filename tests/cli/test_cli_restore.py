"""`aecodec denoise` and `aecodec inpaint` end to end: formats, exact lengths, untouched pixels
and samples, folder batches, and the error contract (exit 1, one stderr line, no output file).

Small random-init restoration models (output layers not zero, so they do change their input)
are written into a temporary folder named by AECODEC_MODELS.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cli_run import aecodec, assert_one_line_error

ROOT = Path(__file__).parents[2]
IMAGES = ROOT / "tests" / "data" / "images"
RGB, GRAY, RGBA = IMAGES / "canyon_wren.png", IMAGES / "lake_gray.png", IMAGES / "osprey_alpha.png"


@pytest.fixture(scope="session")
def env(restore_models) -> dict:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "AECODEC_MODELS": str(restore_models), "PYTHONPATH": path}


@pytest.fixture(scope="session")
def song(tmp_path_factory) -> Path:
    """1.5 s of noisy stereo at 44.1 kHz, 24-bit."""
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    t = np.arange(66150) / 44100
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], axis=1)
    x += 0.02 * np.random.default_rng(0).standard_normal(x.shape)
    soundfile.write(path, x, 44100, subtype="PCM_24")
    return path


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr.decode()
    assert not result.stderr, result.stderr.decode()
    return result.stdout.decode()


def pixels(path) -> np.ndarray:
    from aecodec.media.image import read_image

    return read_image(path).pixels


def test_denoise_folder_batch_keeps_size_mode_alpha_and_audio_length(env, song, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stdout = ok(aecodec("denoise", RGB, GRAY, RGBA, song, "-o", out, "--json", env=env))
    stats = {Path(s["input"]).name: s for s in map(json.loads, stdout.splitlines())}
    assert sorted(p.name for p in out.iterdir()) == ["canyon_wren.png", "lake_gray.png", "osprey_alpha.png", "song.wav"]
    for src in (RGB, GRAY, RGBA):
        before, after = pixels(src), pixels(out / src.name)
        assert after.shape == before.shape  # L stays L, RGBA stays RGBA
        assert not np.array_equal(after, before)
        assert stats[src.name]["mode"] == {1: "L", 3: "RGB", 4: "RGBA"}[before.shape[2]]
    assert np.array_equal(pixels(out / RGBA.name)[:, :, 3], pixels(RGBA)[:, :, 3])
    info = soundfile.info(str(out / "song.wav"))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 2, 66150, "PCM_24")
    assert stats["song.wav"]["frames"] == 66150 and stats["song.wav"]["bytes"] == (out / "song.wav").stat().st_size


def test_strength_zero_returns_the_input(env, song, tmp_path):
    ok(aecodec("denoise", RGBA, "-o", tmp_path / "zero.png", "--strength", "0", "--sigma", "25", env=env))
    assert np.array_equal(pixels(tmp_path / "zero.png"), pixels(RGBA))
    ok(aecodec("denoise", song, "-o", tmp_path / "zero.wav", "--strength", "0", env=env))
    ok(aecodec("denoise", song, "-o", tmp_path / "full.wav", "--strength", "1", env=env))
    original, _ = soundfile.read(song, dtype="float32")
    zero, _ = soundfile.read(tmp_path / "zero.wav", dtype="float32")
    full, _ = soundfile.read(tmp_path / "full.wav", dtype="float32")
    assert zero.shape == original.shape and np.abs(zero - original).max() <= 1e-6
    assert full.shape == original.shape and np.abs(full - original).max() > 1e-3


def test_denoise_long_mono_audio_to_flac_keeps_exact_length(env, tmp_path):
    """Over 30 s at the model's rate: several chunks, cross-faded, resampled 8 -> 24 -> 8 kHz."""
    src = tmp_path / "long.wav"
    frames = 31 * 8000 + 7
    noise = 0.05 * np.random.default_rng(1).standard_normal((frames, 1))
    soundfile.write(src, noise + 0.3 * np.sin(np.arange(frames) / 10)[:, None], 8000, subtype="PCM_16")
    stats = json.loads(ok(aecodec("denoise", src, "-o", tmp_path / "long.flac", "--json", env=env)))
    info = soundfile.info(str(tmp_path / "long.flac"))
    assert (info.format, info.samplerate, info.channels, info.frames) == ("FLAC", 8000, 1, frames)
    assert stats["frames"] == frames and stats["sample_rate"] == 8000


def test_denoise_stdin_to_stdout(env, song):
    r = aecodec("denoise", "-", "-o", "-", stdin=song.read_bytes(), env=env)
    assert r.returncode == 0 and r.stdout[:4] == b"RIFF", r.stderr.decode()
    import io

    assert soundfile.info(io.BytesIO(r.stdout)).frames == 66150


def test_inpaint_image_changes_only_the_masked_pixels(env, tmp_path):
    from PIL import Image

    image = pixels(RGBA)
    h, w = image.shape[:2]
    hole = np.zeros((h, w), bool)
    hole[30:60, 50:120] = True
    # White everywhere, opaque only in the hole: transparent mask pixels count as black (kept).
    mask = np.full((h, w, 4), 255, np.uint8)
    mask[:, :, 3] = np.where(hole, 255, 0)
    Image.fromarray(mask).save(tmp_path / "mask.png")
    stats = json.loads(ok(aecodec("inpaint", RGBA, "--mask", tmp_path / "mask.png", "-o", tmp_path / "out.png",
                                  "--json", env=env)))
    out = pixels(tmp_path / "out.png")
    assert out.shape == image.shape and stats["filled_pixels"] == hole.sum()
    assert np.array_equal(out[~hole], image[~hole])
    assert np.array_equal(out[:, :, 3], image[:, :, 3])
    assert not np.array_equal(out[hole], image[hole])


def test_mask_threshold_is_luminance_128_in_every_mode(tmp_path):
    from PIL import Image

    from aecodec.restore.masks import read_mask

    grey = np.array([[127, 128]], np.uint8)
    masks = {
        "l.png": grey,
        "rgb.png": np.repeat(grey[:, :, None], 3, axis=2),
        "rgba.png": np.dstack([np.full((1, 2, 3), 255, np.uint8), np.array([[0, 255]], np.uint8)]),
        "red.png": np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8),  # luminance 76 and 150
    }
    for name, px in masks.items():
        Image.fromarray(px).save(tmp_path / name)
        assert read_mask(str(tmp_path / name), 2, 1).tolist() == [[False, True]], name


def test_inpaint_with_an_empty_mask_writes_the_input_unchanged(env, tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros(pixels(GRAY).shape[:2], np.uint8)).save(tmp_path / "black.png")
    summary = ok(aecodec("inpaint", GRAY, "--mask", tmp_path / "black.png", "-o", tmp_path / "out.tif", env=env))
    assert "nothing to fill" in summary
    assert np.array_equal(pixels(tmp_path / "out.tif"), pixels(GRAY))


def test_inpaint_audio_fills_only_the_gaps(env, song, tmp_path):
    stats = json.loads(ok(aecodec("inpaint", song, "--gap", "0.5-0.6,1.45+0.55", "-o", tmp_path / "out.wav",
                                  "--json", env=env)))
    assert stats["gaps_s"] == [[0.5, 0.6], [1.45, 1.5]] and stats["filled_frames"] == 4410 + 2205
    original, _ = soundfile.read(song, dtype="float32")
    out, rate = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 44100 and out.shape == original.shape
    keep = np.ones(len(out), bool)
    keep[22050:26460] = keep[63945:] = False
    assert np.abs(out[keep] - original[keep]).max() <= 1e-6
    assert np.abs(out[~keep] - original[~keep]).max() > 1e-3


@pytest.mark.slow
def test_errors_are_one_line_and_leave_no_output(env, song, tmp_path):
    import torch
    from PIL import Image

    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "truncated.png").write_bytes(RGB.read_bytes()[:3000])
    (bad / "noise.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(bad / "small_mask.png")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (["denoise", bad / "missing.png", "-o", out / "a.png"], "no such file", 1),
        (["denoise", bad / "truncated.png", "-o", out / "b.png"], "truncated", 1),
        (["denoise", bad / "noise.wav", "-o", out / "c.wav"], "cannot read audio", 1),
        (["denoise", song, "-o", out / "d.wav", "--sigma", "10"], "--sigma is for images", 2),
        (["denoise", RGB, "-o", out / "f.wav"], "unknown image extension", 1),
        (["inpaint", RGB, "--mask", bad / "small_mask.png", "-o", out / "g.png"], "10x10 but the image is 384x216", 1),
        (["inpaint", song, "--gap", "2:2.5", "-o", out / "h.wav"], "START:END, which is not accepted", 2),
        (["inpaint", song, "--gap", "1-x", "-o", out / "i.wav"], "'x' is not a time", 2),
        (["inpaint", song, "--mask", bad / "small_mask.png", "-o", out / "j.wav"], "--mask is for images", 2),
        (["inpaint", RGB, "--gap", "0-0.1", "-o", out / "k.png"], "--gap is for audio", 2),
        (["inpaint", RGB, "-o", out / "l.png"], "--mask", 2),
        (["inpaint", RGB, "--mask", bad / "small_mask.png", "--gap", "0-0.1", "-o", out / "m.png"], "not both", 2),
    ]
    if not torch.cuda.is_available():
        cases.append((["denoise", RGB, "-o", out / "n.png", "--device", "cuda"], "CUDA", 1))
    for args, words, code in cases:  # 2: the command line's fault (a value, a combination, the input's kind)
        assert_one_line_error(aecodec(*args, env=env), words, code=code)
    # out of its range: a usage error click finds (exit 2)
    assert_one_line_error(aecodec("denoise", RGB, "-o", out / "e.png", "--strength", "1.5", env=env), "--strength",
                          code=2)
    assert list(out.iterdir()) == []


def test_missing_weights_are_one_line(env, tmp_path):
    card = json.loads(Path(env["AECODEC_MODELS"], "image-denoise-unet.v1000.json").read_text())
    card["version"] = 1001  # newer than the stand-ins and anything in pretrained/
    card["weights"]["file"] = "gone.safetensors"
    (tmp_path / "image-denoise-unet.v1001.json").write_text(json.dumps(card))
    result = aecodec("denoise", RGB, "-o", tmp_path / "out.png", env={**env, "AECODEC_MODELS": str(tmp_path)})
    assert_one_line_error(result, "gone.safetensors", "missing")
    assert not (tmp_path / "out.png").exists()


def test_denoise_very_short_audio(env, tmp_path):
    """Fewer samples than one STFT window at the model's rate still come back, all of them."""
    for name, frames, rate in (("click.wav", 50, 8000), ("one.wav", 1, 48000)):
        soundfile.write(tmp_path / name, np.full((frames, 1), 0.1), rate)
        ok(aecodec("denoise", tmp_path / name, "-o", tmp_path / f"out-{name}", env=env))
        assert soundfile.info(str(tmp_path / f"out-{name}")).frames == frames


def test_inpaint_float_audio_keeps_samples_outside_the_gaps(env, tmp_path):
    loud = np.full((24000, 1), 1.5, np.float32)
    soundfile.write(tmp_path / "loud.wav", loud, 48000, subtype="FLOAT")
    ok(aecodec("inpaint", tmp_path / "loud.wav", "--gap", "0.2-0.3", "-o", tmp_path / "out.wav", env=env))
    out, _ = soundfile.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert np.array_equal(out[:9600], loud[:9600]) and np.array_equal(out[14400:], loud[14400:])


def test_a_restoration_model_is_not_a_codec(env, tmp_path):
    result = aecodec("encode", RGB, "-o", tmp_path / "x.aec", "--model", "image-denoise-unet", env=env)
    assert_one_line_error(result, "not a codec")
    assert not (tmp_path / "x.aec").exists()
