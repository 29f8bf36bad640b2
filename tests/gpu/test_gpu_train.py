"""The training engine on CUDA: every recipe in bf16-mixed and 16-mixed (GradScaler), the
GradientBalancer under loss scaling, torch.compile, auto DataLoader workers with pinned
memory, profiling, and load_pretrained(device="cuda") (issue 16). Skipped without CUDA.

    python -m pytest tests/gpu/test_gpu_train.py -q
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from test_train_precision import TINY, check_trained, data, initial_models, tiny_config  # noqa: E402,F401

from earshot.train.engine import train  # noqa: E402
from earshot.train.recipe import get_recipe  # noqa: E402

pytestmark = pytest.mark.gpu
CUDA = {"train.accelerator": "cuda"}


def _series(run_dir, name):
    with open(run_dir / "metrics.csv") as f:
        return [float(r["value"]) for r in csv.DictReader(f) if r["split"] == "train" and r["name"] == name]


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
@pytest.mark.parametrize("name", sorted(TINY))
def test_recipe_trains_on_cuda(name, precision, data, tmp_path):
    steps = 2 if precision == "bf16-mixed" else 8   # the GradScaler may skip its first steps (overflow at 2**16)
    cfg = tiny_config(name, data, **CUDA, **{"train.precision": precision, "train.steps": steps})
    before = initial_models(cfg, tmp_path / "init")
    result = train(cfg, tmp_path / "run")
    assert result.step == steps
    assert {p.device.type for m in result.models.values() for p in m.parameters()} == {"cuda"}
    check_trained(result, before, tmp_path / "run", steps)


def test_gradient_balancer_under_loss_scaling_gives_float32_sized_gradients(data, tmp_path):
    # grad_norm is measured after Fabric unscales; had the balancer's backward bypassed the
    # GradScaler, the unscaled gradients would be 2**16 times too small
    extra = {**CUDA, "train.balancer": "true", "train.loss_weights.mse": 1.0, "train.steps": 6,
             "train.grad_clip": 1e6}
    norms = {}
    for precision in ("32-true", "16-mixed"):
        train(tiny_config("toy", data, **extra, **{"train.precision": precision}), tmp_path / precision)
        norms[precision] = [v for v in _series(tmp_path / precision, "grad_norm") if math.isfinite(v)]
    assert norms["16-mixed"], "every 16-mixed step overflowed"
    ratio = norms["16-mixed"][0] / norms["32-true"][0]
    assert 0.3 < ratio < 3.0
    assert all(v > 0 for v in _series(tmp_path / "16-mixed", "grad_norm/mse"))


@pytest.mark.parametrize("name", ["toy", "separator", "codec"])   # plain, GAN with gradient penalty, GAN
def test_compiled_bf16_training_on_cuda(name, data, tmp_path):
    from earshot.train.checkpoint import latest_checkpoint

    cfg = tiny_config(name, data, **CUDA, **{"train.compile": "true", "train.steps": 3})
    before = initial_models(cfg, tmp_path / "init")
    result = train(cfg, tmp_path / "run")
    assert result.step == 3 and len(_series(tmp_path / "run", "loss")) == 3
    main = "generator" if "generator" in result.models else "model"
    saved = latest_checkpoint(tmp_path / "run")[1]["models"][main]
    plain = get_recipe(name)(cfg.recipe, cfg.train).build_models()[main].state_dict()
    assert saved.keys() == plain.keys()                   # no _orig_mod. / module. prefixes
    assert any(not torch.equal(saved[k], before[main][k]) for k in before[main])


def test_auto_workers_pinned_memory_and_profile_on_cuda(data, tmp_path):
    from earshot.train.data import auto_workers

    assert auto_workers(-1, "cuda") >= 1 and auto_workers(-1, "cpu") == 0
    cfg = tiny_config("toy", data, **CUDA, **{"train.profile": "true", "train.steps": 6,
                                               "recipe.train_items": 64})
    assert cfg.train.num_workers == -1                    # auto: the engine picks workers on CUDA
    train(cfg, tmp_path / "run")
    step, wait = _series(tmp_path / "run", "time/step"), _series(tmp_path / "run", "time/data")
    assert len(step) == 6 and all(0 <= w <= s for w, s in zip(wait, step))


def test_load_pretrained_on_cuda():
    from earshot.weights import load_pretrained

    cpu = load_pretrained("style-ae")
    gpu = load_pretrained("style-ae", device="cuda")
    assert {p.device.type for p in gpu.parameters()} == {"cuda"} and not gpu.training
    for k, v in cpu.state_dict().items():
        assert torch.equal(v, gpu.state_dict()[k].cpu()), k
