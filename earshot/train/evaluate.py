"""Validation for the engine: metrics averaged over the validation set and all processes."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from earshot.train.data import validation_loader
from earshot.train.recipe import Recipe, StepContext

log = logging.getLogger("earshot.train")


def _slice(batch: Any, n: int) -> Any:
    if torch.is_tensor(batch):
        return batch[:n]
    if isinstance(batch, dict):
        return {k: _slice(v, n) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_slice(v, n) for v in batch)
    return batch


class Validator:
    """Runs ``recipe.validation_step`` (or the weighted training terms) over the validation set.

    Values may be floats, scalar tensors (one value per batch) or ``(batch,)`` tensors (one per
    item, e.g. from ``earshot.metrics``); each name is averaged over all values it produced.
    """

    def __init__(self, fabric, recipe: Recipe, train, dataset, collate, logger):
        self.fabric, self.recipe, self.train, self.logger = fabric, recipe, train, logger
        self.loader = None
        if dataset is not None and len(dataset) > 0:
            self.loader = validation_loader(
                dataset, batch_size=train.batch_size, rank=fabric.global_rank, world_size=fabric.world_size,
                num_workers=train.num_workers, collate=collate, seed=train.seed,
            )
        self.custom = type(recipe).validation_step is not Recipe.validation_step

    def _step(self, models: dict[str, nn.Module], batch: Any, step: int) -> dict[str, Any]:
        if self.custom:
            return self.recipe.validation_step(models, batch)
        gan = "discriminator" in models
        ctx = StepContext(step=step, total_steps=self.train.steps, device=self.fabric.device,
                          adversary_active=gan and step >= self.train.adversary_start,
                          rank=self.fabric.global_rank, world_size=self.fabric.world_size,
                          training=False, sample_rate=self.recipe.sample_rate)
        terms = self.recipe.training_step(models, batch, ctx)
        weights = self.train.loss_weights
        total = sum(weights.get(k, 1.0) * v.float() for k, v in terms.items())
        return {**terms, "loss": total}

    def run(self, step: int, models: dict[str, nn.Module]) -> dict[str, float]:
        """Validate at ``step``; log ``valid/<name>``; write examples; return the means."""
        if self.loader is None:
            return {}
        modes = {k: m.training for k, m in models.items()}
        for m in models.values():
            m.eval()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        first = None
        try:
            with torch.no_grad():
                for i, batch in enumerate(self.loader):
                    if self.train.val_batches and i >= self.train.val_batches:
                        break
                    batch = self.fabric.to_device(batch)
                    first = batch if first is None else first
                    for name, value in self._step(models, batch, step).items():
                        v = value.detach().double().reshape(-1) if torch.is_tensor(value) else torch.tensor([float(value)])
                        sums[name] = sums.get(name, 0.0) + float(v.sum())
                        counts[name] = counts.get(name, 0) + v.numel()
            metrics = self._gather(sums, counts)
            self.logger.scalars(step, "valid", metrics)
            if self.fabric.is_global_zero:
                log.info("step %d valid: %s", step, "  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
                if first is not None:
                    self._write_examples(step, models, first)
        finally:
            for k, m in models.items():
                m.train(modes[k])
        return metrics

    def examples(self, step: int, models: dict[str, nn.Module]) -> None:
        """Write audio examples from the first validation batch (global-zero process only)."""
        if self.loader is None or not self.fabric.is_global_zero:
            return
        modes = {k: m.training for k, m in models.items()}
        try:
            for m in models.values():
                m.eval()
            with torch.no_grad():
                self._write_examples(step, models, self.fabric.to_device(next(iter(self.loader))))
        finally:
            for k, m in models.items():
                m.train(modes[k])

    def _write_examples(self, step: int, models, batch) -> None:
        if self.train.num_examples <= 0:
            return
        clips = self.recipe.examples(models, _slice(batch, self.train.num_examples))
        if not clips:
            return
        sr = self.recipe.sample_rate
        if sr is None:
            log.warning("recipe %s has no sample_rate; audio examples are not logged", self.recipe.name)
            return
        self.logger.audio(step, clips, sr)

    def _gather(self, sums: dict[str, float], counts: dict[str, int]) -> dict[str, float]:
        if self.fabric.world_size > 1:
            parts: list = [None] * self.fabric.world_size
            torch.distributed.all_gather_object(parts, (sums, counts))
            sums, counts = {}, {}
            for s, c in parts:
                for k in s:
                    sums[k] = sums.get(k, 0.0) + s[k]
                    counts[k] = counts.get(k, 0) + c[k]
        return {k: sums[k] / counts[k] for k in sorted(sums) if counts[k]}
