"""Export a run, load it back with load_pretrained; sha256 and class checks refuse bad files."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from earshot.cli.main import main
from earshot.errors import ConfigError, WeightsError
from earshot.train.checkpoint import latest_checkpoint
from earshot.weights import list_pretrained, load_pretrained, pretrained_info, save_pretrained


@pytest.fixture(scope="module")
def exported(toy_run, tmp_path_factory):
    run_dir, _ = toy_run
    out = tmp_path_factory.mktemp("weights")
    assert main(["export", str(run_dir), "--name", "toy-test", "--out", str(out)]) == 0
    return run_dir, out


def test_round_trip(exported):
    run_dir, out = exported
    model = load_pretrained("toy-test", root=out)
    state = latest_checkpoint(run_dir)[1]
    assert not model.training and type(model).__module__ == "earshot.models.toy"
    for k, v in model.state_dict().items():           # the EMA weights were exported
        assert torch.equal(v, state["ema"][k]), k
    assert not torch.equal(state["ema"]["net.0.weight"], state["models"]["model"]["net.0.weight"])
    manifest = pretrained_info("toy-test", root=out)
    assert manifest["class"] == "earshot.models.toy:ToyDenoiser"
    assert manifest["kwargs"] == {"channels": 8, "layers": 3, "kernel_size": 9}
    assert manifest["sample_rate"] == 8000 and manifest["recipe"] == "toy"
    assert manifest["config"]["train"]["steps"] == 40
    assert manifest["metrics"]["si_sdr"] == pytest.approx(state["metrics"]["si_sdr"])
    assert "sines" in manifest["data"]
    assert list_pretrained(out) == ["toy-test"]
    x = torch.randn(2, 1, 400, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = type(model)(**manifest["kwargs"])
        reference.load_state_dict(state["ema"])
        assert torch.equal(model(x), reference(x))


def test_sha256_mismatch_is_refused(exported, tmp_path, capsys):
    _, out = exported
    for f in out.iterdir():
        shutil.copy(f, tmp_path / f.name)
    weights = tmp_path / "toy-test.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01                                     # one flipped bit in a weight
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 .* does not match"):
        load_pretrained("toy-test", root=tmp_path)
    assert main(["weights", "--root", str(tmp_path), "verify"]) == 1
    assert "FAILED  toy-test" in capsys.readouterr().out
    assert main(["weights", "--root", str(out), "verify"]) == 0


def test_foreign_class_is_refused(exported, tmp_path):
    _, out = exported
    for f in out.iterdir():
        shutil.copy(f, tmp_path / f.name)
    manifest = json.loads((tmp_path / "toy-test.json").read_text())
    for bad in ("os:system", "earshot.train.engine:Trainer", "earshot.models.toy:ToyDenoiser;import os"):
        (tmp_path / "toy-test.json").write_text(json.dumps(manifest | {"class": bad}))
        with pytest.raises(WeightsError, match="refusing to import"):
            load_pretrained("toy-test", root=tmp_path)


def test_unknown_name_and_overwrite(exported, toy_run):
    run_dir, out = exported
    with pytest.raises(WeightsError, match="available: toy-test"):
        load_pretrained("nope", root=out)
    assert main(["export", str(run_dir), "--name", "toy-test", "--out", str(out)]) == 2   # exists
    with pytest.raises(ConfigError, match="letters, digits"):
        save_pretrained(torch.nn.Linear(1, 1), "../evil", kwargs={}, sample_rate=8000, out_dir=out)
    with pytest.raises(WeightsError, match="not in earshot.models"):
        save_pretrained(torch.nn.Linear(1, 1), "lin", kwargs={}, sample_rate=8000, out_dir=out)


def test_weights_cli_info(exported, capsys):
    _, out = exported
    assert main(["weights", "--root", str(out), "info", "toy-test"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "toy-test" and len(info["sha256"]) == 64
    assert main(["weights", "--root", str(out), "list"]) == 0
    assert "earshot.models.toy:ToyDenoiser" in capsys.readouterr().out
