"""The shipped restoration networks, loaded once per process and device (image and audio alike)."""

from __future__ import annotations

import threading

_LOADED: dict = {}
_LOCK = threading.Lock()  # batch commands on a GPU run several files at once


def shipped(name: str, device: str):
    """(the newest installed network ``name`` on ``device``, the resolved torch device)."""
    from aecodec.device import resolve_device
    from aecodec.models.registry import load_model

    dev = resolve_device(device)
    with _LOCK:
        if (name, str(dev)) not in _LOADED:
            _, net = load_model(name)
            _LOADED[(name, str(dev))] = net.to(dev)
        return _LOADED[(name, str(dev))], dev
