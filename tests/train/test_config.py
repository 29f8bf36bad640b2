"""Config layering, overrides, coercion and errors."""

from __future__ import annotations

import pytest

from earshot.errors import ConfigError
from earshot.train.config import TrainConfig, build_config, coerce, from_dict, save_config
from earshot.train.recipe import discover_recipes, get_recipe


def _dir(tmp_path, base: str = "", toy: str = ""):
    d = tmp_path / "configs"
    d.mkdir()
    if base:
        (d / "base.yaml").write_text(base)
    if toy:
        (d / "toy.yaml").write_text(toy)
    return d


def test_layers_in_order(tmp_path):
    d = _dir(tmp_path, base="train: {lr: 0.5, steps: 7, batch_size: 3, seed: 9}\n",
             toy="train: {steps: 11}\nrecipe: {channels: 5}\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text("train:\n  batch_size: 6\nrecipe:\n  layers: 4\n")
    cls = get_recipe("toy")
    cfg = build_config("toy", cls.config_class, train_defaults=cls.train_defaults, files=[extra],
                       overrides={"recipe.layers": "5"}, configs_dir=d)
    assert cfg.train.seed == 9             # base.yaml
    assert cfg.train.lr == 3e-3            # Recipe.train_defaults beat base.yaml
    assert cfg.train.steps == 11           # configs/toy.yaml beats base
    assert cfg.train.batch_size == 6       # --config file beats the overlay
    assert cfg.recipe.channels == 5 and cfg.recipe.layers == 5   # override wins last
    assert cfg.train.loss_weights == {"l1": 1.0, "mse": 0.0}


def test_override_coercion(tmp_path, toy_config):
    cfg = toy_config(_dir(tmp_path), **{"train__lr": "1e-4", "train__betas": "[0.8, 0.95]",
                                        "train__balancer": "yes", "train__loss_weights__mse": "2",
                                        "train__steps": "1e3", "recipe__seconds": "1"})
    assert cfg.train.lr == 1e-4 and isinstance(cfg.train.lr, float)
    assert cfg.train.betas == (0.8, 0.95)
    assert cfg.train.balancer is True
    assert cfg.train.loss_weights == {"l1": 1.0, "mse": 2.0}
    assert cfg.train.steps == 1000 and isinstance(cfg.train.steps, int)
    assert cfg.recipe.seconds == 1.0 and isinstance(cfg.recipe.seconds, float)


@pytest.mark.parametrize("key, value, match", [
    ("train.stpes", "3", "did you mean train.steps"),
    ("recipe.chanels", "3", "did you mean recipe.channels"),
    ("steps", "3", "start with 'train.' or 'recipe.'"),
    ("train.steps", "many", "train.steps='many' is not a valid int"),
    ("train.steps", "2.5", "not a valid int"),
    ("train.balancer", "maybe", "not a valid bool"),
    ("train.betas", "[1, 2, 3]", "of length 2"),
    ("train.schedule", "exp", "choose one of"),
    ("train.steps", "0", "out of range"),
    ("train.loss_weights.l1", "-1", "must be >= 0"),
])
def test_bad_overrides(tmp_path, key, value, match):
    cls = get_recipe("toy")
    with pytest.raises(ConfigError, match=match):
        build_config("toy", cls.config_class, overrides={key: value}, configs_dir=_dir(tmp_path))


def test_bad_files(tmp_path):
    cls = get_recipe("toy")
    d = _dir(tmp_path, base="trian: {steps: 3}\n")
    with pytest.raises(ConfigError, match="unknown top-level keys"):
        build_config("toy", cls.config_class, configs_dir=d)
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2]\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        build_config("toy", cls.config_class, files=[bad], configs_dir=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        build_config("toy", cls.config_class, files=[tmp_path / "missing.yaml"], configs_dir=tmp_path)


def test_saved_config_round_trip(tmp_path, toy_config):
    import yaml

    cfg = toy_config(_dir(tmp_path), train__betas="[0.5, 0.6]", recipe__channels=3)
    save_config(cfg, tmp_path / "config.yaml")
    back = from_dict(yaml.safe_load((tmp_path / "config.yaml").read_text()), get_recipe("toy").config_class)
    assert back == cfg


def test_coerce_optional_and_nested():
    from typing import Optional

    assert coerce(None, Optional[int], "x", "t") is None
    assert coerce("4", Optional[int], "x", "t") == 4
    assert coerce({"a": "1"}, dict[str, float], "x", "t") == {"a": 1.0}
    with pytest.raises(ConfigError):
        coerce([1], float, "x", "t")


def test_repo_base_yaml_and_recipes_load():
    # the shipped configs/base.yaml and every recipe's overlay resolve without errors
    for name in discover_recipes():
        cls = get_recipe(name)
        cfg = build_config(name, cls.config_class, train_defaults=cls.train_defaults)
        assert isinstance(cfg.train, TrainConfig)
    with pytest.raises(ConfigError, match="unknown recipe 'nope'.*toy"):
        get_recipe("nope")


def test_dict_fields_replace_or_set_one_entry(tmp_path, toy_config):
    d = _dir(tmp_path, toy="train:\n  loss_weights: {mse: 2}\n")
    assert toy_config(d).train.loss_weights == {"mse": 2.0}                      # a layer replaces
    assert toy_config(train__loss_weights="{l1: 3}").train.loss_weights == {"l1": 3.0}
    assert toy_config(train__loss_weights__mse="0.5").train.loss_weights == {"l1": 1.0, "mse": 0.5}
    with pytest.raises(ConfigError, match="no field"):
        toy_config(train__loss_weights__a__b="1")
    with pytest.raises(ConfigError, match="unknown key 'train.los_weights'"):
        toy_config(train__los_weights__a="1")
