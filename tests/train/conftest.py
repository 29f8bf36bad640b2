"""Helpers for the engine tests: tiny toy-recipe configs and one shared trained run."""

from __future__ import annotations

import pytest

from earshot.train.config import RunConfig, build_config
from earshot.train.engine import train
from earshot.train.recipe import get_recipe

QUIET = {
    "train.progress": "false", "train.tensorboard": "false", "train.num_examples": "0",
    "train.accelerator": "cpu", "train.val_every": "0", "train.ckpt_every": "0",
    "recipe.train_items": "48", "recipe.valid_items": "16",
}


def make_toy_config(configs_dir=None, **overrides) -> RunConfig:
    """The toy recipe's config with quiet, tiny defaults; ``train__steps=5`` style overrides."""
    recipe = get_recipe("toy")
    items = dict(QUIET)
    items.update({k.replace("__", "."): str(v) for k, v in overrides.items()})
    return build_config("toy", recipe.config_class, train_defaults=recipe.train_defaults,
                        overrides=items, configs_dir=configs_dir)


@pytest.fixture(scope="session")
def toy_config():
    """``toy_config(configs_dir=None, train__steps=5, ...)`` -> RunConfig (see make_toy_config)."""
    return make_toy_config


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A toy run trained for 40 steps with EMA, validation and examples (shared, read-only)."""
    run_dir = tmp_path_factory.mktemp("toy-run") / "run"
    cfg = make_toy_config(train__steps=40, train__val_every=10, train__ema_decay=0.9, train__num_examples=1,
                     train__tensorboard="true", train__ckpt_every=20, train__log_every=5)
    result = train(cfg, run_dir)
    return run_dir, result
