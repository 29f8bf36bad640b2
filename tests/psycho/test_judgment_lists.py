"""The judgment-list format, read and written in one place: relative paths, one JSON Lines format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from earshot.errors import ConfigError, DataError
from earshot.psycho.judgments import Judgment, judgments_text, read_judgments, write_judgments


def _record(ref, test, label=0.5, **kw):
    return {"reference": ref, "test": test, "label": label, **kw}


def test_paths_are_relative_to_the_list_even_outside_its_folder(tmp_path):
    stim = tmp_path / "stimuli"
    records = [_record(stim / "ref.wav", stim / "level_03.wav", 0.25, n_listeners=4, params={"type": "mp3"}),
               Judgment(stim / "ref.wav", stim / "ref.wav", 0.0)]
    path = write_judgments(tmp_path / "lists" / "out.jsonl", records)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(x["reference"], x["test"]) for x in lines] == [("../stimuli/ref.wav", "../stimuli/level_03.wav"),
                                                             ("../stimuli/ref.wav", "../stimuli/ref.wav")]
    assert lines[0] == {"reference": "../stimuli/ref.wav", "test": "../stimuli/level_03.wav", "label": 0.25,
                        "n_listeners": 4, "params": {"type": "mp3"}}
    back = read_judgments(path)
    assert [j.reference.resolve() for j in back] == [(stim / "ref.wav").resolve()] * 2
    assert back[0].test.resolve() == (stim / "level_03.wav").resolve()
    assert back[0].type == "mp3" and back[0].n_listeners == 4 and back[1].label == 0.0
    moved = tmp_path / "elsewhere" / "lists"  # the list keeps working when moved with its audio
    moved.mkdir(parents=True)
    (moved / "out.jsonl").write_text(path.read_text())
    assert read_judgments(moved / "out.jsonl")[0].reference == moved / "../stimuli/ref.wav"


def test_text_for_a_download_has_absolute_paths(tmp_path):
    text = judgments_text([_record(Path("a.wav"), tmp_path / "b.wav", 1.0)])
    entry = json.loads(text)
    assert Path(entry["reference"]).is_absolute() and entry["reference"] == str(Path("a.wav").resolve())
    assert entry["test"] == str((tmp_path / "b.wav").resolve()) and text.endswith("\n")
    assert judgments_text([_record(tmp_path / "x" / "b.wav", tmp_path / "b.wav")], base=tmp_path / "x") == (
        '{"label": 0.5, "n_listeners": null, "params": {}, "reference": "b.wav", "test": "../b.wav"}\n')


def test_bad_labels_and_lines_are_named(tmp_path):
    with pytest.raises(ConfigError, match="outside"):
        write_judgments(tmp_path / "l.jsonl", [_record("a.wav", "b.wav", 1.5)])
    (tmp_path / "bad.jsonl").write_text('{"reference": "a.wav", "test": "b.wav", "label": 0.2}\n{"label": 3}\n')
    with pytest.raises(DataError, match="bad.jsonl:2"):
        read_judgments(tmp_path / "bad.jsonl")
    (tmp_path / "empty.tsv").write_text("# only a comment\n")
    with pytest.raises(DataError, match="no judgments"):
        read_judgments(tmp_path / "empty.tsv")
    with pytest.raises(ConfigError, match="format"):
        read_judgments(tmp_path / "empty.tsv", format="csv")
