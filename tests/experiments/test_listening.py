"""A MUSHRA test prepared from an experiment folder, and its analysis on simulated answers."""

from __future__ import annotations

import json
import math

import pytest
import torch

from earshot.audio import save
from earshot.experiments.listening import ListeningTest, condition_name, prepare, run

SR = 16000


def run_folder(tmp_path):
    """An experiment output folder as `earshot.experiments.compare` writes it: two clips, the exact
    reference as one model's output and a noisy version as another's."""
    t = torch.arange(SR) / SR
    examples = {}
    for k, f0 in enumerate((220.0, 330.0)):
        clean = 0.3 * torch.sin(2 * math.pi * f0 * t) * (1 + torch.sin(2 * math.pi * 3 * t)) / 2
        noisy = clean + 0.05 * torch.randn(SR, generator=torch.Generator().manual_seed(k))
        files = {"input": clean, "exact": clean, "l1+jnd": noisy}
        for role, audio in files.items():
            save(tmp_path / "audio" / f"clip-{k}-{role}.wav", audio[None], SR)
        examples[f"clip-{k}"] = {"kind": "speech", "origin": "synthetic", "input": f"audio/clip-{k}-input.wav",
                                 "reference": f"audio/clip-{k}-input.wav",
                                 "outputs": {v: f"audio/clip-{k}-{v}.wav" for v in ("exact", "l1+jnd")}}
    (tmp_path / "examples.json").write_text(json.dumps(examples))
    return tmp_path


def test_prepare_writes_items_with_reference_anchor_and_conditions(tmp_path):
    from earshot.listening.experiment import load_experiment

    yaml_path = prepare(run_folder(tmp_path / "run"), tmp_path / "test")
    exp = load_experiment(yaml_path)
    assert exp.type == "mushra" and [i.name for i in exp.items] == ["clip-0", "clip-1"]
    assert set(exp.items[0].files) == {"reference", "anchor", "exact", "l1-jnd"}
    assert json.loads((tmp_path / "test" / "conditions.json").read_text()) == {"exact": "exact", "l1-jnd": "l1+jnd"}
    assert condition_name("noisy input") == "noisy-input" and condition_name("reference") == "model-reference"


def test_simulated_listeners_rate_the_hidden_reference_high_and_the_noisy_model_low(tmp_path):
    section = run(ListeningTest(run_dir=str(run_folder(tmp_path / "run")), out=str(tmp_path / "test"), listeners=6))
    rows = {r[0]: r for r in section.tables[0].rows}
    assert section.results["simulated"] and "SIMULATED" in section.tables[0].title
    assert rows["reference"][1] == 12 and rows["reference"][2] > 90 and rows["exact"][2] > 90
    assert rows["l1-jnd"][2] < rows["exact"][2] - 20
    assert rows["l1-jnd"][3] < rows["l1-jnd"][2] < rows["l1-jnd"][4]


def test_a_folder_without_examples_is_refused(tmp_path):
    from earshot.errors import ConfigError

    with pytest.raises(ConfigError, match="examples.json"):
        prepare(tmp_path, tmp_path / "out")
