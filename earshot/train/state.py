"""``TrainState``: everything a checkpoint holds, in one object with ``state_dict()``/``load_state_dict()``.

The engine builds one per run and saves ``state.state_dict()`` as the checkpoint; a resumed run
builds the same objects and calls ``state.load_state_dict(checkpoint)``. What it owns:

- ``models`` (the plain, unwrapped modules: checkpoint keys never carry a Fabric, DDP or
  ``torch.compile`` prefix), ``wrapped`` (what Fabric and ``torch.compile`` made of them),
  ``ema`` (the main model's moving average, or None);
- ``optimizers`` (plain) and ``fabric_optimizers``, ``schedulers`` (their LR schedules);
- ``runner``, the :class:`~earshot.train.steps.StepRunner` (the GradientBalancer's running
  gradient norms and weights), and ``stream``, the :class:`~earshot.train.data.BatchStream`
  (the data position);
- the precision plugin's state (the GradScaler of ``16-mixed``), every process's RNG states
  (torch, CUDA, numpy, Python ``random``), the step and the last validation metrics.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from earshot.train import checkpoint as ckpt

log = logging.getLogger("earshot.train")

FORMAT = "earshot-checkpoint/2"


@dataclass
class TrainState:
    """The training state of one process (see the module docstring).

    ``meta`` holds plain data saved as is (the recipe's name and the resolved config).
    """

    fabric: Any
    models: dict[str, nn.Module]
    wrapped: dict[str, nn.Module]
    main: str
    optimizers: dict[str, torch.optim.Optimizer]
    fabric_optimizers: dict[str, Any]
    schedulers: dict[str, Any]
    ema: Any = None
    runner: Any = None
    stream: Any = None
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def state_dict(self) -> dict:
        """The checkpoint, on every process (a collective call: it gathers every process's RNG states)."""
        epoch, taken = self.stream.position if self.stream is not None else (0, 0)
        return {
            "format": FORMAT, **self.meta, "step": self.step,
            "models": {k: m.state_dict() for k, m in self.models.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "runner": self.runner.state_dict() if self.runner is not None else {},
            "precision": self.fabric.strategy.precision.state_dict(),
            "data": {"epoch": epoch, "taken": taken}, "rng": self._gather_rng(),
            "world_size": self.fabric.world_size,
            "metrics": {k: float(v) for k, v in self.metrics.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved (RNG states last, so nothing after draws from them)."""
        for key, module in self.models.items():
            module.load_state_dict(state["models"][key])
        self._load_ema(state.get("ema"))
        for key, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        self._load_schedulers(state["schedulers"])
        if self.runner is not None:
            self.runner.load_state_dict(state.get("runner") or {})
        if state.get("precision"):
            self.fabric.strategy.precision.load_state_dict(state["precision"])
        rngs, world = state["rng"], self.fabric.world_size
        if len(rngs) != world:
            log.warning("checkpoint from %d processes resumed on %d: data order and RNG streams change",
                        len(rngs), world)
        data = state["data"]
        if self.stream is not None:
            same = len(rngs) == world
            self.stream.position = (data["epoch"], data["taken"]) if same else (data["epoch"] + 1, 0)
        self.step = int(state["step"])
        self.metrics = dict(state.get("metrics", {}))
        ckpt.set_rng_state(rngs[self.fabric.global_rank % len(rngs)])

    def eval_models(self) -> dict[str, nn.Module]:
        """The plain models for validation, with the EMA weights as the main model if enabled."""
        out = dict(self.models)
        if self.ema is not None:
            out[self.main] = self.ema.module
        return out

    def _gather_rng(self) -> list:
        rng = ckpt.rng_state()
        if self.fabric.world_size == 1:
            return [rng]
        rngs: list = [None] * self.fabric.world_size
        torch.distributed.all_gather_object(rngs, rng)
        return rngs

    def _load_ema(self, saved: dict | None) -> None:
        if self.ema is None:
            return
        if saved is None:
            log.warning("the checkpoint has no EMA weights; starting the EMA from the model")
            self.ema.module.load_state_dict(self.models[self.main].state_dict())
        else:
            self.ema.load_state_dict(saved)

    def _load_schedulers(self, saved: dict) -> None:
        # The LR schedule follows the (possibly changed) config: loading writes the saved lambdas'
        # attributes into ours and restores the saved base LRs, so keep copies of the planned ones.
        for key, sched in self.schedulers.items():
            planned = [copy.copy(f) for f in sched.lr_lambdas], list(sched.base_lrs)
            sched.load_state_dict(saved[key])
            sched.lr_lambdas, sched.base_lrs = planned
            for group, base, factor in zip(sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
                group["lr"] = base * factor(sched.last_epoch)
