"""``earshot train``: train a recipe, list recipes, or resume a run."""

from __future__ import annotations

import argparse
import os
import sys

from earshot.cli.common import parse_overrides
from earshot.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a model from a recipe",
        description="Train RECIPE with configs/base.yaml < configs/RECIPE.yaml < --config FILEs < key=value "
                    "overrides (e.g. train.steps=2000 recipe.channels=16). Several GPUs: "
                    "torchrun --nproc_per_node N -m earshot.cli.main train RECIPE ...",
    )
    _add_options(p)
    p.add_argument("recipe", nargs="?", help="recipe name (see --list)")
    p.add_argument("overrides", nargs=argparse.REMAINDER, metavar="key=value",
                   help="config overrides, train.* or recipe.* (options may follow them)")
    p.set_defaults(func=run)


def _add_options(p, defaults: bool = True) -> None:
    d = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    p.add_argument("--config", action="append", default=d([]), metavar="FILE", help="YAML layer (repeatable)")
    p.add_argument("--list", action="store_true", default=d(False), help="list the recipes and exit")
    p.add_argument("--resume", metavar="RUN_DIR", default=d(None), help="continue a run from its newest checkpoint")
    p.add_argument("--run-dir", metavar="DIR", default=d(None), help="run directory (default runs/RECIPE-TIME)")
    p.add_argument("--print-config", action="store_true", default=d(False),
                   help="print the resolved config and exit")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=d(None),
                   help="where to train (sets train.accelerator; default auto: cuda when available, else cpu)")


def _reparse(args) -> None:
    """Options may come after the recipe and the overrides: parse the remainder again."""
    inner = argparse.ArgumentParser(prog="earshot train", add_help=False)
    _add_options(inner, defaults=False)
    inner.add_argument("items", nargs="*")
    extra = inner.parse_intermixed_args(args.overrides)
    for key, value in vars(extra).items():
        if key == "config":
            args.config = list(args.config) + value
        elif key != "items":
            setattr(args, key, value)
    args.overrides = extra.items


def run(args) -> int:
    import yaml

    from earshot.train.config import build_config
    from earshot.train.engine import load_run_config, train
    from earshot.train.recipe import discover_recipes, get_recipe

    _reparse(args)
    if args.list:
        for name in discover_recipes():
            cls = get_recipe(name)
            doc = cls.description or next(iter((cls.__doc__ or "").strip().splitlines()), "")
            print(f"{name:16s} {doc}")
        return 0
    items = list(args.overrides)
    if args.device:
        items.insert(0, f"train.accelerator={args.device}")  # an explicit train.accelerator=... still wins
    if args.resume:
        if args.recipe and "=" in args.recipe:
            items.insert(0, args.recipe)
        elif args.recipe:
            raise ConfigError("--resume RUN_DIR takes the recipe from the run; do not name one")
        if args.config:
            raise ConfigError("--resume uses the run's saved config; pass changes as key=value overrides")
        cfg = load_run_config(args.resume, parse_overrides(items))
        run_dir = args.resume
    else:
        if not args.recipe:
            raise ConfigError("name a recipe (earshot train --list shows them) or --resume RUN_DIR")
        cls = get_recipe(args.recipe)
        cfg = build_config(args.recipe, cls.config_class, train_defaults=cls.train_defaults,
                           files=args.config, overrides=parse_overrides(items))
        run_dir = args.run_dir
    if args.print_config:
        print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), end="")
        return 0
    result = train(cfg, run_dir, resume=bool(args.resume))
    if os.environ.get("RANK", "0") != "0":  # under torchrun only the first process reports
        return 128 + int(result.signal) if result.interrupted else 0
    if result.interrupted:
        print(f"interrupted at step {result.step}; checkpoint {result.checkpoint}; "
              f"continue with: earshot train --resume {result.run_dir}", file=sys.stderr)
        return 128 + int(result.signal or 0)
    summary = "  ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
    print(f"done: {result.step} steps in {result.run_dir}  {summary}", file=sys.stderr)
    return 0
