"""The package's dependencies: ranges a user's environment can satisfy (pip must not replace a
working torch), every range holding the exact versions CI locks in requirements.txt."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
# Tested: the lock (requirements.txt) in every CI run, and torch 2.11 / torchvision 0.26 /
# torchaudio 2.11 by a full test run (docs/install.md says how to repeat it).
RANGED = ("torch", "torchvision", "torchaudio", "compressai", "pytorch-msssim")


def dependencies() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {r.name: r for r in map(Requirement, project["dependencies"])}


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


@pytest.mark.parametrize("name", RANGED)
def test_heavy_dependencies_are_ranges_not_pins(name):
    requirement = dependencies()[name]
    assert requirement.specifier, f"{name} has no version bounds"
    assert not any(spec.operator == "==" for spec in requirement.specifier), f"{name} is pinned exactly"
    assert any(spec.operator == "<" for spec in requirement.specifier), f"{name} has no upper bound"


def test_every_range_holds_the_locked_version():
    pins = locked()
    for name, requirement in dependencies().items():
        if name.lower() in pins:
            assert requirement.specifier.contains(pins[name.lower()], prereleases=True), (name, pins[name.lower()])
