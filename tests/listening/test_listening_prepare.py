"""`earshot listen prepare`: JND level ladders from clean clips with the data layer's
perturbations, and MUSHRA's 3.5 kHz low-pass anchors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from listening_helpers import SR, tone, write

from earshot.cli import listen as listen_cli
from earshot.errors import ConfigError
from earshot.listening.experiment import load_experiment
from earshot.listening.prepare import prepare_experiment


def band_db(x: np.ndarray, low: float, high: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return 10 * np.log10(spec[(f >= low) & (f < high)].sum())


def test_jnd_ladder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data paths are relative to the working directory
    rng = np.random.default_rng(1)
    for i in range(2):
        write(tmp_path / "clean" / f"clip{i}.wav", np.concatenate([np.zeros(800), tone(300 + 200 * i), tone(500)])
              + 0.001 * rng.standard_normal(800 + 2 * 3200))
    cfg = {"name": "made", "type": "jnd", "pairs": "ladders",
           "generate": {"clips": "clean", "n_sequences": 2, "n_levels": 6, "seconds": 0.25,
                        "perturbations": ["white", "eq"], "seed": 3}}
    (tmp_path / "made.yaml").write_text(yaml.safe_dump(cfg))
    assert listen_cli.main(["prepare", str(tmp_path / "made.yaml")]) == 0
    exp = load_experiment(tmp_path / "made.yaml")
    assert [s.name for s in exp.sequences] == ["seq_000", "seq_001"]
    for seq, kind in zip(exp.sequences, ("white", "eq")):
        ref, sr = sf.read(exp.files[seq.reference])
        assert sr == SR and ref.size == 4000
        assert np.sqrt(np.mean(ref**2)) == pytest.approx(10 ** (-23 / 20), rel=0.02)
        diffs = [np.sqrt(np.mean((sf.read(exp.files[k])[0] - ref) ** 2)) for k in seq.levels]
        assert diffs[0] == 0 and all(a < b for a, b in zip(diffs, diffs[1:]))  # monotone ladder
        assert [p["type"] for p in seq.params] == [kind] * 6 and seq.params[0]["strength"] == 0
        assert [p["strength"] for p in seq.params[1:]] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
        meta = json.loads((exp.files[seq.reference].parent / "params.json").read_text())
        assert meta["perturbation"] == kind and meta["clip"].endswith(".wav")
    white = exp.sequences[0].params
    assert len({p["seed"] for p in white[1:]}) == 1  # one noise, louder at each level
    assert [p["snr_db"] for p in white[1:]] == sorted(p["snr_db"] for p in white[1:])[::-1]
    with pytest.raises(ConfigError, match="exists"):  # never written over without --overwrite
        prepare_experiment(tmp_path / "made.yaml")
    assert len(prepare_experiment(tmp_path / "made.yaml", overwrite=True)) == 2 * 7


def test_mushra_anchor(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data paths are relative to the working directory
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal(SR)
    write(tmp_path / "stim" / "item" / "reference.wav", noise)
    write(tmp_path / "stim" / "item" / "codec.wav", noise)
    write(tmp_path / "stim" / "done" / "reference.wav", noise)
    write(tmp_path / "stim" / "done" / "anchor_mid.wav", noise)
    write(tmp_path / "stim" / "done" / "codec.wav", noise)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"name": "m", "type": "mushra", "stimuli": "stim"}))
    with pytest.raises(ConfigError, match="needs an anchor"):
        load_experiment(tmp_path / "m.yaml")
    written = prepare_experiment(tmp_path / "m.yaml")
    assert [p.relative_to(tmp_path).as_posix() for p in written] == ["stim/item/anchor.wav"]
    anchor, _ = sf.read(written[0])
    assert band_db(anchor, 0, 3000) == pytest.approx(band_db(noise, 0, 3000), abs=0.5)
    assert band_db(anchor, 5000, 8000) < band_db(noise, 5000, 8000) - 40
    assert sorted(load_experiment(tmp_path / "m.yaml").items[1].files) == ["anchor", "codec", "reference"]


def test_generated_mushra_items(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data paths are relative to the working directory
    write(tmp_path / "clean" / "a.wav", np.concatenate([tone(300), tone(600), tone(900)]))
    cfg = {"name": "gen", "type": "mushra", "stimuli": "items",
           "generate": {"clips": "clean", "n_items": 2, "seconds": 0.3, "seed": 1,
                        "conditions": {"noisy": {"type": "white", "strength": 0.9},
                                       "dark": {"type": "lowpass", "strength": 0.8}}}}
    (tmp_path / "gen.yaml").write_text(yaml.safe_dump(cfg))
    written = prepare_experiment(tmp_path / "gen.yaml")
    assert len(written) == 2 * (1 + 2 + 1) + 2  # reference, conditions, params.json; then anchors
    exp = load_experiment(tmp_path / "gen.yaml")
    assert [sorted(it.files) for it in exp.items] == [["anchor", "dark", "noisy", "reference"]] * 2
    meta = json.loads((tmp_path / "items" / "item_000" / "params.json").read_text())
    assert meta["conditions"]["noisy"]["type"] == "white" and meta["conditions"]["noisy"]["strength"] == 0.9
    ref, _ = sf.read(exp.files[exp.items[0].files["reference"]])
    noisy, _ = sf.read(exp.files[exp.items[0].files["noisy"]])
    assert ref.size == noisy.size == int(0.3 * SR) and not np.allclose(ref, noisy)
    cfg["generate"]["conditions"]["anchor2"] = {"type": "white"}
    (tmp_path / "gen.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="reserved"):
        prepare_experiment(tmp_path / "gen.yaml", overwrite=True)


def test_example_configs_are_valid():
    from pathlib import Path

    from earshot.data.perturb import PERTURBATIONS
    from earshot.listening import experiment, prepare

    files = sorted((Path(__file__).parents[2] / "configs" / "listening").glob("*.yaml"))
    assert {f.stem for f in files} >= {"jnd-speech", "mushra-codecs", "ab-speech"}
    for f in files:
        raw = yaml.safe_load(f.read_text())
        assert experiment.SLUG.match(raw["name"]) and raw["name"] == f.stem
        assert set(raw) <= {f.name for f in dataclasses.fields(experiment.FILE_SCHEMAS[raw["type"]])}, f
        gen = raw["generate"]
        if raw["type"] == "jnd":
            assert set(gen) <= {f.name for f in dataclasses.fields(prepare.LadderGeneration)} and set(gen["perturbations"]) <= set(PERTURBATIONS)
        else:
            assert set(gen) <= {f.name for f in dataclasses.fields(prepare.ItemGeneration)}
            assert {c["type"] for c in gen["conditions"].values()} <= set(PERTURBATIONS) | {"clean"}


@pytest.mark.slow
def test_the_documented_quick_start_works_from_a_project_folder(tmp_path, monkeypatch, capsys):
    # `clips: corpus` used to resolve beside the YAML file (configs/listening/corpus): the quick
    # start failed. Data paths are now relative to the working directory, wherever the YAML is.
    from earshot.cli.main import main

    monkeypatch.chdir(tmp_path)
    config = Path(__file__).parents[2] / "configs" / "listening" / "ab-speech.yaml"
    assert main(["listen", "prepare", str(config)]) == 2  # no corpus yet: a clear error saying how
    assert "earshot corpus build corpus" in capsys.readouterr().err
    assert main(["corpus", "build", "corpus", "--minutes", "0.3"]) == 0
    assert main(["listen", "prepare", str(config)]) == 0
    exp = load_experiment(config)
    assert exp.root == tmp_path / "runs" / "listening" / "ab-speech"
    assert len(exp.items) == 8 and sorted(exp.items[0].files) == ["clean", "mp3_low", "opus_low", "reverb"]
    assert not (config.parent / "corpus").exists() and not (config.parent / "runs").exists()
