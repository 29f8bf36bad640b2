"""`earshot train` from the command line (in-process): list, print-config, errors, train + resume."""

from __future__ import annotations

import yaml

from earshot.cli.main import main
from earshot.train.checkpoint import list_checkpoints

QUIET = ["train.progress=false", "train.tensorboard=false", "train.num_examples=0", "train.val_every=0",
         "recipe.train_items=32", "recipe.valid_items=8"]


def test_list_and_print_config(capsys):
    assert main(["train", "--list"]) == 0
    assert "toy " in capsys.readouterr().out
    assert main(["train", "toy", "--print-config", "train.steps=7", "recipe.channels=3"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["recipe_name"] == "toy" and cfg["train"]["steps"] == 7 and cfg["recipe"]["channels"] == 3


def test_errors_are_reported(capsys):
    assert main(["train", "toy", "train.stpes=3"]) == 2
    assert "did you mean train.steps" in capsys.readouterr().err
    assert main(["train", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
    assert main(["train"]) == 2


def test_train_then_resume(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "toy", "--run-dir", str(run), "train.steps=2", *QUIET]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["steps"] == 2 and saved["recipe"]["train_items"] == 32
    assert main(["train", "--resume", str(run), "train.steps=4"]) == 0
    assert [s for s, _ in list_checkpoints(run)] == [2, 4]
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"] == 4
    assert main(["train", "toy", "--run-dir", str(run), *QUIET]) == 2         # never over a run
    assert "--resume" in capsys.readouterr().err


def test_device_option_sets_the_accelerator(capsys):
    assert main(["train", "toy", "--print-config", "--device", "cpu"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["train"]["accelerator"] == "cpu" and cfg["train"]["num_workers"] == -1 and cfg["train"]["max_minutes"] == 0
    assert main(["train", "toy", "--device", "cuda", "train.accelerator=cpu", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["train"]["accelerator"] == "cpu"   # an explicit key wins
