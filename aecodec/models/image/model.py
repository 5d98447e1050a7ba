"""The shipped hyperprior image codec at inference: float transforms + exact entropy path."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aecodec.device import to_device
from aecodec.entropy.tables import CdfTables
from aecodec.models.image.hyperprior import HyperpriorConfig, HyperpriorTransforms
from aecodec.models.image.integer import A_BITS, IntegerNetwork
from aecodec.models.image.tiling import tiled
from aecodec.models.layers import SubpixelConv
from aecodec.models.weights import (load_transforms, tables_from_tensors, tables_to_tensors, transforms_to_tensors,
                                     with_prefix)

# Tiles in image pixels (a multiple of the stride 64); margins exceed each transform's field.
TILE = 1024
ANALYSIS_MARGIN = 64
SYNTHESIS_MARGIN = 96
Z_LIMIT = 2**11  # hyper-latent symbols are clamped to +-2048 on both sides (keeps h_s exact)
# h_s runs on HS_TILE x HS_TILE hyper-latent tiles (about 150 MB of float64 buffers each) with
# HS_MARGIN cells of context: each output depends on z cells at most 2 away, so tiles are exact.
HS_TILE, HS_MARGIN, HS_SCALE = 16, 2, 4  # HS_SCALE: y cells per z cell along each side
HS_INT = "hs_int."  # the integer h_s's tensors
CONTEXT_INT = "context_int."  # the integer slice contexts', as context_int.<slice>.<layer>.*
CONTEXT_ROWS = 32  # latent rows per tile of a context network (its reach is one row each side)
TRAINING = "entropy_bottleneck."  # the hyper-latent's float density, for training only


class HyperpriorCodec:
    """Tensor-level codec: images in, integer symbols out, and back. No files, no bytes framing.

    Weights file: ``transforms.*`` (float16; log-gains float32), the integer h_s ``hs_int.*``,
    with ``slices`` the integer slice contexts ``context_int.*``, the frozen CDF tables ``tables.z.*`` (with the medians in units of 2^-A_BITS) and
    ``tables.y.*`` (with the scale table), and the training-only ``entropy_bottleneck.*``.
    """

    stride = HyperpriorTransforms.stride
    weights_dtype = "float16 transforms, int32 entropy path"
    about = {"task": "compress", "media": "image",  # the card's fields beside the config (export)
             "quality": {"min": 1, "max": 100, "method": "gain units, geometric interpolation"}}

    def __init__(self, config: HyperpriorConfig, transforms: HyperpriorTransforms, h_s: IntegerNetwork,
                 context: list[IntegerNetwork], z_tables: CdfTables, z_medians: np.ndarray, y_tables: CdfTables,
                 scale_table: np.ndarray, training_tensors: dict[str, torch.Tensor]):
        self.config = config
        self.training_tensors = training_tensors  # carried unread, so training can resume from the shipped weights
        # channels_last is oneDNN's fast layout (1.4x the float synthesis here); the output layer
        # runs as a sub-pixel convolution (SubpixelConv). Neither touches the entropy path.
        self.transforms = transforms.eval().requires_grad_(False).to(memory_format=torch.channels_last)
        tail = SubpixelConv(transforms.g_s[-1]).to(memory_format=torch.channels_last)
        self.synthesis = nn.Sequential(*transforms.g_s[:-1], tail)
        self.h_s, self.context = h_s, context  # context: one network per slice, [] without slices
        self.z_tables, self.z_medians = z_tables, z_medians  # medians: int, units of 2^-A_BITS
        self.y_tables, self.scale_table = y_tables, scale_table
        self.device = torch.device("cpu")

    @classmethod
    def from_pretrained(cls, card: dict, tensors: dict[str, torch.Tensor]) -> HyperpriorCodec:
        config = HyperpriorConfig(**card["config"])
        transforms = HyperpriorTransforms(config)
        load_transforms(transforms, tensors)
        h_s = IntegerNetwork.from_tensors(tensors, HS_INT, transforms.h_s)
        context = [IntegerNetwork.from_tensors(tensors, f"{CONTEXT_INT}{i}.", net)
                   for i, net in enumerate(transforms.context or [])]
        return cls(config, transforms, h_s, context, tables_from_tensors("z", tensors),
                   tensors["tables.z.medians"].numpy().astype(np.int64), tables_from_tensors("y", tensors),
                   tensors["tables.y.scale_table"].double().numpy(), with_prefix(tensors, TRAINING))

    def to_tensors(self) -> dict[str, torch.Tensor]:
        tensors = transforms_to_tensors(self.transforms)
        tensors.update(self.training_tensors)
        tensors.update(self.h_s.tensors(HS_INT))
        for i, net in enumerate(self.context):
            tensors.update(net.tensors(f"{CONTEXT_INT}{i}."))
        tensors.update(tables_to_tensors("z", self.z_tables))
        tensors["tables.z.medians"] = torch.from_numpy(self.z_medians.astype(np.int64))
        tensors.update(tables_to_tensors("y", self.y_tables))
        tensors["tables.y.scale_table"] = torch.from_numpy(self.scale_table.astype(np.float64))
        return tensors

    def to(self, device: torch.device) -> HyperpriorCodec:
        self.transforms.to(device)
        self.synthesis.to(device)
        self.device = device
        return self

    def tile_for(self, height: int, width: int) -> int:
        return 0 if height * width <= TILE * TILE * 2 else TILE

    # --- encoder side -------------------------------------------------------------------
    @torch.no_grad()
    def analyse(self, image: torch.Tensor, tile: int, on_tile=None) -> torch.Tensor:
        """uint8 [H, W, 3] (padded to the stride) -> latent y, float32 on the CPU; ``on_tile()`` after each tile."""
        x = image.permute(2, 0, 1)[None]  # stays uint8: tiles are converted one at a time

        def step(t: torch.Tensor) -> torch.Tensor:
            t = to_device(t, self.device).float().div_(255.0).contiguous(memory_format=torch.channels_last)
            return self.transforms.g_a(t).cpu()

        return tiled(step, x, tile, ANALYSIS_MARGIN, 1 / 16, on_tile)

    @torch.no_grad()
    def quantise(self, y: torch.Tensor, quality: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Latent -> (z symbols, z table indexes, y symbols, y table indexes) at a quality."""
        g_enc, _ = self.gains(quality)
        yg = y * g_enc
        z = self.transforms.h_a(to_device(yg, self.device)).cpu().double()
        medians = torch.from_numpy(self.z_medians).double().view(1, -1, 1, 1) * 2.0**-A_BITS
        z_sym = torch.round(z - medians).clamp(-Z_LIMIT, Z_LIMIT).to(torch.int32)
        y_sym, y_idx = self.code_latent(yg, z_sym)
        return z_sym.numpy(), self.z_indexes(z_sym.shape), y_sym, y_idx

    def code_latent(self, yg: torch.Tensor, z_sym: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The gained latent ``yg`` given the hyper-latent's symbols -> (y symbols, y table indexes)."""
        y_sym = np.empty(yg.shape, dtype=np.int32)
        y_idx = np.empty(yg.shape, dtype=np.int32)

        def rounded(first: int, end: int, means: torch.Tensor, idx: np.ndarray) -> np.ndarray:
            y_sym[:, first:end] = torch.round(yg[:, first:end].double() - means).to(torch.int32).numpy()
            y_idx[:, first:end] = idx
            return y_sym[:, first:end]

        self.latent(z_sym, rounded)
        return y_sym, y_idx

    # --- shared by both sides: must be bit-exact -----------------------------------------
    def z_indexes(self, shape) -> np.ndarray:
        return np.broadcast_to(np.arange(shape[1], dtype=np.int32).reshape(1, -1, 1, 1), shape).copy()

    def latent(self, z_sym: torch.Tensor, symbols_for) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The quantised gained latent y_hat (float32), slice by slice: ``symbols_for(first, end,
        means, table_indexes)`` gives the symbols of channels first..end (the encoder rounds, the
        decoder reads its streams), whose means and tables depend on the slices before. Encoder
        and decoder run this same code, so they agree on every parameter. Also the means y_hat
        was coded against, which latent residual prediction needs (None for a model without it)."""
        y_hat, hyper_scales = self.hyper_parameters(z_sym)  # y_hat's buffer starts as the hyperprior's means
        coded_means = y_hat.clone() if self.transforms.refine is not None else None
        for i, (first, end) in enumerate(self.config.slice_bounds()):
            means, scales = self.slice_parameters(i, y_hat[:, :first], y_hat[:, first:end], hyper_scales[:, first:end])
            symbols = symbols_for(first, end, means, self.table_indexes(scales))
            if coded_means is not None:
                coded_means[:, first:end] = means
            # In place (no latent-sized temporary); exact: both are on the 2^-A_BITS grid.
            torch.add(means, torch.from_numpy(symbols), out=y_hat[:, first:end])
        return y_hat, coded_means

    def hyper_parameters(self, z_sym: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z symbols -> the hyperprior's (means, scales), float32; exact integer arithmetic only.

        h_s runs on tiles of the hyper-latent with a margin beyond its reach, so its float64
        work buffers stay bounded on any image; being exact, tiles give the untiled result.
        Means and scales are multiples of 2^-A_BITS below 2^12, so float32 holds them exactly.
        """
        _, _, hz, wz = z_sym.shape
        M, s = self.config.M, HS_SCALE
        means = torch.empty((1, M, hz * s, wz * s), dtype=torch.float32)
        scales = torch.empty((1, M, hz * s, wz * s), dtype=torch.float32)
        medians = torch.from_numpy(self.z_medians).double().view(1, -1, 1, 1)
        for top in range(0, hz, HS_TILE):
            for left in range(0, wz, HS_TILE):
                t0, l0 = max(0, top - HS_MARGIN), max(0, left - HS_MARGIN)
                t1, l1 = min(hz, top + HS_TILE + HS_MARGIN), min(wz, left + HS_TILE + HS_MARGIN)
                z = z_sym[:, :, t0:t1, l0:l1].double().clamp(-Z_LIMIT, Z_LIMIT) * 2.0**A_BITS + medians
                m, sc = self.h_s(z)
                h, w = min(HS_TILE, hz - top) * s, min(HS_TILE, wz - left) * s
                core = (slice(None), slice(None), slice((top - t0) * s, (top - t0) * s + h),
                        slice((left - l0) * s, (left - l0) * s + w))
                out = (slice(None), slice(None), slice(top * s, top * s + h), slice(left * s, left * s + w))
                means[out], scales[out] = m[core], sc[core]
        return means, scales

    def slice_parameters(self, index: int, decoded: torch.Tensor, means: torch.Tensor,
                         scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Slice ``index``'s (means, scales), float32 on the 2^-A_BITS grid: the hyperprior's
        ``means`` and ``scales`` of its channels, refined by its integer context network from the
        ``decoded`` slices before it. Tiles of CONTEXT_ROWS latent rows with one row of margin
        (the network's reach) bound the float64 buffers and, being exact, change nothing."""
        if not self.context:
            return means, scales
        net, rows = self.context[index], means.shape[2]
        out_means, out_scales = torch.empty_like(means), torch.empty_like(scales)
        for top in range(0, rows, CONTEXT_ROWS):
            t0, t1 = max(0, top - 1), min(rows, top + CONTEXT_ROWS + 1)
            fixed = torch.cat([decoded[:, :, t0:t1], means[:, :, t0:t1], scales[:, :, t0:t1]], dim=1)
            d_means, d_scales = net(fixed.double() * 2.0**A_BITS)
            core = slice(top - t0, top - t0 + min(CONTEXT_ROWS, rows - top))
            out_means[:, :, top : top + CONTEXT_ROWS] = means[:, :, top : top + CONTEXT_ROWS] + d_means[:, :, core]
            out_scales[:, :, top : top + CONTEXT_ROWS] = scales[:, :, top : top + CONTEXT_ROWS] + d_scales[:, :, core]
        return out_means, out_scales

    def table_indexes(self, scales: torch.Tensor) -> np.ndarray:
        """The CDF table of every latent symbol: the first table whose scale is at least its scale."""
        return np.searchsorted(self.scale_table[:-1], scales.numpy(), side="left").astype(np.int32)

    def gains(self, quality: float) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.tensor([self.config.position(quality)], dtype=torch.float32)
        return self.transforms.gains(pos.to(self.transforms.log_gain_enc.device))

    # --- decoder side ---------------------------------------------------------------------
    @torch.no_grad()
    def synthesise(self, y_hat: torch.Tensor, means: torch.Tensor | None, quality: float, tile: int,
                   on_tile=None) -> torch.Tensor:
        """``latent``'s quantised gained latent and means (both consumed) -> uint8 [H, W, 3] image
        (still padded to the stride); ``on_tile()`` after each tile. Each tile is ungained on its
        own (tiles overlap, so never in place); with latent residual prediction it first refines
        its latent from the means (a one-cell reach, within the tile margin)."""
        _, g_dec = self.gains(quality)
        g_dec = g_dec.to(self.device)
        refine = means is not None
        if refine:  # one tensor, so the tiles cut the latent and its means alike
            y_hat = torch.cat([y_hat, means], dim=1)
            del means
        M = self.config.M

        def step(t: torch.Tensor) -> torch.Tensor:  # each tile goes to uint8 at once: bounded memory
            t = to_device(t, self.device)
            t = self.transforms.refined(t[:, :M], t[:, M:]) if refine else t
            t = torch.mul(t, g_dec).contiguous(memory_format=torch.channels_last)
            x = self.synthesis(t).clamp_(0, 1).mul_(255).round_()
            return x.to(torch.uint8).cpu()

        x = tiled(step, y_hat, tile // 16 if tile else 0, SYNTHESIS_MARGIN // 16, 16, on_tile)
        return x[0].permute(1, 2, 0)
