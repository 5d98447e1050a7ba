"""Restoration benchmarks: aecodec's denoisers and inpainter against classical baselines.

Three protocols (issue 5), each building its degraded inputs deterministically (the generator
is seeded with ``seed`` and the file's name, so every method and every rerun sees the same
noisy files):

- image denoising: RGB images, centre-cropped to 481x321 (the CBSD68 size; 321x481 for
  portrait images), AWGN of ``sigma`` added in 0..255 units, rounded and clipped to 8 bits.
  Score: PSNR-RGB of the 8-bit output. Baseline ``cbm3d``: ``bm3d.bm3d_rgb(noisy / 255,
  sigma / 255, profile="np")``. Ours: ``aecodec`` (blind) and ``aecodec-sigma`` (told sigma).
- image inpainting: whole RGB images with a brush-stroke mask (``restore.masks``, 3-7
  strokes, 8-24 px, 5-15 % of the image); hole pixels are zeroed in the input. Score: PSNR over
  the hole pixels only (RGB, 8-bit). Baseline ``telea``: ``cv2.inpaint(image, mask, 5,
  cv2.INPAINT_TELEA)``.
- audio denoising: each speech file (mono, 24 kHz, its first 8 s) mixed at ``snr_db`` with a
  noise file (the i-th speech file in path order gets noise i mod n, looped or cut, from a
  seeded offset). A mixture that would clip is scaled down together with its clean reference.
  Score: SI-SNR improvement, SI-SNR(output, clean) - SI-SNR(noisy, clean). Baselines:
  ``noisereduce.reduce_noise(y=noisy, sr=sr)`` and the same with ``stationary=True``.

``methods`` names built-in methods, or maps names to callables (stand-ins, other baselines):
image denoisers take the noisy uint8 (H, W, 3) array, inpainters the holed uint8 (H, W, 3)
array and the bool (H, W) mask (True = missing), audio denoisers the noisy float32 (frames,)
array and the sample rate; each returns an array of its input's shape (images are rounded
and clipped to uint8). A method's first call is an untimed warm-up on a small input (model
loading, imports); times are seconds of the call itself, per file.

Outputs in ``out_dir``: ``points.jsonl`` (one row per file x method, appended as it goes; a
rerun skips rows already there for the same protocol parameters and the same degraded input,
checked by a CRC32 of it, so edited degradation code never mixes with old rows),
``results.json`` ({"task", "dataset",
"protocol", "versions", "device", "methods": {name: {<mean score>, "seconds_per_item",
"items", ...}}}) and ``results.md``. Rows do not record a method's settings or weights: after
retraining a model, use a new output folder (or delete its rows).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
from tqdm import tqdm

from aecodec.bench.report import RowLog, library_versions
from aecodec.bench.sweep import list_files
from aecodec.errors import InputError, ModelError
from aecodec.media.audio import read_mono
from aecodec.media.atomic import atomic_write
from aecodec.media.image import EXTENSIONS
from aecodec.metrics.image import PSNR_CAP_DB, psnr_rgb
from aecodec.metrics.audio import si_snr
from aecodec.restore.degrade import add_awgn_uint8, mix_at_snr
from aecodec.restore.masks import brush_stroke_mask

Method = Callable[..., np.ndarray]
Methods = Union[Sequence[str], Mapping[str, Method]]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3")  # aecodec.media.audio.READ_SUFFIXES
SAMPLE_RATE_HZ = 24000
MAX_SECONDS = 8.0
WARM_SIDE = 64  # pixels: the warm-up call runs on a corner this big


@dataclass(frozen=True)
class Case:
    """One degraded input: what methods are called with, and how their output is scored."""

    args: tuple[Any, ...]
    warm_args: tuple[Any, ...]
    score: Callable[[np.ndarray], dict[str, Any]]
    fields: dict[str, Any] = field(default_factory=dict)  # row fields shared by all methods


class _Rows(RowLog):
    """points.jsonl keyed by (file, method, protocol id, input fingerprint), not (file, codec, quality)."""

    @staticmethod
    def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:  # type: ignore[override]
        return row["file"], row["method"], row["protocol"], row["input"]


def file_rng(seed: int, name: str) -> np.random.Generator:
    """The generator for one file: seeded with ``seed`` and the CRC32 of its name, same everywhere."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def centre_crop(pixels: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    """The centre (width, height) crop, turned to portrait for portrait images; smaller images stay."""
    if crop is None:
        return pixels
    long_side, short_side = max(crop), min(crop)
    height, width = pixels.shape[:2]
    target_h, target_w = (long_side, short_side) if height > width else (short_side, long_side)
    target_h, target_w = min(target_h, height), min(target_w, width)
    top, left = (height - target_h) // 2, (width - target_w) // 2
    return np.ascontiguousarray(pixels[top : top + target_h, left : left + target_w])


def hole_psnr(clean: np.ndarray, estimate: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB over the pixels where ``mask`` is True (all channels), peak 255, capped."""
    if not mask.any():
        return PSNR_CAP_DB
    diff = clean[mask].astype(np.float64) - estimate[mask].astype(np.float64)
    mse = float(np.mean(diff**2))
    return PSNR_CAP_DB if mse == 0.0 else min(PSNR_CAP_DB, 10.0 * np.log10(255.0**2 / mse))


def _as_uint8(output: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.asarray(output)
    if array.shape != shape:
        raise ValueError(f"method {name} returned shape {array.shape} for an input of shape {shape}")
    return array if array.dtype == np.uint8 else np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _fit_length(samples: np.ndarray, frames: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32).reshape(samples.shape[0], -1).mean(axis=1)
    return np.pad(samples[:frames], (0, max(0, frames - samples.shape[0])))


def _import(module: str, method: str, hint: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        error_type = ModelError if module.startswith("aecodec") else InputError
        raise error_type(f"method {method} is not available ({error}); {hint}") from None


BENCH_EXTRA = "install the baselines with pip install 'aecodec[bench]'"


def _image_denoisers(sigma: float, device: str) -> dict[str, Callable[[], Method]]:
    def ours(blind: bool) -> Method:
        restore = _import("aecodec.restore.image", "aecodec", "it needs aecodec.restore.image")
        from aecodec.media.types import Image

        return lambda noisy: restore.denoise_image(Image(noisy), sigma=None if blind else sigma, device=device).pixels

    def cbm3d() -> Method:
        bm3d = _import("bm3d", "cbm3d", BENCH_EXTRA)
        return lambda noisy: 255.0 * bm3d.bm3d_rgb(noisy / 255.0, sigma / 255.0, profile="np")

    return {"aecodec": lambda: ours(True), "aecodec-sigma": lambda: ours(False), "cbm3d": cbm3d}


def _inpainters(device: str) -> dict[str, Callable[[], Method]]:
    def ours() -> Method:
        restore = _import("aecodec.restore.image", "aecodec", "it needs aecodec.restore.image")
        from aecodec.media.types import Image

        return lambda holed, mask: restore.inpaint_image(Image(holed), mask, device=device).pixels

    def telea() -> Method:
        cv2 = _import("cv2", "telea", BENCH_EXTRA)
        return lambda holed, mask: cv2.inpaint(holed, mask.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)

    return {"aecodec": ours, "telea": telea}


def _audio_denoisers(device: str) -> dict[str, Callable[[], Method]]:
    def ours() -> Method:
        restore = _import("aecodec.restore.audio", "aecodec", "it needs aecodec.restore.audio")
        from aecodec.media.types import Audio

        return lambda noisy, rate: restore.denoise_audio(Audio(noisy[:, None], rate), device=device).samples

    def noisereduce(stationary: bool) -> Method:
        module = _import("noisereduce", "noisereduce", BENCH_EXTRA)
        if stationary:
            return lambda noisy, rate: module.reduce_noise(y=noisy, sr=rate, stationary=True)
        return lambda noisy, rate: module.reduce_noise(y=noisy, sr=rate)

    return {"aecodec": ours, "noisereduce": lambda: noisereduce(False),
            "noisereduce-stationary": lambda: noisereduce(True)}


def _resolve(methods: Methods, builtins: dict[str, Callable[[], Method]]) -> dict[str, Method]:
    """Callables by name: a mapping as given, or built-in names built (imported) now."""
    if isinstance(methods, Mapping):
        resolved = dict(methods)
    else:
        names = list(dict.fromkeys(methods))
        unknown = [name for name in names if name not in builtins]
        if unknown:
            raise InputError(f"unknown method {', '.join(unknown)}; choose from {', '.join(builtins)}")
        resolved = {name: builtins[name]() for name in names}
    if not resolved:
        raise InputError("no methods to run; name at least one")
    return resolved


def _fingerprint(args: tuple[Any, ...]) -> str:
    """CRC32 of a case's input arrays: rows are reused only for the very same inputs."""
    crc = 0
    for value in args:
        if isinstance(value, np.ndarray):
            crc = zlib.crc32(np.ascontiguousarray(value).tobytes(), crc)
    return f"{crc:08x}"


def _run(task: str, cases: list[tuple[str, Callable[[], Case]]], methods: dict[str, Method], rows: _Rows,
         protocol_id: str) -> dict[str, str]:
    """Call every method on every case not yet in ``rows``, appending one scored row per call.

    Returns each file's input fingerprint. Inputs are rebuilt (cheap) even when every row is
    there, so that rows made from other inputs (changed degradation code) are not reused.
    """
    fingerprints: dict[str, str] = {}
    warmed: set[str] = set()
    with tqdm(total=len(cases) * len(methods), desc=task, unit="run", file=sys.stderr, disable=None) as progress:
        for key, prepare in cases:
            case = prepare()
            fingerprints[key] = _fingerprint(case.args)
            for name, method in methods.items():
                if (key, name, protocol_id, fingerprints[key]) not in rows.done:
                    if name not in warmed:
                        method(*case.warm_args)
                        warmed.add(name)
                    start = time.perf_counter()
                    output = method(*case.args)
                    seconds = time.perf_counter() - start
                    rows.append({"file": key, "method": name, "protocol": protocol_id, "input": fingerprints[key],
                                 **case.fields, **case.score(output), "seconds": seconds})
                progress.update()
    return fingerprints


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _finish(task: str, dataset: Path, out_dir: Path, protocol: dict[str, Any], protocol_id: str, rows: _Rows,
            fingerprints: dict[str, str], methods: dict[str, Method], device: str, packages: Sequence[str],
            summarise: Callable[[list[dict[str, Any]]], dict[str, Any]], columns: list[tuple[str, str, str]]) -> dict:
    """Aggregate the rows of this protocol and these files per method; write results.json and .md."""
    summary = {}
    for name in methods:
        chosen = [r for r in rows.rows if r["method"] == name and r["protocol"] == protocol_id
                  and fingerprints.get(r["file"]) == r["input"]]
        summary[name] = {**summarise(chosen), "seconds_per_item": _mean([r["seconds"] for r in chosen]),
                         "items": len(chosen)}
    results = {"task": task, "dataset": str(dataset), "protocol": {"id": protocol_id, **protocol},
               "versions": library_versions(packages, {}), "device": device, "methods": summary}
    atomic_write(out_dir / "results.json", (json.dumps(results, indent=2, allow_nan=False) + "\n").encode(), force=True)
    lines = [f"# {task}: {dataset}", "", ", ".join(f"{k}: {v}" for k, v in protocol.items()), "",
             "| method | " + " | ".join(label for _, label, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, entry in summary.items():
        cells = ["n/a" if entry.get(k) is None else format(entry[k], spec) for k, _, spec in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()), ""]
    atomic_write(out_dir / "results.md", "\n".join(lines).encode(), force=True)
    return results


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")


def _open_rows(out_dir: Path, params: dict[str, Any]) -> tuple[_Rows, str]:
    """The output folder's rows and the protocol id: a hash of the parameters that make the inputs."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot use '{out_dir}' as the output folder: {error.strerror}; check --out") from None
    protocol_id = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return _Rows(out_dir / "points.jsonl"), protocol_id


def _psnr_mean(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"mean_psnr": _mean([r["psnr"] for r in rows])}


def bench_image_denoise(data_dir: Path, out_dir: Path, sigma: float = 25, limit: int | None = None,
                        crop: tuple[int, int] | None = (481, 321),
                        methods: Methods = ("aecodec", "aecodec-sigma", "cbm3d"),
                        device: str = "cpu", seed: int = 0) -> dict[str, Any]:
    """Denoise AWGN (``sigma`` in 0..255 units) on the images in ``data_dir``; returns results.json's dict.

    ``crop`` is (width, height) of the centre crop (None: whole images); ``limit`` takes the
    first files in path order. Raises InputError for bad folders or options, ModelError when
    aecodec's denoiser is missing.
    """
    from aecodec.bench.image import load_rgb

    if not sigma > 0:
        raise InputError(f"--sigma must be positive, got {sigma}")
    if crop is not None and min(crop) < 1:
        raise InputError(f"the crop must be positive, got {crop}")
    _check_limit(limit)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    files = list_files(data_dir, tuple(EXTENSIONS), limit)
    chosen = _resolve(methods, _image_denoisers(sigma, device))
    params = {"sigma": float(sigma), "crop": None if crop is None else [int(c) for c in crop], "seed": int(seed)}
    rows, protocol_id = _open_rows(out_dir, params)
    protocol = {**params, "noise": "AWGN in 0..255 units, rounded and clipped to uint8", "score": "PSNR-RGB, 8-bit"}

    def prepare(path: Path, key: str) -> Case:
        clean = centre_crop(load_rgb(path).pixels, crop)
        noisy = add_awgn_uint8(clean, sigma, file_rng(seed, key))
        return Case((noisy,), (np.ascontiguousarray(noisy[:WARM_SIDE, :WARM_SIDE]),),
                    lambda output: {"psnr": psnr_rgb(clean, _as_uint8(output, clean.shape, "denoiser"))},
                    {"height": clean.shape[0], "width": clean.shape[1], "noisy_psnr": psnr_rgb(clean, noisy)})

    keys = [p.relative_to(data_dir).as_posix() for p in files]
    fingerprints = _run("denoise-image", [(k, lambda p=p, k=k: prepare(p, k)) for p, k in zip(files, keys)], chosen,
                        rows, protocol_id)
    return _finish("image-denoise", data_dir, out_dir, protocol, protocol_id, rows, fingerprints, chosen, device,
                   ("numpy", "Pillow", "bm3d", "torch"), _psnr_mean,
                   [("mean_psnr", "PSNR (dB)", ".2f"), ("seconds_per_item", "s/image", ".3f"),
                    ("items", "images", "d")])


def bench_image_inpaint(data_dir: Path, out_dir: Path, limit: int | None = None,
                        methods: Methods = ("aecodec", "telea"), seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Fill brush-stroke holes in the images in ``data_dir``, scored inside the holes; returns results.json's dict.

    Raises InputError for bad folders or options, ModelError when aecodec's inpainter is missing.
    """
    from aecodec.bench.image import load_rgb

    _check_limit(limit)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    files = list_files(data_dir, tuple(EXTENSIONS), limit)
    chosen = _resolve(methods, _inpainters(device))
    params = {"seed": int(seed), "mask": "brush_stroke_mask defaults"}
    rows, protocol_id = _open_rows(out_dir, params)
    protocol = {**params, "mask": "brush strokes: 3-7 strokes, 8-24 px wide, 5-15 % of the image",
                "input": "hole pixels set to 0", "score": "PSNR-RGB over the hole pixels, 8-bit"}

    def prepare(path: Path, key: str) -> Case:
        clean = load_rgb(path).pixels
        mask = brush_stroke_mask(clean.shape[0], clean.shape[1], file_rng(seed, key))
        holed = np.where(mask[:, :, None], np.uint8(0), clean)
        warm = (np.ascontiguousarray(holed[:WARM_SIDE, :WARM_SIDE]), np.ascontiguousarray(mask[:WARM_SIDE, :WARM_SIDE]))

        def score(output: np.ndarray) -> dict[str, Any]:
            estimate = _as_uint8(output, clean.shape, "inpainter")
            return {"psnr": hole_psnr(clean, estimate, mask), "psnr_whole": psnr_rgb(clean, estimate)}

        return Case((holed, mask), warm, score, {"hole_fraction": float(mask.mean())})

    keys = [p.relative_to(data_dir).as_posix() for p in files]
    fingerprints = _run("inpaint-image", [(k, lambda p=p, k=k: prepare(p, k)) for p, k in zip(files, keys)], chosen,
                        rows, protocol_id)
    return _finish("image-inpaint", data_dir, out_dir, protocol, protocol_id, rows, fingerprints, chosen, device,
                   ("numpy", "Pillow", "opencv-python-headless", "torch"), _psnr_mean,
                   [("mean_psnr", "hole PSNR (dB)", ".2f"), ("seconds_per_item", "s/image", ".3f"),
                    ("items", "images", "d")])


def _list_audio(folder: Path, limit: int | None, option: str) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"folder '{folder}' does not exist; check {option}")
    try:
        return list_files(folder, AUDIO_SUFFIXES, limit)
    except InputError:
        raise InputError(f"no {', '.join(AUDIO_SUFFIXES)} files in '{folder}'; check {option}") from None


def _audio_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    seconds_audio = sum(r["seconds_audio"] for r in rows)
    return {"mean_si_snr_improvement": _mean([r["si_snr_improvement"] for r in rows]),
            "mean_si_snr": _mean([r["si_snr"] for r in rows]),
            "real_time_factor": sum(r["seconds"] for r in rows) / seconds_audio if rows else None}


def bench_audio_denoise(speech_dir: Path, noise_dir: Path, out_dir: Path, snr_db: float = 0.0, limit: int | None = None,
                        methods: Methods = ("aecodec", "noisereduce", "noisereduce-stationary"), seed: int = 0,
                        device: str = "cpu") -> dict[str, Any]:
    """Denoise speech mixed with noise at ``snr_db``; SI-SNR improvement and real-time factor.

    Returns results.json's dict. Raises InputError for bad folders, options or silent files,
    ModelError when aecodec's denoiser is missing.
    """
    if not np.isfinite(snr_db):
        raise InputError(f"--snr must be a finite number of dB, got {snr_db}")
    _check_limit(limit)
    speech_dir, noise_dir, out_dir = Path(speech_dir), Path(noise_dir), Path(out_dir)
    files = _list_audio(speech_dir, limit, "--speech")
    noises = _list_audio(noise_dir, None, "--noise")
    chosen = _resolve(methods, _audio_denoisers(device))
    params = {"snr_db": float(snr_db), "seed": int(seed), "sample_rate_hz": SAMPLE_RATE_HZ,
              "max_seconds": MAX_SECONDS, "noises": [p.relative_to(noise_dir).as_posix() for p in noises]}
    rows, protocol_id = _open_rows(out_dir, params)
    protocol = {**params, "noise_dir": str(noise_dir),
                "pairing": "speech file i (path order) with noise i mod n, looped from a seeded offset",
                "score": "SI-SNR(output, clean) - SI-SNR(noisy, clean)"}
    noise_cache: dict[Path, np.ndarray] = {}

    def prepare(index: int, path: Path, key: str) -> Case:
        clean = read_mono(path, SAMPLE_RATE_HZ)[: int(MAX_SECONDS * SAMPLE_RATE_HZ)]
        noise_path = noises[index % len(noises)]
        if noise_path not in noise_cache:
            noise_cache[noise_path] = read_mono(noise_path, SAMPLE_RATE_HZ)
        try:
            noisy, _ = mix_at_snr(clean, noise_cache[noise_path], snr_db, file_rng(seed, key))
        except ValueError as error:
            raise InputError(f"cannot mix '{path}' with '{noise_path}': {error}") from None
        peak = float(np.max(np.abs(noisy)))
        if peak > 1.0:  # SI-SNR ignores scale: shrink both so the input is valid audio
            noisy, clean = noisy * (0.99 / peak), clean * (0.99 / peak)
        noisy_si_snr = si_snr(clean, noisy)

        def score(output: np.ndarray) -> dict[str, Any]:
            value = si_snr(clean, _fit_length(output, clean.shape[0]))
            return {"si_snr": value, "si_snr_improvement": value - noisy_si_snr}

        fields = {"noise": noise_path.relative_to(noise_dir).as_posix(),
                  "seconds_audio": clean.shape[0] / SAMPLE_RATE_HZ,
                  "noisy_si_snr": noisy_si_snr}
        return Case((noisy, SAMPLE_RATE_HZ), (noisy[:SAMPLE_RATE_HZ], SAMPLE_RATE_HZ), score, fields)

    keys = [p.relative_to(speech_dir).as_posix() for p in files]
    cases = [(k, lambda i=i, p=p, k=k: prepare(i, p, k)) for i, (p, k) in enumerate(zip(files, keys))]
    fingerprints = _run("denoise-audio", cases, chosen, rows, protocol_id)
    return _finish("audio-denoise", speech_dir, out_dir, protocol, protocol_id, rows, fingerprints, chosen, device,
                   ("numpy", "scipy", "soundfile", "noisereduce", "torch", "torchaudio"), _audio_summary,
                   [("mean_si_snr_improvement", "SI-SNR improvement (dB)", "+.2f"),
                    ("mean_si_snr", "SI-SNR (dB)", ".2f"),
                    ("seconds_per_item", "s/clip", ".3f"), ("real_time_factor", "real-time factor", ".4f"),
                    ("items", "clips", "d")])
