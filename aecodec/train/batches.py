"""Training batches as a pure function of (seed, rank, step), made in DataLoader worker processes.

Each step's batch is drawn by the task's ``make(generator)`` from a fresh generator seeded by
(seed, rank, step) alone. So the stream is the same for any number of workers (the DataLoader
hands an IterableDataset's worker outputs back round-robin, in order), and a run resumed at
step k sees exactly the batches an uninterrupted one would, with no data RNG to checkpoint.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

Batch = tuple[torch.Tensor, ...]


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The generator of one rank's batch at one step."""
    state = np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


class StepBatches(IterableDataset):
    """The batches of steps ``first`` to ``last - 1``; worker w of W makes steps first + w, first + w + W, ..."""

    def __init__(self, make: Callable[[torch.Generator], Batch], seed: int, rank: int, first: int, last: int):
        super().__init__()
        self.make, self.seed, self.rank, self.first, self.last = make, seed, rank, first, last

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for step in range(self.first + worker, self.last, workers):
            yield self.make(step_generator(self.seed, self.rank, step))


def step_batches(make: Callable[[torch.Generator], Batch], cfg, rank: int, device: torch.device,
                 first: int) -> Iterator[Batch]:
    """The batches of steps ``first`` to ``cfg.steps - 1`` on ``device``, made by ``cfg.workers``
    processes (-1: none on CPU, where they would compete with training for the cores; 4 on CUDA)."""
    cuda = device.type == "cuda"
    workers = cfg.workers if cfg.workers >= 0 else (4 if cuda else 0)
    # fork shares the decoded training data with the workers instead of pickling it to each.
    context = "fork" if workers and "fork" in multiprocessing.get_all_start_methods() else None
    loader = DataLoader(StepBatches(make, cfg.seed, rank, first, cfg.steps), batch_size=None, num_workers=workers,
                        pin_memory=cuda, prefetch_factor=4 if workers else None, multiprocessing_context=context,
                        # The iterator draws its workers' base seed from this generator: from the
                        # global one it would shift the entropy models' noise and break exact resuming.
                        generator=torch.Generator())
    for batch in loader:
        yield tuple(t.to(device, non_blocking=True) for t in batch)
