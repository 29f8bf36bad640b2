"""The training loop: one engine for every recipe, on one CPU, one GPU or DDP under torchrun.

Built on Lightning Fabric. ``Trainer(cfg).fit()`` (or ``earshot train RECIPE``) seeds, builds the
recipe's models, optimisers (AdamW) and LR schedules, then loops over optimiser steps with
gradient accumulation and clipping, mixed precision on GPUs, optional EMA weights and, for
recipes that build a ``"discriminator"``, GAN alternation (``train.disc_steps`` discriminator
steps per generator step after ``train.adversary_start`` warm-up steps). It validates every
``train.val_every`` steps, logs (TensorBoard, CSV, audio examples, progress bar) and writes
atomic, checksummed checkpoints every ``train.ckpt_every`` steps, at the end (``train.steps`` or
the ``train.max_minutes`` budget), and on SIGINT/SIGTERM (DataLoader workers ignore both, so a
signalled process group still checkpoints). What a checkpoint holds is a
:class:`~earshot.train.state.TrainState`; a resumed run continues exactly from it. Every backward
pass goes through Fabric; ``train.compile`` compiles the trained models.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from earshot.errors import ConfigError
from earshot.train import checkpoint as ckpt
from earshot.train.config import RunConfig, apply_overrides, from_dict, save_config
from earshot.train.data import BatchStream, auto_workers, mix_seed
from earshot.train.evaluate import Validator
from earshot.train.logging import RunLogger
from earshot.train.optim import EMA, default_optimizers, make_scheduler
from earshot.train.recipe import Recipe, StepContext, get_recipe
from earshot.train.state import TrainState
from earshot.train.steps import StepRunner

log = logging.getLogger("earshot.train")


@dataclass
class FitResult:
    """What a call to :meth:`Trainer.fit` did."""

    run_dir: Path
    step: int
    interrupted: bool = False
    signal: int | None = None
    checkpoint: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    models: dict[str, nn.Module] = field(default_factory=dict, repr=False)  # this process's, unwrapped
    ema: nn.Module | None = field(default=None, repr=False)
    timed_out: bool = False  # train.max_minutes ended it before train.steps


def default_run_dir(recipe_name: str, root: str | Path = "runs") -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{recipe_name}-{stamp}"


def load_run_config(run_dir: str | Path, overrides: dict[str, str] | None = None) -> RunConfig:
    """The resolved config a run saved in ``RUN/config.yaml`` (plus optional overrides)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory: {path} is missing")
    data = yaml.safe_load(path.read_text()) or {}
    recipe_cls = get_recipe(str(data.get("recipe_name", "")))
    return apply_overrides(from_dict(data, recipe_cls.config_class), overrides or {})


def make_fabric(train) -> Any:
    """A Fabric for this process: torchrun's world when launched by it, else ``train.devices``."""
    from lightning_fabric import Fabric
    from lightning_fabric.strategies import DDPStrategy

    if "LOCAL_WORLD_SIZE" in os.environ and "WORLD_SIZE" in os.environ:
        devices = int(os.environ["LOCAL_WORLD_SIZE"])
        num_nodes = max(1, int(os.environ["WORLD_SIZE"]) // devices)
    else:
        devices, num_nodes = train.devices, 1
    accelerator = "cuda" if train.accelerator == "gpu" else train.accelerator
    gpu = accelerator in ("cuda", "auto") and torch.cuda.is_available()
    precision = train.precision
    if precision == "auto":
        precision = "bf16-mixed" if gpu and torch.cuda.is_bf16_supported() else ("16-mixed" if gpu else "32-true")
    if precision == "16-mixed" and not gpu:
        raise ConfigError("train.precision=16-mixed needs a GPU; use 32-true or bf16-mixed on CPU")
    strategy: Any = "auto"
    if devices * num_nodes > 1:
        strategy = DDPStrategy(find_unused_parameters=train.find_unused_parameters)
    return Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy, precision=precision)


class Trainer:
    """Runs one recipe's training. ``run_dir=None`` makes ``runs/<recipe>-<time>``.

    With ``resume=True`` the run continues from the newest loadable checkpoint of ``run_dir``.
    """

    def __init__(self, cfg: RunConfig, run_dir: str | Path | None = None, *, resume: bool = False):
        self.cfg, self.train = cfg, cfg.train
        self.recipe_cls = get_recipe(cfg.recipe_name)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume = resume
        self._stop: int | None = None

    # ---------------------------------------------------------------- setup
    def _setup_run_dir(self, fabric) -> tuple[Path, dict | None]:
        run_dir = self.run_dir or default_run_dir(self.cfg.recipe_name)
        run_dir = Path(fabric.broadcast(str(run_dir), src=0))
        state = None
        if self.resume:
            found = ckpt.latest_checkpoint(run_dir)
            if found is None:
                raise ConfigError(f"{run_dir}: no loadable checkpoint to resume from")
            path, state = found
            log.info("resuming %s from %s (step %d)", run_dir, path.name, state["step"])
        elif ckpt.list_checkpoints(run_dir):
            raise ConfigError(f"{run_dir} already holds checkpoints; resume it with --resume {run_dir}")
        if fabric.is_global_zero:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.cfg, run_dir / "config.yaml")
        fabric.barrier()
        return run_dir, state

    def _build(self, fabric, recipe: Recipe) -> TrainState:
        torch.manual_seed(self.train.seed)
        raw = recipe.build_models()
        if not isinstance(raw, dict) or not raw or not all(isinstance(m, nn.Module) for m in raw.values()):
            raise ConfigError(f"recipe {recipe.name}: build_models() must return a dict of nn.Module")
        main = "generator" if "generator" in raw else "model"
        if main not in raw:
            raise ConfigError(f"recipe {recipe.name}: build_models() needs a 'model' or 'generator' entry, got {list(raw)}")
        ema = EMA(raw[main], self.train.ema_decay) if self.train.ema_decay > 0 else None
        if ema is not None:
            ema.module.to(fabric.device)
        wrapped = {key: self._wrap(fabric, recipe, key, module, compile=key == main) for key, module in raw.items()}
        optimizers = recipe.configure_optimizers(raw) or default_optimizers(raw, self.train)
        schedulers = {k: make_scheduler(o, self.train) for k, o in optimizers.items()}
        fabric_opts = {k: fabric.setup_optimizers(o) for k, o in optimizers.items()}
        meta = {"recipe_name": self.cfg.recipe_name, "config": self.cfg.to_dict()}
        return TrainState(fabric, raw, wrapped, main, optimizers, fabric_opts, schedulers, ema, meta=meta)

    def _wrap(self, fabric, recipe: Recipe, key: str, module: nn.Module, *, compile: bool) -> nn.Module:
        """Fabric's wrapper (DDP, precision) around a trained module; the main one compiled if
        ``train.compile`` (discriminators stay eager: gradient penalties need double backward,
        which compiled graphs do not support)."""
        if not any(p.requires_grad for p in module.parameters()):
            return fabric.to_device(module)  # frozen: nothing for DDP to synchronise
        if compile and self.train.compile:
            module = torch.compile(module)  # Fabric unwraps it, sets up the plain module, compiles that
        wrapped = fabric.setup_module(module)
        for method in getattr(recipe, "forward_methods", {}).get(key, ()):
            wrapped.mark_forward_method(method)
        return wrapped

    def _install_signals(self) -> dict:
        def handler(signum, frame):
            if self._stop is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._stop = signum
            log.warning("received %s: saving a checkpoint and stopping", signal.Signals(signum).name)

        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, handler)
            except ValueError:  # not in the main thread
                pass
        return old

    # ---------------------------------------------------------------- fit
    def fit(self, *, stop_after: int | None = None) -> FitResult:
        """Train to ``train.steps`` (or stop, with a checkpoint, after step ``stop_after``)."""
        fabric = make_fabric(self.train)
        fabric.launch()
        workers = auto_workers(self.train.num_workers, fabric.device.type, int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
        self.train = dataclasses.replace(self.train, num_workers=workers)
        run_dir, saved = self._setup_run_dir(fabric)
        recipe = self.recipe_cls(self.cfg.recipe, self.train, run_dir)
        state = self._build(fabric, recipe)
        train_set, valid_set = recipe.datasets()
        collate = recipe.collate if callable(getattr(recipe, "collate", None)) else None
        state.stream = BatchStream(
            train_set, batch_size=self.train.batch_size, seed=self.train.seed, rank=fabric.global_rank,
            world_size=fabric.world_size, num_workers=workers, collate=collate,
            pin_memory=fabric.device.type == "cuda",
        )
        state.runner = StepRunner(fabric, recipe, self.train, state.wrapped, state.main, state.fabric_optimizers,
                                  state.schedulers, state.ema, state.stream)
        if saved is None:
            torch.manual_seed(mix_seed(self.train.seed, fabric.global_rank, 1))
        else:
            state.load_state_dict(saved)
        logger = RunLogger(run_dir, enabled=fabric.is_global_zero, tensorboard=self.train.tensorboard,
                           resume_step=state.step if saved is not None else None)
        validator = Validator(fabric, recipe, self.train, valid_set, collate, logger)
        old_handlers = self._install_signals()
        result = FitResult(run_dir, state.step, metrics=state.metrics)
        try:
            result = self._loop(state, validator, logger, run_dir, stop_after)
            result.models, result.ema = state.models, state.ema.module if state.ema is not None else None
        finally:
            for sig, h in old_handlers.items():
                signal.signal(sig, h)
            logger.close()
            state.stream.close()
        return result

    def _loop(self, state: TrainState, validator, logger, run_dir: Path, stop_after: int | None) -> FitResult:
        t, fabric, runner = self.train, state.fabric, state.runner
        from tqdm import tqdm

        bar = tqdm(total=t.steps, initial=state.step, unit="step", file=sys.stderr, dynamic_ncols=True,
                   disable=not (t.progress and fabric.is_global_zero), desc=self.cfg.recipe_name)
        saved_at, path = None, None
        deadline = time.monotonic() + 60.0 * t.max_minutes if t.max_minutes > 0 else None
        try:
            out_of_time = False
            while state.step < t.steps:
                runner.run_step(state.step)
                state.step += 1
                step = state.step
                bar.update(1)
                stop, out_of_time = self._agree_stop(fabric, deadline)
                end = step == t.steps or out_of_time  # the normal end: validate and checkpoint
                if step % t.log_every == 0 or end:
                    values = runner.flush_logs(step)
                    logger.scalars(step, "train", values)
                    bar.set_postfix({k: f"{v:.4g}" for k, v in values.items() if k != "lr"}, refresh=False)
                last = end or (stop_after is not None and step >= stop_after)
                if (t.val_every and step % t.val_every == 0) or end:
                    state.metrics = validator.run(step, state.eval_models()) or state.metrics
                elif t.examples_every and step % t.examples_every == 0:
                    validator.examples(step, state.eval_models())
                if last or stop or (t.ckpt_every and step % t.ckpt_every == 0):
                    path = self._save(state, run_dir)
                    saved_at = step
                if last or stop:
                    break
        finally:
            bar.close()
        step = state.step
        interrupted = self._stop is not None
        timed_out = out_of_time and not interrupted and step < t.steps
        if interrupted:
            log.warning("stopped at step %d; checkpoint %s; continue with: earshot train --resume %s",
                        step, path, run_dir)
        elif timed_out:
            log.warning("train.max_minutes=%g reached at step %d of %d: stopped before the LR schedule's end",
                        t.max_minutes, step, t.steps)
        return FitResult(run_dir, step, interrupted, self._stop, path if saved_at == step else None, state.metrics,
                         timed_out=timed_out)

    def _agree_stop(self, fabric, deadline: float | None) -> tuple[bool, bool]:
        """(a signal asks to stop, the time budget is spent), agreed by every process."""
        late = deadline is not None and time.monotonic() >= deadline
        if fabric.world_size == 1:
            return self._stop is not None, late
        flags = torch.tensor([0 if self._stop is None else int(self._stop), int(late)], device=fabric.device)
        flags = fabric.all_reduce(flags, reduce_op="sum").tolist()
        if flags[0] and self._stop is None:
            self._stop = int(signal.SIGTERM)
        return bool(flags[0]), bool(flags[1])

    # ---------------------------------------------------------------- state
    def _save(self, state: TrainState, run_dir: Path) -> Path:
        """Write the checkpoint of ``state`` (every process takes part; the first one writes)."""
        fabric = state.fabric
        saved = state.state_dict()
        path = ckpt.checkpoint_path(run_dir, state.step)
        if fabric.is_global_zero:
            ckpt.save_checkpoint(saved, path, keep_last=self.train.keep_last)
        fabric.barrier()
        return path


def train(cfg: RunConfig, run_dir: str | Path | None = None, *, resume: bool = False,
          stop_after: int | None = None) -> FitResult:
    """Train ``cfg`` (see :class:`Trainer`); a convenience for scripts and tests."""
    return Trainer(cfg, run_dir, resume=resume).fit(stop_after=stop_after)


__all__ = ["FitResult", "Trainer", "train", "load_run_config", "make_fabric", "StepContext"]
