"""Typed training configuration: dataclasses, YAML layers and ``key=value`` overrides.

A run's configuration has two sections:

- ``train``: the engine's settings, :class:`TrainConfig` (steps, batch size, optimiser,
  schedule, precision, checkpoints, GAN mode, loss weights, ...), the same for every recipe;
- ``recipe``: the recipe's own dataclass (model size, data, sample rate, ...), whose defaults
  are the paper's.

Layers, later wins::

    dataclass defaults < configs/base.yaml < Recipe.train_defaults < configs/<recipe>.yaml
        < --config FILE (each, in order) < key=value overrides

A YAML file holds ``train:`` and/or ``recipe:`` mappings. Overrides are dotted keys,
``train.steps=200``, ``recipe.channels=16``, ``train.loss_weights.l1=0.5`` (sets one entry); values are parsed
as YAML and coerced to the field's type (``"1e-3"`` becomes a float for a float field). A
mapping given for a dict field, in a YAML layer or as ``train.loss_weights={jnd: 1}``,
replaces the whole dict (so a layer states all the loss weights it wants).
An unknown key raises :class:`~earshot.errors.ConfigError` naming it and the nearest valid keys.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

from earshot.errors import ConfigError
from earshot.typed import coerce, merge, parse_value

SCHEDULES = ("constant", "cosine", "linear")
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")


@dataclass
class TrainConfig:
    """The engine's settings (section ``train``). Steps count optimiser (generator) steps."""

    steps: int = 1000                  # generator/model optimiser steps in total
    max_minutes: float = 0.0           # wall-clock budget: stop cleanly (validate, checkpoint) after it; 0 = off
    batch_size: int = 8                # per process (per GPU) micro-batch size
    accumulate: int = 1                # micro-batches per optimiser step
    num_workers: int = -1              # DataLoader workers per process; -1 = auto (0 on CPU, up to 8 per GPU)
    seed: int = 0
    # optimiser (AdamW) and schedule
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: Literal["constant", "cosine", "linear"] = "constant"
    warmup_steps: int = 0              # linear warm-up from 0 to lr
    min_lr_ratio: float = 0.0          # cosine/linear decay floor, as a fraction of lr
    grad_clip: float = 0.0             # max global gradient norm; 0 = off
    ema_decay: float = 0.0             # EMA of the main model's weights; 0 = off
    # loss terms: name -> weight (a returned term missing here has weight 1; 0 = log only)
    loss_weights: dict[str, float] = field(default_factory=dict)
    balancer: bool = False             # gradient-norm balancing of the terms (GAN/codec style)
    # GAN mode (used when the recipe builds a "discriminator")
    disc_steps: int = 1                # discriminator steps per generator step
    adversary_start: int = 0           # generator steps without the adversary (warm-up)
    disc_lr: float = 0.0               # 0 = same as lr
    disc_betas: tuple[float, float] = (0.5, 0.9)
    # hardware
    accelerator: str = "auto"          # auto | cpu | gpu | cuda | mps
    devices: int = 1                   # ignored under torchrun (taken from its environment)
    precision: str = "auto"            # auto (bf16-mixed on GPUs that have it, else 32) | 32-true | bf16-mixed | 16-mixed
    find_unused_parameters: bool = False
    compile: bool = False              # torch.compile the main model (checkpoints keep the plain keys)
    # validation, checkpoints, logging
    val_every: int = 200               # steps between validations; 0 = only at the end
    val_batches: int = 0               # 0 = the whole validation set
    ckpt_every: int = 500              # steps between checkpoints; 0 = only at the end
    keep_last: int = 3                 # checkpoints kept
    log_every: int = 10                # steps between logged training scalars
    profile: bool = False              # log time/step and time/data (synchronises the GPU each step)
    examples_every: int = 0            # steps between audio examples; 0 = at each validation
    num_examples: int = 2
    tensorboard: bool = True
    progress: bool = True


@dataclass
class EmptyConfig:
    """The config of a recipe without settings."""


@dataclass
class RunConfig:
    """A resolved run configuration: the recipe's name and both sections."""

    recipe_name: str
    train: TrainConfig
    recipe: Any

    def to_dict(self) -> dict:
        return {"recipe_name": self.recipe_name, "train": to_dict(self.train), "recipe": to_dict(self.recipe)}


def to_dict(obj: Any) -> Any:
    """A dataclass (nested) as plain YAML/JSON-friendly data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def default_configs_dir() -> Path:
    """Where the recipe configs live: ``$EARSHOT_CONFIGS`` if set, else the package's ``earshot/configs``.

    ``earshot/configs`` is inside the installed package (a wheel ships it); in a source checkout
    it is a link to the repository's ``configs/`` folder.
    """
    env = os.environ.get("EARSHOT_CONFIGS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "configs"


def find_config(name_or_path: str | Path, configs_dir: str | Path | None = None) -> Path:
    """A config file given by path (``configs/codec-16k.yaml``) or by name (``codec-16k``).

    An existing file wins; otherwise ``NAME`` or ``NAME.yaml`` is looked up in ``configs_dir``
    (default :func:`default_configs_dir`), sub-folders included (``listening/mushra-codecs``).
    A path that names a shipped config (``configs/codec-16k.yaml`` from outside the checkout)
    also finds it by its name. Raises ConfigError listing the shipped names when nothing matches.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    root = Path(configs_dir) if configs_dir is not None else default_configs_dir()
    stem = path.with_suffix("") if path.suffix in (".yaml", ".yml") else path
    parts = stem.parts[1:] if stem.parts[:1] == ("configs",) else stem.parts
    for candidate in (root.joinpath(*parts).with_suffix(".yaml"), root / f"{stem.name}.yaml"):
        if parts and candidate.is_file():
            return candidate
    names = ", ".join(shipped_configs(root)) or "none"
    raise ConfigError(f"config file {name_or_path} does not exist and is not a shipped config name "
                      f"(in {root}: {names})")


def shipped_configs(configs_dir: str | Path | None = None) -> list[str]:
    """Names of the YAML configs in ``configs_dir`` (default :func:`default_configs_dir`), e.g. ``codec-16k``."""
    root = Path(configs_dir) if configs_dir is not None else default_configs_dir()
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


def read_yaml(path: str | Path) -> dict:
    """Read a YAML config layer; raise ConfigError naming the file if it is not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping with 'train:' and/or 'recipe:'")
    unknown = set(data) - {"train", "recipe", "recipe_name"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {sorted(unknown)}; use 'train:' and 'recipe:'")
    return data


def build_config(
    recipe_name: str,
    recipe_config_class: type,
    *,
    train_defaults: Mapping | None = None,
    files: typing.Sequence[str | Path] = (),
    overrides: Mapping[str, str] | None = None,
    configs_dir: str | Path | None = None,
) -> RunConfig:
    """Resolve the layers (see the module docstring) into a :class:`RunConfig`."""
    configs_dir = Path(configs_dir) if configs_dir is not None else default_configs_dir()
    train, recipe = TrainConfig(), recipe_config_class()
    layers: list[tuple[str, dict]] = []
    if (configs_dir / "base.yaml").is_file():
        layers.append((str(configs_dir / "base.yaml"), read_yaml(configs_dir / "base.yaml")))
    if train_defaults:
        layers.append((f"{recipe_name}.train_defaults", {"train": dict(train_defaults)}))
    overlay = configs_dir / f"{recipe_name}.yaml"
    if overlay.is_file():
        layers.append((str(overlay), read_yaml(overlay)))
    layers += [(str(f), read_yaml(find_config(f, configs_dir))) for f in files]
    for source, data in layers:
        train = merge(train, data.get("train") or {}, prefix="train", source=source)
        recipe = merge(recipe, data.get("recipe") or {}, prefix="recipe", source=source)
    cfg = RunConfig(recipe_name, train, recipe)
    return apply_overrides(cfg, overrides or {})


def apply_overrides(cfg: RunConfig, overrides: Mapping[str, str]) -> RunConfig:
    """Apply dotted ``key=value`` strings (values parsed as YAML, coerced to the field type)."""
    train, recipe = cfg.train, cfg.recipe
    for key, raw in overrides.items():
        section, _, rest = key.partition(".")
        if section not in ("train", "recipe") or not rest:
            raise ConfigError(f"override {key!r}: keys start with 'train.' or 'recipe.' (e.g. train.steps=100)")
        if section == "train":
            train = _set_path(train, rest.split("."), parse_value(raw), "train", f"override {key}")
        else:
            recipe = _set_path(recipe, rest.split("."), parse_value(raw), "recipe", f"override {key}")
    validate_train(train)
    return RunConfig(cfg.recipe_name, train, recipe)


def from_dict(data: Mapping, recipe_config_class: type) -> RunConfig:
    """Rebuild a RunConfig from :meth:`RunConfig.to_dict` output (a run's config.yaml)."""
    train = merge(TrainConfig(), data.get("train") or {}, prefix="train", source="saved config")
    recipe = merge(recipe_config_class(), data.get("recipe") or {}, prefix="recipe", source="saved config")
    return RunConfig(str(data.get("recipe_name", "")), train, recipe)


def save_config(cfg: RunConfig, path: str | Path) -> None:
    """Write the resolved config as YAML."""
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def validate_train(train: TrainConfig) -> None:
    """Range checks of the engine's settings; raise ConfigError naming the key."""
    checks = [
        ("steps", train.steps >= 1), ("batch_size", train.batch_size >= 1),
        ("accumulate", train.accumulate >= 1), ("num_workers", train.num_workers >= -1),
        ("max_minutes", train.max_minutes >= 0),
        ("lr", train.lr > 0), ("warmup_steps", train.warmup_steps >= 0),
        ("min_lr_ratio", 0 <= train.min_lr_ratio <= 1), ("grad_clip", train.grad_clip >= 0),
        ("ema_decay", 0 <= train.ema_decay < 1), ("disc_steps", train.disc_steps >= 1),
        ("adversary_start", train.adversary_start >= 0), ("disc_lr", train.disc_lr >= 0),
        ("devices", train.devices >= 1), ("val_every", train.val_every >= 0),
        ("ckpt_every", train.ckpt_every >= 0), ("keep_last", train.keep_last >= 1),
        ("log_every", train.log_every >= 1), ("examples_every", train.examples_every >= 0),
        ("precision", train.precision in PRECISIONS), ("val_batches", train.val_batches >= 0),
    ]
    for name, ok in checks:
        if not ok:
            raise ConfigError(f"train.{name}={getattr(train, name)!r} is out of range")
    for name, w in train.loss_weights.items():
        if w < 0:
            raise ConfigError(f"train.loss_weights.{name}={w} must be >= 0")


def _set_path(obj: Any, keys: list[str], value: Any, prefix: str, source: str) -> Any:
    """Set dotted ``keys`` of dataclass ``obj`` to ``value``; one entry of a dict field
    (``loss_weights.l1``) is set alone, a whole mapping replaces the dict."""
    head, rest = keys[0], keys[1:]
    if not rest:
        return merge(obj, {head: value}, prefix=prefix, source=source)
    names = {f.name for f in dataclasses.fields(obj)}
    if head not in names:
        return merge(obj, {head: value}, prefix=prefix, source=source)  # raises the unknown-key error
    current, where = getattr(obj, head), f"{prefix}.{head}"
    if dataclasses.is_dataclass(current):
        return dataclasses.replace(obj, **{head: _set_path(current, rest, value, where, source)})
    if isinstance(current, dict) and len(rest) == 1:
        value_type = typing.get_args(typing.get_type_hints(type(obj))[head])
        entry = coerce(value, value_type[1] if len(value_type) == 2 else Any, f"{where}.{rest[0]}", source)
        return dataclasses.replace(obj, **{head: {**current, rest[0]: entry}})
    raise ConfigError(f"{source}: '{where}' has no field '{'.'.join(rest)}'")
