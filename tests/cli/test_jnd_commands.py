"""`earshot experiment denoising` and `earshot eval jnd` end to end on a tiny real corpus."""

from __future__ import annotations

import json
import math

import pytest
import torch

from earshot.cli.main import main
from earshot.models.jndnet import JNDNet
from earshot.weights import save_pretrained

TINY_NET = dict(layers=6, widths=[8, 16], n_mels=16, spec_layers=1, spec_channels=8)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from earshot.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("jnd-corpus") / "c"
    build_corpus(root, minutes=0.04, seed=3, progress=False)
    return root


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    net = JNDNet(**TINY_NET).eval()
    return save_pretrained(net, "jnd-tiny", kwargs=TINY_NET, sample_rate=16000, out_dir=tmp_path_factory.mktemp("w"),
                           data="untrained test network")


def test_denoising_experiment_writes_a_table(corpus, weights, tmp_path):
    out = tmp_path / "den"
    code = main(["experiment", "denoising", "--corpus", str(corpus), "--out", str(out), "--steps", "2",
                 "--batch-size", "2", "--losses", "l1+jnd", "--jnd-weights", str(weights), "--test-items", "2",
                 "--test-seconds", "1.0", "--seconds", "0.5", "--seeds", "1", "--metrics", "pesq,stoi,si_sdr,jnd"])
    assert code == 0
    results = json.loads((out / "metrics.json").read_text())
    assert (out / "report.html").exists()
    assert results["settings"]["variants"] == {"l1+jnd": {"l1": 1.0, "jnd": 0.03}}
    rows = results["scores"]
    assert list(rows) == ["noisy input", "l1+jnd"]
    for row in rows.values():
        assert -0.5 <= row["pesq"] <= 4.7 and 0.0 <= row["stoi"] <= 1.0 or math.isnan(row["stoi"])
        assert math.isfinite(row["si_sdr"]) and row["jnd"] >= 0
    assert "| l1+jnd |" in (out / "results.md").read_text()


def test_eval_jnd_reports_every_part(corpus, weights, tmp_path):
    out = tmp_path / "ev"
    code = main(["eval", "jnd", "--weights", str(weights), "--corpus", str(corpus), "--out", str(out),
                 "--walks", "2", "--trials", "4", "--clips", "2", "--strengths", "3", "--degradations", "4",
                 "--seconds", "1.0", "--perturbations", "white,lowpass", "--no-cdpam"])
    assert code == 0
    res = json.loads((out / "metrics.json").read_text())
    assert res["judgments"] == "simulated-listener"
    assert (out / "report.html").exists() and json.loads((out / "results.json").read_text())["sections"]
    jnd = f"jnd:{weights}"
    assert res["a"]["n"] == 8
    assert {jnd, "l1", "mrstft", "mel"} <= set(res["a"]["metrics"])
    assert 0 <= res["a"]["metrics"][jnd]["accuracy_head"] <= 1
    # white noise: every metric's distance grows with strength on the one clip
    for metric in ("l1", "mrstft", "mel", jnd):
        assert res["b"]["white"][metric] == pytest.approx(1.0)
    assert -1 <= res["b_pooled"]["lowpass"]["mel"] <= 1
    assert set(res["c"]["metrics"]["l1"]) == {"pesq", "stoi"}
    table = (out / "results.md").read_text()
    assert "(a) held-out simulated-listener judgments" in table and "| white | 1.000 |" in table
    assert sorted(p.name for p in (out / "audio").iterdir()) == ["clean.wav", "lowpass-0.5.wav", "white-0.5.wav"]
    assert (out / "spectrograms.png").read_bytes()[:4] == b"\x89PNG"
