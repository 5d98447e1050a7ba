"""The shipped restoration networks, loaded once per process and device (image and audio alike)."""

from __future__ import annotations


def shipped(name: str, device: str):
    """(the newest installed network ``name`` on ``device``, the resolved torch device)."""
    from aecodec.models.registry import loaded_model

    _, net = loaded_model(name, None, device)
    return net, next(net.parameters()).device
