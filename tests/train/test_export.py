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


def _copy(out, tmp_path):
    for f in out.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "toy-test.json"


@pytest.mark.parametrize("edit", [{"sample_rate": 16000}, {"kwargs": {"channels": 8, "layers": 3, "kernel_size": 7}}])
def test_an_edited_manifest_is_refused(exported, tmp_path, capsys, edit):
    path = _copy(exported[1], tmp_path)
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | edit))
    with pytest.raises(WeightsError, match="were edited"):
        load_pretrained("toy-test", root=tmp_path)
    assert main(["weights", "--root", str(tmp_path), "verify"]) == 1
    assert "FAILED  toy-test" in capsys.readouterr().out


def test_replaced_weights_with_an_updated_file_hash_are_refused(exported, tmp_path):
    from earshot.weights.hub import sha256_file

    path = _copy(exported[1], tmp_path)
    weights = tmp_path / "toy-test.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01
    weights.write_bytes(bytes(data))
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"weights_sha256": sha256_file(weights)}))   # the signature is not redone
    with pytest.raises(WeightsError, match="were edited"):
        load_pretrained("toy-test", root=tmp_path)


def test_signature_covers_the_weights_hash_and_the_signed_fields(exported):
    import hashlib

    manifest = pretrained_info("toy-test", root=exported[1])
    meaning = json.dumps({k: manifest[k] for k in ("class", "kwargs", "sample_rate")}, sort_keys=True,
                         separators=(",", ":"))
    text = f"earshot-weights/2\n{manifest['weights_sha256']}\n{meaning}"
    assert manifest["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_a_format_1_manifest_loads_with_a_warning_and_can_be_re_signed(exported, tmp_path):
    from earshot.weights.hub import sign_manifest

    path = _copy(exported[1], tmp_path)
    manifest = json.loads(path.read_text())
    old = {k: v for k, v in manifest.items() if k != "weights_sha256"}
    path.write_text(json.dumps(old | {"format": "earshot-weights/1", "sha256": manifest["weights_sha256"]}))
    with pytest.warns(UserWarning, match="unsigned format-1"):
        load_pretrained("toy-test", root=tmp_path)
    sign_manifest("toy-test", root=tmp_path)
    assert pretrained_info("toy-test", root=tmp_path)["sha256"] == manifest["sha256"]


def test_load_pretrained_on_a_device(exported):
    model = load_pretrained("toy-test", root=exported[1], device="cpu")
    assert {p.device for p in model.parameters()} == {torch.device("cpu")}
    model = load_pretrained("toy-test", root=exported[1], device=torch.device("cpu"))
    assert not model.training
    with pytest.raises(ConfigError, match="not a torch device"):
        load_pretrained("toy-test", root=exported[1], device="gpu7")


def test_manifest_paths_are_relative(tmp_path, monkeypatch):
    from earshot.models.toy import ToyDenoiser

    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "data" / "corpus"
    config = {"recipe": {"corpus": str(corpus), "kinds": ["speech"], "seconds": 1.0}}
    path = save_pretrained(ToyDenoiser(channels=2, layers=1), "rel", kwargs={"channels": 2, "layers": 1},
                           sample_rate=8000, data=f"speech from {corpus} (train split)", config=config,
                           out_dir=tmp_path / "w")
    manifest = json.loads(path.read_text())
    assert manifest["config"]["recipe"] == {"corpus": "data/corpus", "kinds": ["speech"], "seconds": 1.0}
    assert manifest["data"] == "speech from data/corpus (train split)"
    assert str(tmp_path) not in path.read_text()
