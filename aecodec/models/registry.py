"""Architectures by name, model cards and checked safetensors loading.

Reading cards needs no torch (for ``aecodec models`` / ``info``); building a model does.
Weights are only ever read from local folders: nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from aecodec.errors import ModelError

PACKAGED_MODELS = Path(__file__).resolve().parents[1] / "pretrained"

# The one table of architectures: the name a card's "architecture" gives -> "module:Class". A
# module is imported only when a model of its architecture is built, so listing cards needs no
# torch. The class has ``from_pretrained(card, tensors)``, ``to_tensors()`` (its weights file:
# ``from_pretrained(card, tensors).to_tensors() == tensors``), ``config.to_dict()`` and
# ``weights_dtype`` (docs/adding-a-model.md).
ARCHITECTURES: dict[str, str] = {
    "image-hyperprior": "aecodec.models.image.model:HyperpriorCodec",
    "audio-conv-lstm": "aecodec.models.audio.model:ConvLstmAudioCodec",
    "restore-unet": "aecodec.models.image.restore_unet:RestorationUNet",
    "audio-mask-gru": "aecodec.models.audio.mask_gru:SpectralMaskNet",
    "audio-mdct": "aecodec.models.audio.mdct_model:MdctAudioModel",
    "audio-music-detector": "aecodec.models.audio.music_detector:MusicDetector",
}


def architecture(name: str) -> type:
    """The class of architecture ``name`` (its module imported now)."""
    if name not in ARCHITECTURES:
        raise ModelError(f"architecture '{name}' is unknown to this aecodec; upgrade")
    module, _, cls = ARCHITECTURES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def architecture_name(model: Any) -> str:
    """The table's name for ``model``'s class (for the card an export writes)."""
    for name, target in ARCHITECTURES.items():
        module, _, cls = target.partition(":")
        if getattr(sys.modules.get(module), cls, None) is type(model):
            return name
    raise ModelError(f"{type(model).__name__} is not in models.registry.ARCHITECTURES; add its line there")


def model_dirs() -> list[Path]:
    """Where shipped weights live: $AECODEC_MODELS (if set), then the package's own pretrained/
    (package data: a wheel carries every shipped version, so installed copies work offline)."""
    dirs = []
    if os.environ.get("AECODEC_MODELS"):
        dirs.append(Path(os.environ["AECODEC_MODELS"]))
    dirs.append(PACKAGED_MODELS)
    return dirs


def list_cards() -> list[dict]:
    """Every installed card, newest version of each model first. Old versions stay installed
    so that files made with them still decode (the header names the weights' sha256)."""
    cards, seen = [], set()
    for d in model_dirs():
        for path in sorted(d.glob("*.json")) if d.is_dir() else []:
            card = _read_card_file(path)
            key = (card["name"], card["weights"]["sha256"])
            if key not in seen:
                seen.add(key)
                cards.append(card)
    return sorted(cards, key=lambda c: (c["name"], -int(c.get("version", 0))))


def read_card(name: str, sha256_prefix: str | None = None) -> dict:
    """The newest card of ``name``, or the one whose weights match ``sha256_prefix``."""
    versions = [c for c in list_cards() if c["name"] == name]
    if not versions:
        raise ModelError(
            f"model '{name}' is not installed (looked in {', '.join(str(d) for d in model_dirs())}); "
            "run 'aecodec models' to list installed models or set AECODEC_MODELS"
        )
    if sha256_prefix is None:
        return versions[0]
    for card in versions:
        if card["weights"]["sha256"].startswith(sha256_prefix):
            return card
    raise ModelError(
        f"the file was made with '{name}' weights {sha256_prefix}, which are not installed "
        f"(installed: {', '.join(c['weights']['sha256'][:16] for c in versions)}); "
        "install the aecodec version that made the file"
    )


def _read_card_file(path: Path) -> dict:
    try:
        card = json.loads(path.read_text())
        card["name"], card["weights"]["file"], card["weights"]["sha256"]  # noqa: B018 required keys
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"model card '{path}' is unreadable ({e}); restore it from the repository") from None
    card["_path"] = str(path)
    return card


def weights_path(card: dict) -> Path:
    return Path(card["_path"]).parent / card["weights"]["file"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(name: str, expected_sha256_prefix: str | None = None) -> tuple[dict, Any]:
    """Card -> sha256 check of the weights -> (card, architecture built from the card's config)."""
    card = read_card(name, expected_sha256_prefix)
    digest = card["weights"]["sha256"]
    path = weights_path(card)
    if not path.is_file():
        raise ModelError(f"weights file '{path}' is missing; restore pretrained/ from the repository")
    actual = sha256_file(path)
    if actual != digest:
        raise ModelError(f"weights file '{path}' is damaged (sha256 {actual[:16]}, card says {digest[:16]}); restore it")
    if not isinstance(card.get("architecture"), str) or card["architecture"] not in ARCHITECTURES:
        raise ModelError(f"model '{name}' needs architecture '{card.get('architecture')}', unknown to this aecodec; upgrade")
    arch = architecture(card["architecture"])
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
        return card, arch.from_pretrained(card, tensors)
    except (ValueError, KeyError, TypeError, RuntimeError, OSError) as e:  # TypeError: an unknown config key
        raise ModelError(f"cannot load '{path}': {e}; restore pretrained/ from the repository") from None


_LOADED: dict[tuple, tuple[dict, Any]] = {}
_LOADED_LOCK = threading.Lock()  # batch commands on a GPU code several files at once


def loaded_model(name: str, sha256_prefix: str | None = None, device: str = "cpu") -> tuple[dict, Any]:
    """``load_model`` once per process: (card, model on the resolved ``device``). Each model stays
    loaded, so decoding a file made with an old version does not change what new files use."""
    from aecodec.device import resolve_device

    dev = resolve_device(device)
    key = (name, sha256_prefix, str(dev))
    with _LOADED_LOCK:
        if key not in _LOADED:
            card, model = load_model(name, sha256_prefix)
            _LOADED[key] = card, model.to(dev)
        return _LOADED[key]
