"""`scripts/train_shipped.sh smoke`: every shipped model trains a few steps, exports and is packed."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_plan_names_every_shipped_weight_and_its_layers_exist():
    from earshot.weights import list_pretrained

    plan = yaml.safe_load((ROOT / "configs/shipped/plan.yaml").read_text())
    assert set(list_pretrained()) <= set(plan["models"])
    for name, entry in plan["models"].items():
        for budget in ("gpu", "cpu", "smoke"):
            assert entry["minutes"][budget] > 0, name
            for layer in entry["layers"][budget]:
                assert (ROOT / "configs/shipped" / layer).is_file(), (name, layer)
    # the gpu set runs at once within about 5 minutes of wall time
    assert max(e["minutes"]["gpu"] for e in plan["models"].values()) <= 4.0
    assert sum(e["minutes"]["cpu"] for e in plan["models"].values()) <= 125


@pytest.mark.slow
def test_smoke_budget_end_to_end(tmp_path):
    from earshot.data.corpus import build_corpus
    from earshot.weights import load_pretrained

    corpus = tmp_path / "corpus"
    build_corpus(corpus, minutes=3.0, seed=0, progress=False)   # >= 3 music files per split group
    env = {**os.environ, "EARSHOT_CORPUS": str(corpus), "OMP_NUM_THREADS": "1", "PYTHON": sys.executable}
    out, tar_path = tmp_path / "shipped", tmp_path / "pack" / "weights.tar"
    proc = subprocess.run(["bash", str(ROOT / "scripts/train_shipped.sh"), "smoke", str(out), "--tar", str(tar_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    plan = yaml.safe_load((ROOT / "configs/shipped/plan.yaml").read_text())
    assert {r["name"] for r in summary["models"]} == set(plan["models"])
    for row in summary["models"]:
        assert row["status"] == "ok" and row["steps"] == 3, row
        manifest = json.loads((out / "weights" / f"{row['name']}.json").read_text())
        assert manifest["config"]["shipped"]["budget"] == "smoke"
        assert "speech: synthetic" in manifest["config"]["shipped"]["corpus_summary"]   # kinds and origins
        model = load_pretrained(row["name"], root=out / "weights")   # sha256 checked, float16 -> float32
        assert all(p.dtype == next(model.parameters()).dtype for p in model.parameters())
    codec = load_pretrained("codec-16k", root=out / "weights")
    assert codec.pretrained_manifest["kwargs"]["decoder"] == "istft"
    with tarfile.open(tar_path) as tar:
        names = tar.getnames()
    assert f"{out.name}/weights/codec-16k.safetensors" in names and f"{out.name}/summary.json" in names
    assert "codec-16k" in proc.stdout and "total wall time" in proc.stdout
