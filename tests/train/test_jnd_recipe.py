"""Recipe `jnd`: trains on generated judgments, exports with a manifest saying they are simulated,
fine-tunes from the exported weights; the exported net loads into JNDLoss."""

from __future__ import annotations

import json
import math

import pytest
import torch

from earshot.data.jnd import WalkConfig, make_jnd_pairs
from earshot.losses.jnd import JNDLoss
from earshot.train.config import build_config
from earshot.train.engine import train
from earshot.train.export import export_run
from earshot.train.recipe import StepContext, get_recipe

SR = 16000
TINY = {"recipe.layers": "6", "recipe.widths": "[8, 16]", "recipe.n_mels": "16", "recipe.spec_layers": "1",
        "recipe.spec_channels": "8", "train.progress": "false", "train.tensorboard": "false",
        "train.accelerator": "cpu", "train.val_every": "0", "train.ckpt_every": "0", "train.num_examples": "0",
        "train.batch_size": "4"}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("jnd-pairs")
    t = torch.arange(SR // 4) / SR
    clips = [(0.2 * torch.sin(2 * math.pi * f * t))[None] for f in (200.0, 330.0)]
    cfg = WalkConfig(perturbations=("white", "lowpass"), n_levels=16)
    for split, seed in (("train", 0), ("valid", 1)):
        make_jnd_pairs(root / split, source=clips, n_walks=3, n_trials=4, seconds=0.25, seed=seed,
                       walk_config=cfg, progress=False)
    return root


def _config(**overrides):
    recipe = get_recipe("jnd")
    items = dict(TINY)
    items.update(overrides)
    return build_config("jnd", recipe.config_class, train_defaults=recipe.train_defaults, overrides=items)


def test_trains_exports_and_fine_tunes(pairs, tmp_path):
    cfg = _config(**{"train.steps": "3", "recipe.pairs": str(pairs / "train"), "recipe.valid_pairs": str(pairs / "valid")})
    result = train(cfg, tmp_path / "run")
    assert result.step == 3 and 0.0 <= result.metrics["accuracy"] <= 1.0
    manifest_path = export_run(tmp_path / "run", "jnd-test", out_dir=tmp_path / "weights")
    manifest = json.loads(manifest_path.read_text())
    assert "SIMULATED listener" in manifest["data"] and "NOT human data" in manifest["data"]
    assert manifest["class"] == "earshot.models.jndnet:JNDNet" and manifest["kwargs"]["layers"] == 6

    loss = JNDLoss(SR, weights=str(manifest_path))
    x = 0.1 * torch.randn(1, 1, 4000)
    assert float(loss(x, x)) == 0.0 and float(loss(x + 0.05 * torch.randn_like(x), x)) > 0

    tuned = _config(**{"train.steps": "2", "recipe.pairs": str(pairs / "train"), "recipe.init": str(manifest_path)})
    recipe = get_recipe("jnd")(tuned.recipe, tuned.train)
    net = recipe.build_models()["model"]
    assert net.training and all(p.requires_grad for p in net.parameters())
    for (name, a), b in zip(net.state_dict().items(), loss.net.state_dict().values()):
        assert torch.equal(a, b), name  # fine-tuning starts from the shipped weights
    assert "fine-tuned from" in recipe.describe_data()
    assert recipe.export({"model": net}).kwargs == manifest["kwargs"]


def test_antialiased_network_trains_exports_and_loads_into_the_loss(pairs, tmp_path):
    cfg = _config(**{"train.steps": "2", "recipe.pairs": str(pairs / "train"), "recipe.antialias": "true"})
    train(cfg, tmp_path / "run")
    manifest_path = export_run(tmp_path / "run", "jnd-aa-test", out_dir=tmp_path / "weights")
    assert json.loads(manifest_path.read_text())["kwargs"]["antialias"] is True
    loss = JNDLoss(SR, weights=str(manifest_path))
    assert sum(type(m).__name__ == "_Blur" for m in loss.net.modules()) == 6
    x = 0.1 * torch.randn(1, 1, 4000)
    assert float(loss(x, x)) == 0.0 and float(loss(x + 0.05 * torch.randn_like(x), x)) > 0


def test_generated_walks_draw_only_the_chosen_perturbations(tmp_path):
    from earshot.data.corpus import build_corpus

    corpus = build_corpus(tmp_path / "corpus", minutes=0.04, seed=3, progress=False).parent
    cfg = _config(**{"recipe.corpus": str(corpus), "recipe.generate_walks": "2", "recipe.generate_trials": "2",
                     "recipe.seconds": "0.25", "recipe.perturbations": "[smear, denoised]"})
    recipe = get_recipe("jnd")(cfg.recipe, cfg.train)
    recipe.run_dir = tmp_path / "run"
    train_set, valid_set = recipe.datasets()
    assert len(train_set) == 4 and len(valid_set) == 16  # 2 walks x 2 trials; valid: at least 8 walks
    names = {n for f in (tmp_path / "run" / "pairs").glob("*/shard-*.json")
             for w in json.loads(f.read_text())["walks"] for n in w["walk"]["names"]}
    assert names and names <= {"smear", "denoised"}


def test_trains_from_dpam_style_list_files(tmp_path):
    from earshot.audio.io import save

    t = torch.arange(SR // 2) / SR
    clean = (0.2 * torch.sin(2 * math.pi * 250 * t))[None]
    lines = []
    for i, amp in enumerate((0.0, 1e-4, 0.05, 0.2)):
        save(tmp_path / f"ref{i}.wav", clean, SR)
        save(tmp_path / f"test{i}.wav", (clean + amp * torch.randn_like(clean)).clamp(-1, 1), SR)
        lines.append(f"ref{i}.wav\ttest{i}.wav\t{int(amp > 0.01)}\twhite")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    cfg = _config(**{"recipe.lists": str(tmp_path / "list.txt"), "recipe.seconds": "0.25", "recipe.valid_fraction": "0.25"})
    recipe = get_recipe("jnd")(cfg.recipe, cfg.train)
    train_set, valid_set = recipe.datasets()
    assert len(train_set) == 3 and len(valid_set) == 1
    batch = recipe.collate([train_set[i] for i in range(3)])
    assert batch["reference"].shape == batch["test"].shape == (3, 1, SR // 4)
    labels = {float(train_set[i]["label"]) for i in range(3)} | {float(valid_set[0]["label"])}
    assert labels == {0.0, 1.0}
    models = recipe.build_models()
    terms = recipe.training_step(models, batch, StepContext(step=0, total_steps=1, device=torch.device("cpu")))
    terms["bce"].backward()
    assert torch.isfinite(terms["bce"]) and models["model"].head_bias.grad is not None
    assert "list files" in recipe.describe_data()
