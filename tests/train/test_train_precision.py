"""Every registered recipe trains a few steps under ``train.precision=bf16-mixed`` on CPU (each
backward through Fabric), with finite losses and changed weights; the GradientBalancer too;
``train.compile=true`` trains and checkpoints plain state-dict keys."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from earshot.train.config import apply_overrides, build_config
from earshot.train.engine import train
from earshot.train.recipe import discover_recipes, get_recipe

QUIET = {"train.steps": 2, "train.batch_size": 2, "train.accelerator": "cpu", "train.precision": "bf16-mixed",
         "train.progress": "false", "train.tensorboard": "false", "train.num_examples": 0, "train.val_every": 0,
         "train.ckpt_every": 0, "train.log_every": 1, "train.val_batches": 1}

# the smallest settings of each recipe ("{corpus}" and "{pairs}" are filled in); a new recipe needs a row
TINY = {
    "toy": {"recipe.train_items": 8, "recipe.valid_items": 2},
    "autoencoder": {"recipe.corpus": "{corpus}", "recipe.seconds": 0.25, "recipe.items": 4, "recipe.valid_items": 2,
                    "recipe.layers": 4, "recipe.filters": 4},
    "codec": {"recipe.corpus": "{corpus}", "recipe.channels": 2, "recipe.dim": 4, "recipe.n_quantizers": 2,
              "recipe.codebook_size": 8, "recipe.wave_channels": 2, "recipe.wave_max_channels": 4,
              "recipe.stft_channels": 2, "recipe.segment_seconds": 0.2, "recipe.valid_kbps": 0.2,
              "recipe.quantizer_warmup": 1, "train.adversary_start": 1},
    "denoiser": {"recipe.corpus": "{corpus}", "recipe.seconds": 0.25, "recipe.train_items": 4,
                 "recipe.valid_items": 2, "recipe.hidden": 8, "recipe.layers": 1},
    "emulator": {"recipe.corpus": "{corpus}", "recipe.seconds": 0.25, "recipe.items": 4, "recipe.valid_items": 2,
                 "recipe.base_filters": 4},
    "jnd": {"recipe.pairs": "{pairs}/train", "recipe.valid_pairs": "{pairs}/valid", "recipe.layers": 6,
            "recipe.widths": "[4, 8]", "recipe.n_mels": 16, "recipe.spec_layers": 1, "recipe.spec_channels": 4},
    "separator": {"recipe.corpus": "{mixes}", "recipe.channels": 4, "recipe.depth": 2, "recipe.critic_channels": 4,
                  "recipe.critic_layers": 2, "recipe.segment_frames": 16, "recipe.paired_items": 4,
                  "recipe.items_per_epoch": 8, "recipe.valid_items": 2, "recipe.valid_seconds": 0.5,
                  "train.disc_steps": 1},
    "style-ae": {"recipe.corpus": "{corpus}", "recipe.segment_seconds": 0.25, "recipe.channels": "[8, 4]"},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 0.3-minute corpus (speech, music, noise; train/valid/test) and simulated JND pairs."""
    from earshot.data.corpus import build_corpus
    from earshot.data.jnd import WalkConfig, make_jnd_pairs

    root = tmp_path_factory.mktemp("precision-data")
    build_corpus(root / "corpus", minutes=0.3, seed=0, progress=False)
    t = torch.arange(4000) / 16000
    clips = [(0.2 * torch.sin(2 * math.pi * f * t))[None] for f in (200.0, 330.0)]
    for split, seed in (("train", 0), ("valid", 1)):
        make_jnd_pairs(root / "pairs" / split, source=clips, n_walks=2, n_trials=4, seconds=0.25, seed=seed,
                       walk_config=WalkConfig(perturbations=("white", "lowpass"), n_levels=8), progress=False)
    return {"corpus": str(root / "corpus"), "pairs": str(root / "pairs"), "mixes": str(mix_corpus(root / "mixes"))}


def mix_corpus(root):
    """Three training files (and one valid, one test) of tones per kind: the separator needs more
    files per kind than the small generated corpus has."""
    import json

    import soundfile as sf

    items, t = [], torch.arange(12000) / 16000
    for kind, base in (("speech", 150.0), ("music", 300.0)):
        (root / kind).mkdir(parents=True)
        for i, split in enumerate(["train"] * 3 + ["valid", "test"]):
            tone = 0.1 * torch.sin(2 * math.pi * base * (1 + 0.1 * i) * t) * (1 + torch.sin(2 * math.pi * 3 * t))
            sf.write(root / kind / f"{i}.wav", tone.numpy(), 16000)
            items.append({"path": f"{kind}/{i}.wav", "kind": kind, "split": split, "duration": 0.75, "params": {}})
    (root / "manifest.json").write_text(json.dumps({"format": "earshot-corpus", "sample_rate": 16000, "items": items}))
    return root


def tiny_config(name: str, data: dict, **extra):
    recipe = get_recipe(name)
    items = {**QUIET, **TINY[name], **extra}
    items = {k: str(v).format(**data) for k, v in items.items()}
    return build_config(name, recipe.config_class, train_defaults=recipe.train_defaults, overrides=items)


def initial_models(cfg, run_dir) -> dict[str, dict[str, torch.Tensor]]:
    """The weights the engine starts from (it seeds with train.seed before build_models)."""
    torch.manual_seed(cfg.train.seed)
    models = get_recipe(cfg.recipe_name)(cfg.recipe, cfg.train, run_dir).build_models()
    return {k: {n: p.detach().clone() for n, p in m.named_parameters() if p.requires_grad} for k, m in models.items()}


def check_trained(result, before, run_dir, steps: int = 2):
    with open(run_dir / "metrics.csv") as f:
        losses = [float(r["value"]) for r in csv.DictReader(f) if r["split"] == "train" and r["name"] == "loss"]
    assert len(losses) == steps and all(math.isfinite(v) for v in losses)
    for key, params in before.items():
        if not params:
            continue
        after = dict(result.models[key].named_parameters())
        assert all(after[n].dtype == torch.float32 for n in params)              # float32 master weights
        assert any(not torch.equal(after[n].detach().cpu(), p.cpu()) for n, p in params.items()), f"{key} did not change"


def test_every_registered_recipe_has_a_tiny_setting():
    shipped = {name for name in discover_recipes() if get_recipe(name).__module__.startswith("earshot.train.recipes.")}
    assert set(TINY) == shipped  # recipes registered by users (or by docs examples) are theirs


@pytest.mark.parametrize("name", sorted(TINY))
def test_recipe_trains_in_bf16_mixed(name, data, tmp_path):
    cfg = tiny_config(name, data)
    before = initial_models(cfg, tmp_path / "init")
    result = train(cfg, tmp_path / "run")
    assert result.step == 2
    check_trained(result, before, tmp_path / "run")


def test_gradient_balancer_under_bf16_mixed(data, tmp_path):
    cfg = tiny_config("toy", data, **{"train.balancer": "true", "train.loss_weights.mse": 1.0})
    before = initial_models(cfg, tmp_path / "init")
    result = train(cfg, tmp_path / "run")
    check_trained(result, before, tmp_path / "run")
    with open(tmp_path / "run" / "metrics.csv") as f:
        norms = [float(r["value"]) for r in csv.DictReader(f) if r["name"] == "grad_norm/mse"]
    assert len(norms) == 2 and all(v > 0 and math.isfinite(v) for v in norms)


@pytest.mark.slow
def test_compiled_training_checkpoints_plain_keys(data, tmp_path):
    from earshot.train.checkpoint import latest_checkpoint

    cfg = tiny_config("toy", data, **{"train.compile": "true", "train.precision": "32-true"})
    eager = train(tiny_config("toy", data, **{"train.precision": "32-true"}), tmp_path / "eager")
    compiled = train(cfg, tmp_path / "run")
    saved = latest_checkpoint(tmp_path / "run")[1]["models"]["model"]
    assert saved.keys() == eager.models["model"].state_dict().keys()
    assert not any("_orig_mod" in k or k.startswith("module.") for k in saved)
    for k, v in eager.models["model"].state_dict().items():
        assert torch.allclose(saved[k], v, atol=1e-5), k
    resumed = train(apply_overrides(cfg, {"train.steps": "3"}), tmp_path / "run", resume=True)
    assert resumed.step == 3
