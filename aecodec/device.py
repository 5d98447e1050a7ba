"""--device auto|cpu|cuda, resolved once with a clear error when CUDA is absent."""

from __future__ import annotations

import functools

from aecodec.errors import DeviceError, InputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str):
    import torch

    if name not in DEVICES and not name.startswith("cuda:"):
        raise InputError(f"unknown device '{name}'; use auto, cpu or cuda")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for (--device cuda) but this machine has no usable CUDA GPU; use --device cpu")
    return torch.device(name)


def to_device(tensor, device):
    """``tensor`` on ``device``; a host-to-GPU copy goes through pinned (page-locked) memory and
    does not block, so the CPU can prepare the next piece while the GPU computes."""
    if device.type != "cuda" or tensor.device.type == "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def native_bf16(device) -> bool:
    """Whether bfloat16 convolutions run natively (and fast) on ``device``: any CUDA GPU, or a
    CPU with AVX512-BF16 or AMX (measured 2-3x float32 speed on an EPYC with AVX512-BF16);
    elsewhere oneDNN emulates bfloat16, which is slower than float32."""
    return device.type == "cuda" or _cpu_has_bf16()


@functools.cache
def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: stay with float32
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
