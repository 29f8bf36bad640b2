"""`earshot experiment codec-losses` end to end on a tiny corpus: two variants, two seeds, a few steps."""

from __future__ import annotations

import json
import math

import pytest

from earshot.cli.main import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from earshot.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("codec-corpus") / "c"
    build_corpus(root, minutes=0.04, seed=3, progress=False)
    return root


def test_codec_recipe_with_and_without_the_jnd_term(corpus, tmp_path):
    out = tmp_path / "codec"
    code = main(["experiment", "codec-losses", "--corpus", str(corpus), "--out", str(out), "--variants", "none,jnd",
                 "--steps", "2", "--batch-size", "2", "--quantizer-warmup", "1", "--seeds", "2", "--test-files", "1",
                 "--test-seconds", "1", "--metrics", "si_sdr,mel_distance"])
    assert code == 0
    results = json.loads((out / "metrics.json").read_text())
    assert results["seeds"] == [0, 1] and results["baseline"] == "none"
    summary = results["summary"]["synthetic"]
    assert {"none", "jnd"} == set(summary) and math.isfinite(summary["jnd"]["mel_distance"]["mean"])
    assert "p" in summary["jnd"]["si_sdr"] and "p" not in summary["none"]["si_sdr"]
    import yaml

    assert yaml.safe_load((out / "runs" / "jnd" / "config.yaml").read_text())["recipe"]["extra_loss"] == "jnd"
    assert yaml.safe_load((out / "runs" / "none-seed1" / "config.yaml").read_text())["train"]["seed"] == 1
    assert "| + JNDLoss |" in (out / "results.md").read_text()


def test_fine_tuning_from_the_shipped_codec(corpus, tmp_path):
    import yaml

    out = tmp_path / "codec-ft"
    code = main(["experiment", "codec-losses", "--corpus", str(corpus), "--out", str(out), "--variants", "none",
                 "--init", "codec-16k", "--lr", "1e-4", "--steps", "1", "--batch-size", "2", "--seeds", "1",
                 "--test-files", "1", "--test-seconds", "1", "--metrics", "mel_distance"])
    assert code == 0
    config = yaml.safe_load((out / "runs" / "none" / "config.yaml").read_text())
    assert config["recipe"]["init"] == "codec-16k" and config["recipe"]["quantizer_warmup"] == 0
    assert config["train"]["lr"] == 1e-4
    assert "fine-tuned from codec-16k" in (out / "results.md").read_text()
    # one step at a small rate leaves the shipped codec's quality: far better than an untrained one
    assert json.loads((out / "metrics.json").read_text())["summary"]["synthetic"]["none"]["mel_distance"]["mean"] < 3
