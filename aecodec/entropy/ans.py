"""Load ``compressai.ans`` (the rANS C++ extension) without importing the compressai package."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

from aecodec.errors import ModelError


@lru_cache(maxsize=1)
def ans_module():
    if "compressai.ans" in sys.modules:
        return sys.modules["compressai.ans"]
    spec = importlib.util.find_spec("compressai")  # finds the folder; does not run __init__
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("compressai is not installed; run 'make install' or pip install compressai==1.2.8")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"ans{suffix}"
        if path.exists():
            ext_spec = importlib.util.spec_from_file_location("compressai.ans", path)
            module = importlib.util.module_from_spec(ext_spec)
            ext_spec.loader.exec_module(module)
            return module
    raise ModelError(f"compressai's rANS extension is missing in {folder}; reinstall compressai==1.2.8")
