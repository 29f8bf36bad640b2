"""Run under torchrun by test_distributed.py: train the toy recipe, save this rank's weights."""

import sys

import torch

from earshot.train.config import build_config
from earshot.train.engine import train
from earshot.train.recipe import get_recipe

run_dir, out, steps, batch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
torch.set_num_threads(1)
recipe = get_recipe("toy")
overrides = {
    "train.steps": steps, "train.batch_size": batch, "train.val_every": "0", "train.ckpt_every": "0",
    "train.progress": "false", "train.tensorboard": "false", "train.num_examples": "0",
    "train.accelerator": "cpu", "recipe.train_items": "64", "recipe.valid_items": "16",
}
cfg = build_config("toy", recipe.config_class, train_defaults=recipe.train_defaults, overrides=overrides)
result = train(cfg, run_dir)
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
torch.save({"state": result.models["model"].state_dict(), "metrics": result.metrics}, f"{out}.rank{rank}.pt")
