"""The codecs' safetensors layout, shared by the architectures that own it: ``transforms.*`` in
float16 (the log-gains in float32, so quality maps exactly as trained) and integer CDF tables
under ``tables.<name>.*``. (The restorers store their state dict: ``layers.StateDictModel``.)
Each architecture's ``to_tensors()`` writes what its ``from_pretrained`` reads, so the shipped
files and an export of the same weights hold the same tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aecodec.entropy.tables import CdfTables

TRANSFORMS = "transforms."
FLOAT32_TRANSFORMS = ("log_gain_enc", "log_gain_dec")


def transforms_to_tensors(transforms: nn.Module) -> dict[str, torch.Tensor]:
    """The transforms' weights in float16, but the log-gains in float32."""
    tensors = {TRANSFORMS + k: v.detach().to(torch.float16) for k, v in transforms.state_dict().items()}
    for k in FLOAT32_TRANSFORMS:
        tensors[TRANSFORMS + k] = getattr(transforms, k).detach().float()
    return tensors


def load_transforms(transforms: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load ``transforms.*`` (strictly: every weight present, none unknown) as float32."""
    state = {k[len(TRANSFORMS):]: v.float() for k, v in tensors.items() if k.startswith(TRANSFORMS)}
    transforms.load_state_dict(state, strict=True)


def tables_to_tensors(name: str, tables: CdfTables) -> dict[str, torch.Tensor]:
    """``tables.<name>.cdf``, ``cdf_length`` and ``offset``, int32."""
    return {f"tables.{name}.{k}": torch.from_numpy(np.ascontiguousarray(getattr(tables, k), np.int32))
            for k in ("cdf", "cdf_length", "offset")}


def tables_from_tensors(name: str, tensors: dict[str, torch.Tensor]) -> CdfTables:
    return CdfTables(*(tensors[f"tables.{name}.{k}"].numpy().astype(np.int32) for k in ("cdf", "cdf_length", "offset")))


def with_prefix(tensors: dict[str, torch.Tensor], *prefixes: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with one of ``prefixes`` (e.g. the entropy models' float
    parameters, which inference never reads but carries so training can resume from shipped weights)."""
    return {k: v for k, v in tensors.items() if k.startswith(prefixes)}
