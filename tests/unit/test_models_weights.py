"""Models own their weights layout: every shipped model writes back exactly the tensors it was
loaded from, so an export of the same weights gives the same files."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from aecodec.models import registry

SHIPPED = [(c["name"], c["weights"]["sha256"]) for c in registry.list_cards()
           if registry.weights_path(c).parent == registry.PACKAGED_MODELS]


def test_every_architecture_of_the_table_is_shipped():
    cards = [registry.read_card(name, sha) for name, sha in SHIPPED]
    assert {c["architecture"] for c in cards} == set(registry.ARCHITECTURES)


@pytest.mark.parametrize("name, sha256", SHIPPED, ids=[f"{n}-{s[:8]}" for n, s in SHIPPED])
def test_a_shipped_model_gives_back_the_tensors_it_was_loaded_from(name, sha256):
    card, model = registry.load_model(name, sha256)
    tensors = load_file(str(registry.weights_path(card)))
    out = model.to_tensors()
    assert set(out) == set(tensors)
    for key, value in tensors.items():
        assert out[key].dtype == value.dtype and torch.equal(out[key], value), key
    assert registry.architecture_name(model) == card["architecture"]
    assert model.config.to_dict() == card["config"]


@pytest.mark.parametrize("name, sha256", SHIPPED, ids=[f"{n}-{s[:8]}" for n, s in SHIPPED])
def test_exporting_a_shipped_model_again_writes_its_file_and_card(name, sha256, tmp_path):
    from aecodec.train.export import write_pretrained

    card, model = registry.load_model(name, sha256)
    about = {k: card[k] for k in ("task", "media", "quality") if k in card}
    state = {"step": 1, "config": {"seed": 0}}
    new = json.loads(write_pretrained(model, tmp_path, name, card["version"], about, state, {}).read_text())
    assert (tmp_path / card["weights"]["file"]).read_bytes() == registry.weights_path(card).read_bytes()
    for key in ("name", "version", "architecture", "format", "task", "media", "config", "weights", "quality"):
        assert new.get(key) == card.get(key), key
