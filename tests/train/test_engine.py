"""The training loop on CPU: learning, exact resume, GAN mode, accumulation, logging."""

from __future__ import annotations

import csv

import pytest
import torch

from earshot.errors import ConfigError
from earshot.train.checkpoint import latest_checkpoint, list_checkpoints
from earshot.train.engine import train


def _rows(run_dir, split=None, name=None):
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    return [(int(r["step"]), float(r["value"])) for r in rows
            if (split is None or r["split"] == split) and (name is None or r["name"] == name)]


def _state(run_dir):
    return latest_checkpoint(run_dir)[1]


def _equal_states(a, b):
    return all(torch.equal(a[k], b[k]) for k in a) and a.keys() == b.keys()


def test_tiny_model_learns(toy_run):
    run_dir, result = toy_run
    assert result.step == 40 and not result.interrupted
    l1 = _rows(run_dir, "valid", "l1")
    assert [s for s, _ in l1] == [10, 20, 30, 40]
    assert l1[-1][1] < 0.85 * l1[0][1]            # validation loss falls
    sdr = dict(_rows(run_dir, "valid", "si_sdr"))
    sdr_in = dict(_rows(run_dir, "valid", "si_sdr_input"))
    assert sdr[40] > sdr_in[40] + 3.0                # it denoises: > 3 dB SI-SDR gain
    assert result.metrics["l1"] == pytest.approx(l1[-1][1], rel=1e-6)
    train_steps = [s for s, _ in _rows(run_dir, "train", "l1")]
    assert train_steps == list(range(5, 41, 5))


def test_run_directory_contents(toy_run):
    run_dir, _ = toy_run
    assert (run_dir / "config.yaml").is_file()
    assert [s for s, _ in list_checkpoints(run_dir)] == [20, 40]
    examples = run_dir / "examples" / "step-00000040"
    assert {p.name for p in examples.iterdir()} >= {"0_noisy.wav", "0_estimate.wav", "0_clean.png"}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "audio": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    assert "valid/l1" in tags["scalars"] and "train/loss" in tags["scalars"]
    assert "audio/0/estimate" in tags["audio"] and "spectrogram/0/estimate" in tags["images"]
    assert [e.step for e in acc.Scalars("valid/si_sdr")] == [10, 20, 30, 40]
    state = _state(run_dir)
    assert state["ema"] is not None and state["step"] == 40
    # the checkpoint is plain data: weights_only loading (done by load_checkpoint) succeeded


@pytest.mark.parametrize("extra", [
    {},
    {"recipe__adversarial": "true", "train__adversary_start": 3, "train__disc_steps": 2},
], ids=["plain", "gan"])
def test_resume_is_exact(tmp_path, toy_config, extra):
    cfg = toy_config(train__steps=14, train__schedule="cosine", train__warmup_steps=3, train__ema_decay=0.9,
                     train__accumulate=2, train__grad_clip=0.5, train__val_every=7, train__batch_size=4,
                     recipe__train_items=20, **extra)
    a = train(cfg, tmp_path / "a")
    train(cfg, tmp_path / "b", stop_after=7)
    assert [s for s, _ in list_checkpoints(tmp_path / "b")] == [7]
    b = train(cfg, tmp_path / "b", resume=True)
    sa, sb = _state(tmp_path / "a"), _state(tmp_path / "b")
    for key in sa["models"]:
        assert _equal_states(sa["models"][key], sb["models"][key]), key
    assert _equal_states(sa["ema"], sb["ema"])
    for key in sa["optimizers"]:
        ta, tb = sa["optimizers"][key]["state"], sb["optimizers"][key]["state"]
        assert all(_equal_states(ta[i], tb[i]) for i in ta)
    assert sa["data"] == sb["data"] and sa["schedulers"] == sb["schedulers"]
    assert a.metrics == b.metrics
    # 14 steps x 2 micro-batches (+ discriminator batches) over 5 batches per epoch
    assert sa["data"]["epoch"] >= 5


def test_resume_follows_a_changed_schedule(tmp_path, toy_config):
    """Resuming with more steps and another LR continues on the new cosine, not the saved one."""
    import math

    train(toy_config(train__steps=6, train__schedule="cosine", train__lr=1e-3, train__log_every=1), tmp_path / "r")
    longer = toy_config(train__steps=12, train__schedule="cosine", train__lr=2e-3, train__log_every=1)
    train(longer, tmp_path / "r", resume=True)
    lr = dict(_rows(tmp_path / "r", "train", "lr"))
    assert lr[6] == pytest.approx(0.0, abs=1e-12)  # the first run decayed to zero
    for step in range(7, 13):  # logged after the update of `step`: the factor for the next one
        assert lr[step] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * step / 12)), rel=1e-6), step


def test_gan_mode_alternation(tmp_path, toy_config):
    cfg = toy_config(recipe__adversarial="true", train__steps=6, train__adversary_start=2, train__disc_steps=3,
                     train__log_every=1, train__disc_lr=1e-4)
    result = train(cfg, tmp_path / "gan")
    state = _state(tmp_path / "gan")
    d_steps = {int(s["step"]) for s in state["optimizers"]["discriminator"]["state"].values()}
    g_steps = {int(s["step"]) for s in state["optimizers"]["generator"]["state"].values()}
    assert d_steps == {3 * (6 - 2)} and g_steps == {6}
    assert [s for s, _ in _rows(tmp_path / "gan", "train", "adv")] == [3, 4, 5, 6]   # none during warm-up
    assert [s for s, _ in _rows(tmp_path / "gan", "train", "disc/hinge")] == [3, 4, 5, 6]
    assert state["optimizers"]["discriminator"]["param_groups"][0]["lr"] == pytest.approx(1e-4)
    assert set(result.models) == {"generator", "discriminator"}


def test_accumulation_matches_a_larger_batch(tmp_path, toy_config):
    big = train(toy_config(train__steps=4, train__batch_size=8), tmp_path / "big")
    acc = train(toy_config(train__steps=4, train__batch_size=4, train__accumulate=2), tmp_path / "acc")
    for (k, p), q in zip(big.models["model"].state_dict().items(), acc.models["model"].state_dict().values()):
        assert torch.allclose(p, q, atol=1e-6), k


def test_loss_weights(tmp_path, toy_config):
    result = train(toy_config(train__steps=2, train__log_every=1, train__loss_weights__mse=0.5), tmp_path / "w")
    rows = {(s, n): v for n in ("l1", "mse", "loss") for s, v in _rows(tmp_path / "w", "train", n)}
    for step in (1, 2):
        assert rows[(step, "loss")] == pytest.approx(rows[(step, "l1")] + 0.5 * rows[(step, "mse")], rel=1e-5)
    assert result.step == 2
    with pytest.raises(ConfigError, match=r"loss_weights names \['typo'\]"):
        train(toy_config(train__steps=2, train__loss_weights__typo=1), tmp_path / "typo")
    with pytest.raises(ConfigError, match="weight 0"):
        train(toy_config(train__steps=2, train__loss_weights__l1=0), tmp_path / "zero")


def test_gradient_balancer_trains(tmp_path, toy_config):
    result = train(toy_config(train__steps=12, train__balancer="true", train__val_every=12, train__log_every=4,
                              train__loss_weights__mse=1.0), tmp_path / "bal")
    assert result.metrics["si_sdr"] > result.metrics["si_sdr_input"]
    norms = _rows(tmp_path / "bal", "train", "grad_norm/l1")
    assert len(norms) == 3 and all(v > 0 for _, v in norms)


def test_refuses_to_overwrite_a_run(tmp_path, toy_config):
    cfg = toy_config(train__steps=1)
    train(cfg, tmp_path / "r")
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg, tmp_path / "r")
    with pytest.raises(ConfigError, match="no loadable checkpoint"):
        train(cfg, tmp_path / "empty", resume=True)


def test_bf16_mixed_precision_on_cpu(tmp_path, toy_config):
    fp32 = train(toy_config(train__steps=6, train__val_every=6), tmp_path / "fp32")
    bf16 = train(toy_config(train__steps=6, train__val_every=6, train__precision="bf16-mixed"), tmp_path / "bf16")
    w32, w16 = fp32.models["model"].net[0].weight, bf16.models["model"].net[0].weight
    assert w16.dtype == torch.float32                        # master weights stay float32
    assert not torch.equal(w32, w16)                         # the forward really ran in bfloat16
    assert torch.allclose(w32, w16, atol=0.02)
    assert bf16.metrics["l1"] == pytest.approx(fp32.metrics["l1"], rel=0.1)
    with pytest.raises(ConfigError, match="16-mixed needs a GPU"):
        train(toy_config(train__steps=1, train__precision="16-mixed"), tmp_path / "fp16")


def test_max_minutes_stops_cleanly_with_validation_and_checkpoint(tmp_path, toy_config):
    # a budget of about 6 microseconds: every step takes longer, so the run ends after its first
    cfg = toy_config(train__steps=50, train__max_minutes=1e-7, train__schedule="cosine", train__log_every=10)
    result = train(cfg, tmp_path / "run")
    assert result.step == 1 and result.timed_out and not result.interrupted
    assert [s for s, _ in list_checkpoints(tmp_path / "run")] == [1]
    assert [s for s, _ in _rows(tmp_path / "run", "valid", "l1")] == [1]   # the final validation ran
    assert [s for s, _ in _rows(tmp_path / "run", "train", "l1")] == [1]   # the last logs were flushed
    lr = _rows(tmp_path / "run", "train", "lr")[0][1]
    assert 0.99 * cfg.train.lr < lr < cfg.train.lr   # cosine over train.steps=50, barely begun
