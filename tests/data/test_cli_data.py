"""`earshot perturb` and `earshot pairs make`: real files, bad files skipped, inputs never overwritten."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from earshot.audio.io import save
from earshot.cli.main import main as cli
from earshot.data.datasets import PairedDataset
from earshot.data.shards import ShardReader, ShardWriter
from earshot.errors import ConfigError, DataError

from _data_signals import chord, vowel

SR = 16000


@pytest.fixture
def inputs(tmp_path):
    root = tmp_path / "in"
    save(root / "speech.wav", vowel(SR, 0.5), SR)
    save(root / "more" / "music.flac", chord(SR, 0.5), SR)
    save(root / "more" / "tiny.wav", vowel(SR, 0.5)[:, :20], SR)
    (root / "more" / "corrupt.wav").write_bytes(b"RIFF1234WAVEfmt garbage")
    (root / "empty.ogg").write_bytes(b"")
    return root


def test_perturb_folder_skips_bad_files_and_saves_params(inputs, tmp_path, capsys):
    before = {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    code = cli(["perturb", str(inputs), str(out), "--type", "mp3", "--strength", "0.7", "--seed", "1"])
    assert code == 1  # three files were skipped
    err = capsys.readouterr().err
    assert "corrupt.wav" in err and "empty.ogg" in err and "too short" in err and "2 done, 3 skipped" in err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.*")) == ["more/music.flac", "params.jsonl", "speech.wav"]
    records = [json.loads(line) for line in (out / "params.jsonl").read_text().splitlines()]
    assert {r["params"]["type"] for r in records} == {"mp3"} and all(r["params"]["kbps"] == 16 for r in records)
    clean, _ = sf.read(inputs / "speech.wav")
    coded, _ = sf.read(out / "speech.wav")
    assert coded.shape == clean.shape and not np.allclose(coded, clean, atol=1e-3)
    assert before == {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}  # inputs untouched


def test_perturb_single_file_and_refusals(inputs, tmp_path, capsys):
    out = tmp_path / "noisy.wav"
    assert cli(["perturb", str(inputs / "speech.wav"), str(out), "--type", "pink", "--strength", "0.2"]) == 0
    params = json.loads((tmp_path / "noisy.wav.json").read_text())["params"]
    assert params["type"] == "pink" and params["snr_db"] == pytest.approx(39.0)
    again = cli(["perturb", str(inputs / "speech.wav"), str(out), "--type", "pink"])
    assert again == 1 and "already exists" in capsys.readouterr().err  # outputs are not replaced either
    assert cli(["perturb", str(inputs / "speech.wav"), str(out), "--type", "pink", "--overwrite"]) == 0
    assert cli(["perturb", str(inputs / "speech.wav"), str(inputs / "speech.wav"), "--type", "clip"]) == 2
    assert cli(["perturb", str(inputs), str(inputs / "more" / "out"), "--type", "clip"]) == 2
    assert "inside the input folder" in capsys.readouterr().err


def test_pairs_make_codec_writes_readable_shards(inputs, tmp_path, capsys):
    out = tmp_path / "pairs"
    code = cli(["pairs", "make", str(out), "--source", str(inputs), "--count", "5", "--shard-size", "2",
                "--segment-seconds", "0.25", "--seed", "2"])
    assert code == 0 and "corrupt.wav" in capsys.readouterr().err
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == 5 and [s["count"] for s in index["shards"]] == [2, 2, 1]
    data = PairedDataset.from_shards(out, return_params=True)
    assert len(data) == 5 and data.sample_rate == SR
    clean, coded, params = data[4]
    assert clean.shape == coded.shape == (1, 4000) and json.loads(params)["type"] in ("mp3", "opus")
    from earshot.data.perturb import apply_params

    assert torch.allclose(apply_params(clean, SR, json.loads(params)), coded, atol=1e-6)  # params re-make it
    assert cli(["pairs", "info", str(out)]) == 0
    assert cli(["pairs", "make", str(out), "--source", str(inputs), "--count", "1"]) == 2  # no overwrite


def test_pairs_make_jnd_dispatches_to_the_jnd_module(tiny_corpus, tmp_path):
    out = tmp_path / "jnd"
    code = cli(["pairs", "make", str(out), "--kind", "jnd", "--source", str(tiny_corpus), "--count", "1",
                "--segment-seconds", "0.25"])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["judgments"] == "simulated-listener" and manifest["n_walks"] == 1
    chosen = tmp_path / "jnd-artefacts"
    assert cli(["pairs", "make", str(chosen), "--kind", "jnd", "--source", str(tiny_corpus), "--count", "3",
                "--segment-seconds", "0.25", "--perturbations", "denoised", "smear"]) == 0
    walks = json.loads((chosen / "shard-00000.json").read_text())["walks"]
    assert {n for w in walks for n in w["walk"]["names"]} <= {"denoised", "smear"}
    assert cli(["pairs", "make", str(tmp_path / "bad"), "--kind", "jnd", "--source", str(tiny_corpus),
                "--count", "1", "--perturbations", "telephone"]) == 2


def test_shard_writer_and_reader_errors(tmp_path):
    writer = ShardWriter(tmp_path / "s", sample_rate=SR, kind="codec", shard_size=3)
    writer.add(torch.zeros(1, 10), torch.ones(1, 10), {"type": "x"})
    with pytest.raises(ConfigError, match="every pair"):
        writer.add(torch.zeros(1, 11), torch.ones(1, 11), {})
    writer.close()
    reader = ShardReader(tmp_path / "s")
    assert len(reader) == 1 and torch.equal(reader[0][1], torch.ones(1, 10)) and reader[0][2] == {"type": "x"}
    with pytest.raises(IndexError):
        reader[1]
    with pytest.raises(ConfigError, match="already holds"):
        ShardWriter(tmp_path / "s", sample_rate=SR, kind="codec")
    with pytest.raises(DataError, match="no pairs index"):
        ShardReader(tmp_path / "nothing")
    (tmp_path / "s" / "pairs-00000.safetensors").write_bytes(b"broken")
    with pytest.raises(DataError, match="unreadable pairs shard"):
        ShardReader(tmp_path / "s")[0]
