"""Data loading for the engine: a resumable distributed sampler and seeded workers.

The sampler's order is a pure function of ``(seed, epoch)``; each process takes every
``world_size``-th index of it, and loading can start at any batch of an epoch, which is
how a resumed run continues from the exact data position.
"""

from __future__ import annotations

import os
import random
import signal
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from earshot.errors import DataError


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across runs and platforms)."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


def auto_workers(requested: int, device_type: str, local_processes: int = 1) -> int:
    """DataLoader workers per process: ``requested`` if >= 0; for -1 (auto), 0 on CPU (the
    model needs the cores) and, on a GPU, the cores per process less one for the main
    process, at most 8."""
    if requested >= 0:
        return requested
    if device_type != "cuda":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cores // max(1, local_processes) - 1))


class ResumableSampler(Sampler[int]):
    """Per-rank indices of a seeded (optionally shuffled) epoch order, starting at any position.

    Every epoch has ``num_samples`` indices per rank: the order is padded by wrapping so that
    all ranks get the same count. ``set_epoch(epoch, start)`` skips the first ``start`` indices.
    """

    def __init__(self, size: int, *, seed: int, rank: int = 0, world_size: int = 1, shuffle: bool = True):
        if size < 1:
            raise DataError("the dataset is empty")
        self.size, self.seed, self.rank, self.world_size, self.shuffle = size, seed, rank, world_size, shuffle
        self.num_samples = -(-size // world_size)
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        total = self.num_samples * self.world_size
        order = (order * (-(-total // self.size)))[:total]
        return order[self.rank : total : self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _WorkerInit:
    """Seeds torch, numpy and random in a worker from (base seed, worker id) (picklable).

    Workers ignore SIGINT and SIGTERM: a scheduler that preempts a job signals its whole
    process group, and the main process, which handles the signal by saving a checkpoint,
    still needs its workers until it shuts them down (they also exit if the main process dies).
    """

    def __init__(self, base: int):
        self.base = base

    def __call__(self, worker_id: int) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        seed = mix_seed(self.base, worker_id)
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)


class BatchStream:
    """Endless batches over epochs from a map-style dataset, with a resumable position.

    ``position`` is ``(epoch, batches taken in that epoch)``; a stream built with the same
    arguments and ``position`` yields the same batches as the original from that point on.
    Incomplete final batches of an epoch are dropped. Workers are seeded from
    ``(seed, rank, epoch, worker)``; datasets with ``set_epoch(epoch)`` are told the epoch.
    """

    def __init__(
        self, dataset: Dataset, *, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
        num_workers: int = 0, collate: Callable | None = None, pin_memory: bool = False,
        position: tuple[int, int] = (0, 0),
    ):
        self.dataset, self.batch_size, self.seed, self.rank = dataset, batch_size, seed, rank
        self.num_workers, self.collate, self.pin_memory = num_workers, collate or default_collate, pin_memory
        self.sampler = ResumableSampler(len(dataset), seed=seed, rank=rank, world_size=world_size)
        self.batches_per_epoch = self.sampler.num_samples // batch_size
        if self.batches_per_epoch < 1:
            raise DataError(
                f"the training set has {len(dataset)} items, fewer than one batch of {batch_size} "
                f"per process ({world_size} processes)"
            )
        self.epoch, self.taken = position
        self._it: Iterator | None = None

    @property
    def position(self) -> tuple[int, int]:
        return (self.epoch, self.taken)

    @position.setter
    def position(self, value: tuple[int, int]) -> None:
        """Move to ``(epoch, batches taken)``; loading restarts there at the next batch."""
        self.epoch, self.taken = value
        self._it = None

    def _start(self) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch, self.taken * self.batch_size)
        loader = DataLoader(
            self.dataset, batch_size=self.batch_size, sampler=self.sampler, drop_last=True,
            num_workers=self.num_workers, collate_fn=self.collate, pin_memory=self.pin_memory,
            worker_init_fn=_WorkerInit(mix_seed(self.seed, self.rank, self.epoch)) if self.num_workers else None,
            generator=torch.Generator().manual_seed(mix_seed(self.seed, self.rank, self.epoch, 1)),
        )
        # workers are started with the stop signals blocked (they inherit the mask, then ignore
        # them): no window in which a signal to the process group kills a worker being born
        blocked = self.num_workers > 0 and hasattr(signal, "pthread_sigmask")
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            self._it = iter(loader)
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def __next__(self) -> Any:
        if self.taken >= self.batches_per_epoch:
            self.epoch, self.taken, self._it = self.epoch + 1, 0, None
        if self._it is None:
            self._start()
        batch = next(self._it)
        self.taken += 1
        return batch

    def __iter__(self) -> "BatchStream":
        return self

    def close(self) -> None:
        self._it = None


def validation_loader(
    dataset: Dataset, *, batch_size: int, rank: int, world_size: int, num_workers: int = 0,
    collate: Callable | None = None, seed: int = 0,
) -> DataLoader:
    """Unshuffled loader over this rank's share of the validation set (keeps the last batch)."""
    # no padding (duplicates would bias the mean): each rank gets only its own real items
    sampler = list(range(rank, len(dataset), world_size))
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
        collate_fn=collate or default_collate,
        worker_init_fn=_WorkerInit(mix_seed(seed, rank, 7)) if num_workers else None,
        generator=torch.Generator().manual_seed(mix_seed(seed, rank, 7)),
    )
