"""Every recipe the package ships passes the checks `aecodec train --config` runs first and
loads through its trainer's loader, so a recipe key that changes shape cannot strand the
recipes of shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aecodec.cli.train_cmds import trainer
from aecodec.train.recipe import read_recipe, validate_recipe

RECIPES = sorted((Path(__file__).parents[2] / "aecodec" / "train" / "recipes").glob("*.json"))


def task_of(path: Path) -> str:
    recipe = json.loads(path.read_text())
    if "task" in recipe:
        return recipe["task"]
    return next(t for t in ("image-codec", "audio-codec", "audio-mdct") if path.stem.startswith(t))


def check(path: Path):
    task = task_of(path)
    Config, load_recipe, _, nested, options = trainer(task)
    recipe = read_recipe(str(path), {"task": task} if "task" in Config.__dataclass_fields__ else {})
    validate_recipe(recipe, Config, nested, "recipe", options)
    return load_recipe(str(path))  # a restoration task's also builds its model config


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_the_recipe_passes_the_checks_and_loads(path):
    cfg = check(path)
    for key, value in json.loads(path.read_text()).items():
        if not key.startswith("_") and key not in ("model", "degrade") and hasattr(cfg, key):
            assert getattr(cfg, key) == value, key


def test_a_recipe_written_before_the_later_noise_kinds_still_loads(tmp_path):
    from aecodec.errors import InputError

    recipe = tmp_path / "audio-denoise-old.json"
    recipe.write_text(json.dumps({"task": "audio-denoise", "degrade": {"noise_kinds": [0.3, 0.2, 0.1, 0.2, 0.1, 0.1]}}))
    assert check(recipe).degrade["noise_kinds"] == [0.3, 0.2, 0.1, 0.2, 0.1, 0.1]
    recipe.write_text(json.dumps({"task": "audio-denoise", "degrade": {"noise_kinds": [1] * 11}}))
    with pytest.raises(InputError, match="up to 10"):
        check(recipe)
