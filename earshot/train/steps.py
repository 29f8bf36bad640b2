"""One optimiser step of the engine: GAN alternation, accumulation, weighting, clipping, EMA."""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from typing import Any, Iterator

import torch
from torch import nn

from earshot.errors import ConfigError, NonFiniteError
from earshot.train.recipe import StepContext


class StepRunner:
    """Runs generator (and discriminator) updates for the engine and keeps training logs.

    ``models`` are Fabric-wrapped, ``optimizers`` Fabric-wrapped with keys matching ``models``;
    ``main`` is ``"model"`` or ``"generator"``. Every optimiser but the discriminator's steps in
    the generator phase. All schedulers advance once per generator step.
    """

    def __init__(self, fabric, recipe, train, models: dict[str, nn.Module], main: str,
                 optimizers: dict, schedulers: dict, ema, stream):
        self.fabric, self.recipe, self.train = fabric, recipe, train
        self.models, self.main, self.optimizers, self.schedulers = models, main, optimizers, schedulers
        self.ema, self.stream = ema, stream
        self.gan = "discriminator" in models
        unknown = set(optimizers) - set(models)
        if unknown:
            raise ConfigError(f"recipe {recipe.name}: optimisers {sorted(unknown)} match no model in {list(models)}")
        if self.gan and "discriminator" not in optimizers:
            raise ConfigError(f"recipe {recipe.name}: the discriminator has no optimiser")
        self.weights = dict(train.loss_weights)
        self.balancer = _make_balancer() if train.balancer else None
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}
        self._seen: set[str] = set()
        self._checked = False
        self._guarded: set[str] = set()
        self._data_time = 0.0

    def context(self, step: int, *, adversary: bool, micro: int = 0, training: bool = True) -> StepContext:
        return StepContext(
            step=step, total_steps=self.train.steps, device=self.fabric.device, adversary_active=adversary,
            rank=self.fabric.global_rank, world_size=self.fabric.world_size, micro_batch=micro,
            training=training, sample_rate=self.recipe.sample_rate,
        )

    def adversary_active(self, step: int) -> bool:
        return self.gan and step >= self.train.adversary_start

    def run_step(self, step: int) -> None:
        """Discriminator steps (GAN, after warm-up), then one generator step, then EMA.

        With ``train.profile`` it logs ``time/step`` (seconds, the device synchronised at the
        end) and ``time/data`` (seconds of it spent waiting for batches and copying them).
        """
        start, self._data_time = time.perf_counter(), 0.0
        self._update(step)
        if self.train.profile:
            if self.fabric.device.type == "cuda":
                torch.cuda.synchronize(self.fabric.device)
            self._record({"time/step": time.perf_counter() - start, "time/data": self._data_time})

    def _next_batch(self) -> Any:
        start = time.perf_counter()
        batch = self.fabric.to_device(next(self.stream))
        if self.train.profile and self.fabric.device.type == "cuda":
            torch.cuda.current_stream(self.fabric.device).synchronize()  # the copy is part of the wait
        self._data_time += time.perf_counter() - start
        return batch

    def _update(self, step: int) -> None:
        adversary = self.adversary_active(step)
        if adversary:
            for _ in range(self.train.disc_steps):
                self._discriminator_update(step)
        self._generator_update(step, adversary)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")
            for sched in self.schedulers.values():
                sched.step()
        if self.ema is not None:
            self.ema.update(self.models[self.main].module, step)
        if not self._checked and (not self.gan or adversary):
            self._check_weight_names()

    def _discriminator_update(self, step: int) -> None:
        opt = self.optimizers["discriminator"]
        opt.zero_grad(set_to_none=True)
        batch = self._next_batch()
        ctx = self.context(step, adversary=True)
        with inside_fabric_backward():
            terms = _check_terms(self.recipe.discriminator_step(self.models, batch, ctx), "discriminator_step")
        self._guard_backward("discriminator_step", ["discriminator"])
        total = self.weighted_total(terms)
        self.fabric.backward(total)
        self._clip("discriminator", opt)
        opt.step()
        self._record({f"disc/{k}": v for k, v in terms.items()} | {"disc/loss": total} | ctx.logged)

    def _generator_update(self, step: int, adversary: bool) -> None:
        gen_opts = {k: o for k, o in self.optimizers.items() if k != "discriminator"}
        for opt in gen_opts.values():
            opt.zero_grad(set_to_none=True)
        acc = self.train.accumulate
        for micro in range(acc):
            batch = self._next_batch()
            ctx = self.context(step, adversary=adversary, micro=micro)
            with self.fabric.no_backward_sync(self.models[self.main], enabled=micro < acc - 1):
                with inside_fabric_backward():
                    terms = _check_terms(self.recipe.training_step(self.models, batch, ctx), "training_step")
                if micro == 0:
                    self._guard_backward("training_step", list(gen_opts))
                if self.balancer is not None:
                    total = self._balanced_backward(terms, ctx, acc)
                else:
                    total = self.weighted_total(terms)
                    self.fabric.backward(total / acc)
            self._record(dict(terms) | {"loss": total} | ctx.logged)
        for key, opt in gen_opts.items():
            norm = self._clip(key, opt)
            if norm is not None and key == self.main:
                self._record({"grad_norm": norm})
            opt.step()

    def _balanced_backward(self, terms: dict, ctx: StepContext, acc: int) -> torch.Tensor:
        wrt = ctx.balance_wrt
        if wrt is None:
            raise ConfigError("train.balancer=true: the recipe's training_step must call ctx.balance(output) "
                              "with the model output the losses are computed from")
        total = self.weighted_total(terms).detach()
        for name in terms:
            self.balancer.weights.setdefault(name, self.weights.get(name, 1.0))
        self.balancer.total_norm = 1.0 / acc  # each micro-batch owns 1/acc of the gradient norm
        with inside_fabric_backward():  # its torch.autograd.grad calls; the final pass goes through Fabric
            result = self.balancer.backward(terms, wrt, backward_fn=self.fabric.backward)
        ctx.logged.update({f"grad_norm/{k}": v for k, v in result.grad_norms.items()})
        return total

    def _guard_backward(self, hook: str, keys: list[str]) -> None:
        """On its first call: a recipe hook must not back-propagate itself (Fabric does that).

        ``keys`` name the models whose gradients were just zeroed.
        """
        if hook in self._guarded:
            return
        self._guarded.add(hook)
        if any(p.grad is not None for k in keys for p in self.models[k].parameters()):
            raise ConfigError(
                f"recipe {self.recipe.name}: {hook}() left gradients on the parameters (did it call "
                ".backward()?); return the loss terms and the engine back-propagates them through Fabric"
            )

    def _clip(self, key: str, opt) -> torch.Tensor | None:
        if self.train.grad_clip <= 0:
            return None
        return self.fabric.clip_gradients(self.models[key], opt, max_norm=self.train.grad_clip, error_if_nonfinite=False)

    def weighted_total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``sum(train.loss_weights.get(name, 1) * term)`` over the terms with a non-zero weight."""
        self._seen.update(terms)
        used = [self.weights.get(k, 1.0) * v for k, v in terms.items() if self.weights.get(k, 1.0) != 0]
        if not used:
            raise ConfigError(f"every loss term {sorted(terms)} has weight 0 in train.loss_weights")
        return torch.stack([u.float() for u in used]).sum()

    def _check_weight_names(self) -> None:
        self._checked = True
        unknown = {k for k, w in self.weights.items() if w != 0} - self._seen  # weight 0: may be skipped
        if unknown:
            raise ConfigError(
                f"train.loss_weights names {sorted(unknown)}, but recipe {self.recipe.name} returned only "
                f"{sorted(self._seen)}"
            )

    def _record(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            v = v.detach().float() if torch.is_tensor(v) else torch.tensor(float(v))
            self._sums[k] = self._sums.get(k, 0.0) + v
            self._counts[k] = self._counts.get(k, 0) + 1

    def flush_logs(self, step: int) -> dict[str, float]:
        """Mean of each recorded value since the last flush (over processes too), plus the LR."""
        names = sorted(self._sums)
        if not names:
            return {}
        means = torch.stack([(self._sums[k] / self._counts[k]).to(self.fabric.device) for k in names])
        if self.fabric.world_size > 1:
            means = self.fabric.all_reduce(means, reduce_op="mean")
        values = dict(zip(names, means.tolist()))
        self._sums, self._counts = {}, {}
        bad = {k: v for k, v in values.items() if not math.isfinite(v) and k != "grad_norm"}
        if bad:
            raise NonFiniteError(f"training diverged at step {step}: non-finite {bad}")
        values["lr"] = self.schedulers[self.main].get_last_lr()[0] if self.main in self.schedulers else float("nan")
        return values

    def state_dict(self) -> dict:
        """The runner's own state for checkpoints (the balancer's running gradient norms)."""
        if self.balancer is None:
            return {}
        return {"balancer": self.balancer.state_dict(), "balancer_weights": dict(self.balancer.weights)}

    def load_state_dict(self, state: dict) -> None:
        if self.balancer is not None and "balancer" in state:
            self.balancer.load_state_dict(state["balancer"])
            self.balancer.weights.update(state["balancer_weights"])


@contextlib.contextmanager
def inside_fabric_backward() -> Iterator[None]:
    """Let ``torch.autograd.grad`` run on Fabric-wrapped model outputs (gradient penalties, balancer).

    Under mixed precision Fabric hooks every model output to refuse a ``loss.backward()`` that
    bypasses it; the hook cannot tell that call from ``torch.autograd.grad`` inside a loss, which
    is legitimate. The engine checks separately that recipe hooks leave no gradients behind.
    """
    import lightning_fabric.wrappers as wrappers

    old = wrappers._in_fabric_backward
    wrappers._in_fabric_backward = True
    try:
        yield
    finally:
        wrappers._in_fabric_backward = old


def _check_terms(terms: Any, hook: str) -> dict[str, torch.Tensor]:
    if not isinstance(terms, dict) or not terms:
        raise ConfigError(f"{hook}() must return a non-empty dict of named scalar loss tensors, got {type(terms).__name__}")
    for k, v in terms.items():
        if not torch.is_tensor(v) or v.numel() != 1:
            raise ConfigError(f"{hook}() term {k!r} must be a scalar tensor, got {getattr(v, 'shape', type(v))}")
    return {k: v.reshape(()) for k, v in terms.items()}


def _make_balancer():
    from earshot.losses.combine import GradientBalancer

    balancer = GradientBalancer({"_": 1.0})  # weights are filled in from the terms as they appear
    balancer.weights.clear()
    return balancer
