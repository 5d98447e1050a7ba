"""Single process or torchrun (DDP) with one code path: PyTorch's own distributed engine.

Under torchrun (WORLD_SIZE > 1) each rank joins the process group (NCCL on CUDA, gloo on CPU),
takes its own GPU (LOCAL_RANK), and the model is wrapped in DistributedDataParallel, which
averages gradients across ranks. Alone, every method is a cheap no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Distributed:
    rank: int
    world: int
    device: torch.device

    @classmethod
    def start(cls, device: torch.device) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(0, 1, device)
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module, find_unused_parameters: bool = False) -> nn.Module:
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused_parameters)

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def stop(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
