"""`earshot experiment autoencoder` and `earshot eval style` end to end on a tiny real corpus; CLI
options derived from config dataclasses."""

from __future__ import annotations

import json
import math

import pytest

from earshot.cli.main import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from earshot.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("exp-corpus") / "c"
    build_corpus(root, minutes=0.06, seed=5, progress=False)
    return root


def test_autoencoder_experiment_writes_table_audio_curves_and_spectrograms(corpus, tmp_path):
    out = tmp_path / "ae"
    code = main(["experiment", "autoencoder", "--corpus", str(corpus), "--out", str(out), "--models", "A", "C",
                 "--steps", "2", "--batch-size", "2", "--test-files", "1", "--test-seconds", "1", "--seeds", "2",
                 "--metrics", "snr,stoi,pesq"])
    assert code == 0
    results = json.loads((out / "metrics.json").read_text())
    rows = results["scores"]
    assert {"A", "C"} <= set(rows)
    assert all(math.isfinite(rows[m]["stoi"]) for m in ("A", "C"))
    assert "| A: L1 |" in (out / "results.md").read_text()
    assert {"speech-0-A.wav", "speech-0-C.wav", "speech-0-input.wav"} <= {p.name for p in (out / "audio").iterdir()}
    assert (out / "spectrograms_speech-0.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "runs" / "A" / "metrics.csv").is_file() and (out / "runs" / "C" / "metrics.csv").is_file()
    assert (out / "runs" / "A-seed1" / "metrics.csv").is_file() and results["seeds"] == [0, 1]
    # two seeds: an interval around the mean over seeds, computed from the per-item scores
    stoi = [sum(v) / len(v) for v in (results["per_item"]["A"][s]["synthetic"]["stoi"] for s in ("0", "1"))]
    summary = results["summary"]["synthetic"]["A"]["stoi"]
    assert summary["mean"] == pytest.approx(sum(stoi) / 2)
    assert summary["low"] < summary["mean"] < summary["high"] or stoi[0] == stoi[1]
    assert "p" in results["summary"]["synthetic"]["C"]["stoi"] or "mrstft" not in results["summary"]["synthetic"]
    report = json.loads((out / "results.json").read_text())["sections"][0]
    assert report["tables"][0]["rows"][0][0] == "A: L1" and set(report["tables"][0]["rows"][0][2]) == {"mean", "low", "high"}


def test_eval_style_writes_pairs_audio_and_spectrograms(corpus, tmp_path):
    out = tmp_path / "style"
    code = main(["eval", "style", "--corpus", str(corpus), "--out", str(out), "--features", "ae",
                 "--methods", "spectrogram", "--pairs", "1", "--seconds", "1", "--steps", "2"])
    assert code == 0
    scores = json.loads((out / "metrics.json").read_text())["scores"]
    assert {s["kind"] for s in scores} == {"speech", "music"}
    assert all(math.isfinite(s["style_out"]) for s in scores)
    names = {p.name for p in (out / "audio").iterdir()}
    assert {"ae-spectrogram-speech0-content.wav", "ae-spectrogram-speech0-style.wav",
            "ae-spectrogram-speech0-output.wav"} <= names
    assert len(list(out.glob("spectrograms_*.png"))) == 2


def test_options_come_from_the_config_dataclass():
    import argparse

    from earshot.cli.options import add_config_options, config_from_args
    from earshot.experiments.autoencoder import AutoencoderExperiment
    from earshot.experiments.separation import ExperimentConfig

    p = argparse.ArgumentParser()
    add_config_options(p, AutoencoderExperiment)
    helps = {a.dest: a.help for a in p._actions}
    assert helps["steps"] == "optimiser steps per model and seed (default: 500)"
    cfg = config_from_args(AutoencoderExperiment, p.parse_args(["--models", "A", "mrstft,E", "--steps", "7"]))
    assert cfg.models == ["A", "mrstft", "E"] and cfg.steps == 7 and cfg.seeds == 3
    assert config_from_args(AutoencoderExperiment, p.parse_args([])) == AutoencoderExperiment()
    q = argparse.ArgumentParser()
    add_config_options(q, ExperimentConfig, aliases={"wiener_iterations": ["--wiener"]})
    cfg = config_from_args(ExperimentConfig, q.parse_args(["--modes", "supervised,semi", "--wiener", "2", "--no-progress"]))
    assert cfg.modes == ["supervised", "semi"] and cfg.wiener_iterations == 2 and cfg.progress is False
    from earshot.errors import ConfigError

    with pytest.raises(ConfigError, match="models"):
        config_from_args(AutoencoderExperiment, p.parse_args(["--models", "Z"]))
