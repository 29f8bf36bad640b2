"""Export a training run's weights as shipped weights (safetensors + manifest)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from earshot.errors import ConfigError
from earshot.train import checkpoint as ckpt
from earshot.train.engine import load_run_config
from earshot.train.recipe import Exported, get_recipe
from earshot.weights.hub import save_pretrained

log = logging.getLogger("earshot.train")


def load_run_models(run_dir: str | Path, *, checkpoint: str | Path | None = None, use_ema: bool = True):
    """``(recipe, models, state)`` of a run: models on CPU in eval mode with the checkpoint's
    weights (the newest loadable one unless ``checkpoint`` is given; EMA weights if present)."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    if checkpoint is not None:
        path, state = Path(checkpoint), ckpt.load_checkpoint(checkpoint)
    else:
        found = ckpt.latest_checkpoint(run_dir)
        if found is None:
            raise ConfigError(f"{run_dir}: no loadable checkpoint")
        path, state = found
    recipe = get_recipe(cfg.recipe_name)(cfg.recipe, cfg.train, run_dir)
    torch.manual_seed(cfg.train.seed)
    models = recipe.build_models()
    for key, module in models.items():
        module.load_state_dict(state["models"][key])
    main = "generator" if "generator" in models else "model"
    if use_ema and state.get("ema") is not None:
        models[main].load_state_dict(state["ema"])
    for module in models.values():
        module.eval()
    log.info("loaded %s (step %d%s)", path, state["step"], ", EMA weights" if use_ema and state.get("ema") else "")
    return recipe, models, state


def export_run(run_dir: str | Path, name: str, *, out_dir: str | Path | None = None,
               checkpoint: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write ``NAME.safetensors`` + ``NAME.json`` from a run (see ``Recipe.export``); return the manifest path."""
    recipe, models, state = load_run_models(run_dir, checkpoint=checkpoint)
    exported = recipe.export(models)
    if not isinstance(exported, Exported):
        raise ConfigError(f"recipe {recipe.name}: export() must return an Exported, got {type(exported).__name__}")
    metrics = exported.metrics or state.get("metrics", {})
    notes = exported.notes or f"exported from step {state['step']} of {Path(run_dir).name}"
    return save_pretrained(
        exported.module, name, kwargs=exported.kwargs, sample_rate=exported.sample_rate, data=exported.data,
        out_dir=out_dir, recipe=recipe.name, config=state.get("config"), metrics=metrics, notes=notes,
        overwrite=overwrite,
    )
