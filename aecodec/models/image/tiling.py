"""Tiled evaluation of convolutional transforms with bounded memory and no seams.

Each tile is computed with a margin wider than the transform's receptive field and
cropped back to its core, so the stitched output matches an untiled run up to float
rounding. The tiling is a pure function of the input size, recorded in the container,
so encoder and decoder always tile alike.
"""

from __future__ import annotations

from typing import Callable

import torch


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, margin: int, scale: float,
          on_tile: Callable[[], None] | None = None) -> torch.Tensor:
    """Apply ``fn`` (output size = input size * scale) over ``tile``-sized input tiles; ``on_tile()``
    after each (a progress report)."""
    _, _, h, w = x.shape
    if tile <= 0 or (h <= tile and w <= tile):
        x = fn(x)
        if on_tile is not None:
            on_tile()
        return x
    out = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(0, top - margin), max(0, left - margin)
            t1, l1 = min(h, top + tile + margin), min(w, left + tile + margin)
            y = fn(x[:, :, t0:t1, l0:l1])
            if out is None:
                out = y.new_empty(y.shape[0], y.shape[1], int(h * scale), int(w * scale))
            ct, cl = int((top - t0) * scale), int((left - l0) * scale)
            ch, cw = int(min(tile, h - top) * scale), int(min(tile, w - left) * scale)
            out[:, :, int(top * scale) : int(top * scale) + ch, int(left * scale) : int(left * scale) + cw] = y[
                :, :, ct : ct + ch, cl : cl + cw
            ]
            if on_tile is not None:
                on_tile()
    return out
