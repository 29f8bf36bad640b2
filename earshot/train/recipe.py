"""Recipes: what one model needs from the training engine, in one short file.

How to write a recipe
=====================

A recipe is one module ``earshot/train/recipes/<name>.py`` holding a config dataclass and a
:class:`Recipe` subclass decorated with :func:`register_recipe`. The engine imports every module
in ``earshot.train.recipes`` (there is no list to edit), so ``earshot train <name>`` finds it.
The engine owns everything generic: devices and DDP, mixed precision, optimisers (AdamW by
default), LR schedules, gradient clipping and accumulation, EMA weights, GAN alternation,
seeding, samplers, validation, checkpoints, resume, logging and export. The recipe only says
what the model is, where the data comes from and what the losses are::

    from dataclasses import dataclass
    import torch
    from earshot.train.recipe import Exported, Recipe, StepContext, register_recipe

    @dataclass
    class MyConfig:                 # section "recipe:" of the YAML; defaults = the paper's
        sample_rate: int = 16000
        channels: int = 32

    @register_recipe               # name = module name ("my"); or @register_recipe("other")
    class MyRecipe(Recipe):
        config_class = MyConfig
        train_defaults = {"lr": 3e-4, "loss_weights": {"l1": 1.0, "mrstft": 1.0}}

        def build_models(self):
            return {"model": MyNet(channels=self.config.channels)}    # from earshot.models

        def datasets(self):
            return train_dataset, valid_dataset   # map-style torch Datasets

        def training_step(self, models, batch, ctx):
            estimate = models["model"](batch["noisy"])
            return {"l1": self.l1(estimate, batch["clean"]), "mrstft": ...}   # named terms

        def export(self, models):
            m = models["model"]
            return Exported(m, {"channels": self.config.channels}, self.config.sample_rate,
                            data="what it was trained on")

Put the engine settings the paper used in ``configs/<name>.yaml`` (``train:`` section, e.g.
``steps``, ``batch_size``, ``lr``, ``loss_weights``) and smaller variants in other YAML files
passed with ``--config``. See :mod:`earshot.train.config` for the layering order.

The hooks
---------
``self.config`` is your config dataclass instance, ``self.train_config`` the engine's
:class:`~earshot.train.config.TrainConfig`, ``self.run_dir`` the run directory (or None).

- ``build_models() -> dict[str, nn.Module]``: ``{"model": m}``, or for GAN mode
  ``{"generator": g, "discriminator": d}``. Called once with the torch RNG seeded by
  ``train.seed``, on CPU; the engine moves and wraps them. Models live in ``earshot.models``
  (export requires it) and have a JSON-friendly constructor.
- ``datasets() -> (train, valid)``: map-style datasets; ``valid`` may be None. Items are
  tensors, tuples or dicts of tensors (batched by ``collate`` if you define it, else torch's
  default). For exact resume make ``__getitem__`` deterministic in the index (seed a
  ``numpy.random.default_rng((seed, index))`` or similar); define ``set_epoch(epoch)`` on the
  dataset to vary items between epochs. Worker processes are seeded per rank and worker too.
- ``training_step(models, batch, ctx) -> dict[str, Tensor]``: named scalar loss terms. The
  engine multiplies each by ``train.loss_weights.get(name, 1.0)`` and sums (or, with
  ``train.balancer``, balances the gradient norms) and logs every term. A weight of 0 logs a
  term without training on it (a recipe may also skip computing it). A name in
  ``loss_weights`` with a non-zero weight that the recipe never returns is an error (a typo). ``models`` are the wrapped modules (autocast on GPU; outputs come
  back float32). In GAN mode ``ctx.adversary_active`` says whether to add adversarial and
  feature-matching terms (False during ``train.adversary_start`` warm-up steps).
- ``discriminator_step(models, batch, ctx) -> dict[str, Tensor]`` (GAN only): the
  discriminator's terms, weighted and summed the same way; run ``train.disc_steps`` times per
  generator step once the adversary is active, each on a fresh batch. Detach the generator's
  output here (``with torch.no_grad():``).
- ``validation_step(models, batch) -> dict[str, float | Tensor]`` (optional): metrics for one
  validation batch (tensors of shape ``(batch,)`` from ``earshot.metrics`` are welcome); the
  engine averages them over the validation set and all processes and logs them as
  ``valid/<name>``. Default: the weighted training terms and their total ``loss``. Runs under
  ``torch.no_grad()`` in eval mode, with EMA weights when ``train.ema_decay > 0``.
- ``examples(models, batch) -> dict[str, Tensor]`` (optional): audio to listen to, each
  ``(channels, samples)`` at ``self.sample_rate``; logged to TensorBoard as audio and
  spectrogram images and written as WAV under ``RUN/examples/``.
- ``export(models) -> Exported``: the inference module and its constructor kwargs, for
  ``earshot export RUN --name NAME`` (EMA weights when enabled).
- ``configure_optimizers(models) -> dict[str, Optimizer]`` (optional): override the engine's
  AdamW; keys ``"model"`` (or ``"generator"``) and ``"discriminator"``.
- ``collate(items) -> batch`` (optional): a custom collate function.

Call models through ``models[key](...)`` (their ``forward``) inside steps: that is what DDP
synchronises and autocast wraps. If a step must call another method (``encode``), name it in
the class attribute ``forward_methods = {"model": ["encode"]}``. A model without trainable
parameters (a frozen feature net) is only moved to the device. GAN mode is on when
``build_models`` returns a ``"discriminator"``.

``ctx`` (:class:`StepContext`) carries the step, total steps, device, rank and world size,
whether the adversary is active, and ``ctx.log(name, value)`` for extra scalars.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from earshot.errors import ConfigError
from earshot.registry import Registry
from earshot.train.config import EmptyConfig, TrainConfig

_REGISTRY = Registry("recipe")


@dataclass
class StepContext:
    """What a recipe's step knows about where training stands.

    ``step`` is the index of the optimiser (generator) step being computed, from 0;
    ``micro_batch`` the index within gradient accumulation; ``training`` is False when the
    default validation calls ``training_step``.
    """

    step: int
    total_steps: int
    device: torch.device
    adversary_active: bool = False
    rank: int = 0
    world_size: int = 1
    micro_batch: int = 0
    training: bool = True
    sample_rate: int | None = None
    logged: dict[str, float] = field(default_factory=dict)
    balance_wrt: torch.Tensor | None = None

    def balance(self, output: torch.Tensor) -> torch.Tensor:
        """Mark the model output the loss terms are computed from (needed by ``train.balancer``,
        which rescales each term's gradient with respect to it); returns ``output``."""
        self.balance_wrt = output
        return output

    def log(self, name: str, value: float | torch.Tensor) -> None:
        """Log an extra training scalar (not a loss) as ``train/<name>``."""
        self.logged[name] = float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)


@dataclass
class Exported:
    """An inference model ready to ship: see :func:`earshot.weights.hub.save_pretrained`.

    ``module`` must be an instance of a class in ``earshot.models`` constructible as
    ``cls(**kwargs)`` (kwargs JSON-serialisable); ``sample_rate`` in Hz; ``data`` describes the
    training data; ``metrics`` are measured quality numbers (the engine adds the last
    validation metrics when empty); ``notes`` is free text.
    """

    module: nn.Module
    kwargs: dict[str, Any]
    sample_rate: int
    data: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    notes: str = ""


class Recipe:
    """Base class of training recipes; see the module docstring for how to write one."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = EmptyConfig
    train_defaults: ClassVar[dict[str, Any]] = {}
    description: ClassVar[str] = ""
    #: methods other than forward that training_step calls on a model, e.g. {"model": ["encode"]}
    forward_methods: ClassVar[dict[str, list[str]]] = {}

    def __init__(self, config: Any = None, train_config: TrainConfig | None = None, run_dir: Path | None = None):
        self.config = config if config is not None else self.config_class()
        self.train_config = train_config if train_config is not None else TrainConfig()
        self.run_dir = Path(run_dir) if run_dir is not None else None

    @property
    def sample_rate(self) -> int | None:
        """The audio sample rate in Hz: ``config.sample_rate`` if the config has one."""
        return getattr(self.config, "sample_rate", None)

    def build_models(self) -> dict[str, nn.Module]:
        raise NotImplementedError(f"recipe {self.name!r} must define build_models()")

    def datasets(self) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset | None]:
        raise NotImplementedError(f"recipe {self.name!r} must define datasets()")

    def training_step(self, models: dict[str, nn.Module], batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"recipe {self.name!r} must define training_step()")

    def discriminator_step(self, models: dict[str, nn.Module], batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"recipe {self.name!r} is not a GAN recipe")

    def validation_step(self, models: dict[str, nn.Module], batch: Any) -> dict[str, float | torch.Tensor]:
        raise NotImplementedError  # the engine falls back to the weighted training terms

    def examples(self, models: dict[str, nn.Module], batch: Any) -> dict[str, torch.Tensor]:
        return {}

    def export(self, models: dict[str, nn.Module]) -> Exported:
        raise NotImplementedError(f"recipe {self.name!r} does not define export()")

    def configure_optimizers(self, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer] | None:
        return None  # the engine builds AdamW optimisers from train.lr, betas, weight_decay

    collate = None  # optionally a method collate(self, items) -> batch


def load_to_fine_tune(name: str, cls: type) -> tuple[nn.Module, dict]:
    """Shipped weights ``name`` (or a manifest path) as a trainable ``cls`` in training mode, and the
    manifest's constructor kwargs (which replace the recipe's model settings); what ``recipe.init`` loads."""
    from earshot.weights import load_pretrained, pretrained_info

    module = load_pretrained(name).train().requires_grad_(True)
    if not isinstance(module, cls):
        raise ConfigError(f"recipe.init={name!r} is not a {cls.__name__}")
    return module, dict(pretrained_info(name)["kwargs"])


def register_recipe(cls_or_name: type | str | None = None):
    """Class decorator registering a Recipe subclass under its module's name (or a given one).

    ``@register_recipe`` or ``@register_recipe("name")``.
    """
    def wrap(cls: type, name: str | None) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Recipe)):
            raise ConfigError(f"@register_recipe needs a Recipe subclass, got {cls!r}")
        if not dataclasses.is_dataclass(cls.config_class):
            raise ConfigError(f"recipe {cls.__name__}: config_class must be a dataclass")
        cls.name = name or cls.__module__.rsplit(".", 1)[-1]
        other = _REGISTRY.get(cls.name)
        if other is not None and other.__qualname__ != cls.__qualname__:
            raise ConfigError(f"recipe name {cls.name!r} is used by {other.__module__}.{other.__qualname__} too")
        _REGISTRY[cls.name] = cls
        return cls

    if isinstance(cls_or_name, type):
        return wrap(cls_or_name, None)
    return lambda cls: wrap(cls, cls_or_name)


def discover_recipes() -> list[str]:
    """Import every module of ``earshot.train.recipes``; return the registered names, sorted."""
    import earshot.train.recipes as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return sorted(_REGISTRY)


def get_recipe(name: str) -> type[Recipe]:
    """The registered recipe class called ``name``; ConfigError listing the known ones if none."""
    if name not in _REGISTRY:
        try:
            importlib.import_module(f"earshot.train.recipes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"earshot.train.recipes.{name}":
                raise
    if name not in _REGISTRY:
        discover_recipes()  # a recipe may be registered under a name other than its module's
    return _REGISTRY.load(name)
