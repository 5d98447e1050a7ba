"""Folders of images as an endless stream of random training crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aecodec.errors import InputError
from aecodec.media.kinds import IMAGE_SUFFIXES


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"training data folder '{folder}' does not exist; pass --data DIR")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no images in '{folder}'; put PNG/JPEG files there")
    return files


def read_rgb_tensors(files: list[Path], min_side: int) -> list[torch.Tensor]:
    """Decode every image once into RGB uint8 CHW tensors (the train set fits in memory), leaving
    out those under ``min_side`` px on their short side."""
    from aecodec.media.image import read_image

    images = []
    for f in files:
        px = read_image(f).pixels
        if px.shape[2] == 1:
            px = np.repeat(px, 3, axis=2)
        px = px[:, :, :3]
        if min(px.shape[:2]) >= min_side:
            images.append(torch.from_numpy(np.ascontiguousarray(px)).permute(2, 0, 1).contiguous())
    if not images:
        raise InputError(f"no training image is at least {min_side} px on its short side")
    return images


class RandomCrops:
    """Random crops with horizontal flips, as float batches in [0, 1]."""

    def __init__(self, images: list[torch.Tensor], crop: int):
        self.images, self.crop = images, crop

    def batch(self, size: int, gen: torch.Generator) -> torch.Tensor:
        out = torch.empty(size, 3, self.crop, self.crop)
        for i in range(size):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=gen))]
            _, h, w = img.shape
            top = int(torch.randint(h - self.crop + 1, (1,), generator=gen))
            left = int(torch.randint(w - self.crop + 1, (1,), generator=gen))
            patch = img[:, top : top + self.crop, left : left + self.crop]
            if torch.rand(1, generator=gen) < 0.5:
                patch = patch.flip(2)
            out[i] = patch.float() / 255.0
        return out
