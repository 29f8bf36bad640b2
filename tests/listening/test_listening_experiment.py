"""Experiment files: what they declare, and the clear errors for what is wrong with them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from earshot.audio.io import AUDIO_EXTENSIONS as IO_EXTENSIONS
from earshot.errors import ConfigError
from earshot.listening.experiment import AUDIO_EXTENSIONS, ab_trials, load_experiment
from listening_helpers import tone, write


def test_extensions_agree_with_audio_io():
    assert AUDIO_EXTENSIONS == IO_EXTENSIONS


def test_test_experiments_load(experiments):
    mushra = load_experiment(experiments["mushra"])
    assert [it.name for it in mushra.items] == ["bells", "voice"]
    assert sorted(mushra.items[0].files) == ["anchor", "codec_hi", "codec_lo", "reference"]
    jnd = load_experiment(experiments["jnd"])
    assert len(jnd.sequences) == 3 and all(len(s.levels) == 8 for s in jnd.sequences)
    assert jnd.sequences[0].levels[0] == jnd.sequences[0].reference == "seq0/reference.wav"
    assert jnd.gap_ms == 600 and jnd.trials_per_sequence == 10 and jnd.warmups == 2
    assert (jnd.pretest.n_trials, jnd.pretest.min_correct) == (2, 2)
    assert len(ab_trials(load_experiment(experiments["ab"]))) == 3
    assert len(ab_trials(load_experiment(experiments["load"]))) == 2 * 36
    for exp in (mushra, jnd):
        for key, path in exp.files.items():
            assert path == (exp.root / key).resolve() and path.is_file()
    with pytest.raises(ConfigError, match="declares no file"):
        mushra.resolve("../jnd.yaml")


def copy_experiment(experiments, tmp_path, which, changes=None):
    src = experiments[which].parent
    for sub in ("mushra", "pairs", "ab3"):
        shutil.copytree(src / sub, tmp_path / sub, dirs_exist_ok=True)
    cfg = yaml.safe_load(experiments[which].read_text())
    for key in ("stimuli", "pairs"):  # the copies; data paths are relative to the working directory
        if isinstance(cfg.get(key), str):
            cfg[key] = str(tmp_path / Path(cfg[key]).name)
    cfg.update(changes or {})
    path = tmp_path / f"{which}.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in cfg.items() if v is not None}))
    return path


@pytest.mark.parametrize("name,changes,message", [
    ("mushra", {"colour": "red"}, "unknown key 'mushra experiment.colour'"),
    ("mushra", {"name": "Not A Slug"}, "name must match"),
    ("mushra", {"type": "triangle"}, "type must be one of"),
    ("mushra", {"stimuli": "nowhere"}, "does not exist"),
    ("jnd", {"pairs": None}, "needs 'pairs'"),
    ("jnd", {"adaptive": {"temperature": 1}}, "adaptive accepts only"),
    ("jnd", {"pretest": {"n_trials": 2, "min_correct": 3}}, "min_correct"),
    ("jnd", {"gap_ms": -1}, "gap_ms must be >= 0"),
    ("ab", {"pairs": [["plain", "plain"]]}, "with itself"),
    ("ab", {"pairs": [["plain", "loud"]]}, "no item has both"),
    ("mushra", {"rate_limit": {"api_per_second": 0}}, "positive"),
])
def test_bad_experiment_files(experiments, tmp_path, name, changes, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(copy_experiment(experiments, tmp_path, name, changes))


def test_bad_stimuli(experiments, tmp_path):
    path = copy_experiment(experiments, tmp_path, "mushra")
    (tmp_path / "mushra" / "bells" / "anchor.wav").unlink()
    with pytest.raises(ConfigError, match="needs an anchor"):
        load_experiment(path)
    write(tmp_path / "mushra" / "bells" / "anchor.wav", tone(440))
    (tmp_path / "mushra" / "voice" / "codec_lo.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(ConfigError, match="codec_lo.wav.*unreadable"):
        load_experiment(path)
    path = copy_experiment(experiments, tmp_path, "jnd")
    (tmp_path / "pairs" / "seq1" / "level_04.wav").unlink()
    with pytest.raises(ConfigError, match="contiguous"):
        load_experiment(path)


def test_jsonl_pair_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = []
    for s in range(2):
        ref = tmp_path / "audio" / f"r{s}.wav"
        write(ref, tone(300 + 100 * s))
        for k in range(1, 5):
            test = tmp_path / "audio" / f"r{s}_{k}.wav"
            write(test, tone(300 + 100 * s) + 0.01 * k * np.ones(3200))
            rows.append({"sequence": f"s{s}", "level": k, "reference": f"audio/r{s}.wav",
                         "test": f"audio/r{s}_{k}.wav", "params": {"type": "dc", "offset": 0.01 * k}})
    (tmp_path / "pairs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "x.yaml").write_text(yaml.safe_dump({"name": "x", "type": "jnd", "pairs": "pairs.jsonl"}))
    exp = load_experiment(tmp_path / "x.yaml")
    assert [s.name for s in exp.sequences] == ["s0", "s1"]
    s0 = exp.sequences[0]
    assert s0.levels == ["audio/r0.wav"] + [f"audio/r0_{k}.wav" for k in range(1, 5)]
    assert s0.params[0] == {} and s0.params[3] == {"type": "dc", "offset": 0.03}
    rows[1]["reference"] = "audio/r1.wav"
    (tmp_path / "pairs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ConfigError, match="changes its reference"):
        load_experiment(tmp_path / "x.yaml")
