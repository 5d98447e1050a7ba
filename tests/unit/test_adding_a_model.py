"""docs/adding-a-model.md, followed to the letter: a model file (here, this module) and one line
in the architecture table make a model that exports and loads back like a shipped one."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import pytest
import torch
from torch import nn

from aecodec.models import registry
from aecodec.models.layers import StateDictModel
from aecodec.train.export import write_pretrained


@dataclass(frozen=True)
class TinyGainConfig:
    channels: int = 3

    def to_dict(self) -> dict:
        return asdict(self)


class TinyGain(StateDictModel):
    """Multiplies every channel by a learned gain."""

    config_class = TinyGainConfig

    def __init__(self, config: TinyGainConfig):
        super().__init__()
        self.config = config
        self.gain = nn.Parameter(torch.ones(config.channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain.view(1, -1, 1, 1)


@pytest.fixture
def tiny_gain(monkeypatch):
    """The registry line of the docs' example, pointing at this module's class."""
    monkeypatch.setitem(registry.ARCHITECTURES, "tiny-gain", f"{__name__}:TinyGain")


def test_a_model_file_and_a_registry_line_make_a_model_that_exports_and_loads(tiny_gain, tmp_path, monkeypatch):
    model = TinyGain(TinyGainConfig(channels=4))
    with torch.no_grad():
        model.gain.copy_(torch.tensor([0.5, 1.0, 2.0, 4.0]))
    state = {"step": 3, "config": {"seed": 0, "data": "private path", "lr": 0.1}}  # a checkpoint's record
    card_path = write_pretrained(model, tmp_path, "tiny-gain", 1, {"task": "denoise", "media": "image"}, state,
                                 {"trained": {"command": "test"}, "license": "CC0"})
    card = json.loads(card_path.read_text())
    assert card["architecture"] == "tiny-gain" and card["config"] == {"channels": 4}
    assert card["task"] == "denoise" and card["media"] == "image" and card["license"] == "CC0"
    assert card["weights"]["dtype"] == "float32" and card["weights"]["file"] == "tiny-gain.v1.safetensors"
    assert card["trained"] == {"steps": 3, "seed": 0, "recipe": {"seed": 0, "lr": 0.1}, "command": "test"}

    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path))
    card, loaded = registry.load_model("tiny-gain")
    assert isinstance(loaded, TinyGain) and not loaded.training
    assert torch.equal(loaded.gain, model.gain)
    x = torch.ones(1, 4, 2, 2)
    assert torch.equal(loaded(x), model(x).detach())


def test_a_model_missing_from_the_table_is_not_exported(tmp_path):
    from aecodec.errors import ModelError

    with pytest.raises(ModelError, match="add its line there"):
        write_pretrained(TinyGain(TinyGainConfig()), tmp_path, "tiny-gain", 1, {"task": "denoise", "media": "image"},
                         {"step": 1, "config": {"seed": 0}}, {})
    assert not any(tmp_path.iterdir())


def test_an_unknown_architecture_is_one_model_error(tiny_gain, tmp_path, monkeypatch):
    from aecodec.errors import ModelError

    write_pretrained(TinyGain(TinyGainConfig()), tmp_path, "tiny-gain", 1, {"task": "denoise", "media": "image"},
                     {"step": 1, "config": {"seed": 0}}, {})
    monkeypatch.delitem(registry.ARCHITECTURES, "tiny-gain")
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match="needs architecture 'tiny-gain', unknown to this aecodec"):
        registry.load_model("tiny-gain")
