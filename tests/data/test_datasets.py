"""Dataset loaders on small data the tests make: folders, corpus, pairs, multitracks, judgments."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from earshot.audio.io import save
from earshot.data import datasets, judgments
from earshot.errors import ConfigError, DataError

from _data_signals import chord, vowel

SR = 16000


@pytest.fixture
def folder(tmp_path):
    """Audio in several formats and rates, nested, with silence, plus broken files."""
    root = tmp_path / "audio"
    quiet_then_loud = torch.cat([torch.zeros(1, SR), vowel(SR, 0.5)], dim=-1)
    save(root / "a.wav", quiet_then_loud, SR)
    save(root / "deep" / "b.flac", chord(22050, 0.6).repeat(2, 1), 22050)  # stereo, other rate
    save(root / "deep" / "c.ogg", vowel(SR, 0.4, seed=2), SR)
    (root / "deep" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "empty.flac").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    return root


def test_audio_folder_reads_recursively_skips_broken_and_silence(folder, tmp_path):
    ds = datasets.AudioFolderDataset(folder, segment_seconds=0.25, sample_rate=SR, seed=1, cache=tmp_path / "cache")
    assert [p.name for p in ds.files] == ["a.wav", "b.flac", "c.ogg"]
    assert sorted(name.split("/")[-1] for name, _ in ds.skipped) == ["broken.wav", "empty.flac"]
    assert len(ds) == 3
    for i in range(3):
        x = ds[i]
        assert x.shape == (1, SR // 4) and x.dtype == torch.float32
        assert float(x.pow(2).mean().sqrt()) > 10 ** (-50 / 20)  # never the silent first second of a.wav
    assert torch.equal(ds[0], datasets.AudioFolderDataset(folder, segment_seconds=0.25, seed=1)[0])
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3
    again = datasets.AudioFolderDataset(folder, segment_seconds=0.25, seed=1, cache=tmp_path / "cache")
    assert torch.equal(again[1], ds[1])  # read back from the disk cache
    stereo = datasets.AudioFolderDataset(folder, segment_seconds=0.25, mono=False, items_per_epoch=20, seed=0)
    shapes = {tuple(stereo[i].shape) for i in range(20)}
    assert shapes == {(1, 4000), (2, 4000)}
    first = stereo[5]
    stereo.set_epoch(1)
    assert not torch.equal(stereo[5], first) or stereo[5].shape != first.shape


def test_short_files_are_padded(tmp_path):
    save(tmp_path / "short.wav", vowel(SR, 0.1), SR)
    x = datasets.AudioFolderDataset(tmp_path, segment_seconds=0.5)[0]
    assert x.shape == (1, SR // 2) and torch.all(x[:, SR // 10 + 1:] == 0)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"junk")
    with pytest.raises(DataError, match="no readable audio"):
        datasets.AudioFolderDataset(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        datasets.AudioFolderDataset(tmp_path / "missing")


def test_paired_on_the_fly_is_reproducible_and_batches(folder):
    clean = datasets.AudioFolderDataset(folder, segment_seconds=0.25, items_per_epoch=6, seed=0)
    pairs = datasets.PairedDataset(clean, "mp3", strength=(0.5, 1.0), sample_rate=SR, seed=4, return_params=True)
    c, p, params = pairs[2]
    c2, p2, params2 = pairs[2]
    assert torch.equal(p, p2) and params == params2 and '"type": "mp3"' in params
    assert c.shape == p.shape and not torch.equal(c, p)
    batch = next(iter(DataLoader(datasets.PairedDataset(clean, "lowpass", strength=0.8), batch_size=3)))
    assert batch[0].shape == batch[1].shape == (3, 1, SR // 4)
    with pytest.raises(ConfigError, match="strength"):
        datasets.PairedDataset(clean, "mp3", strength=(0.8, 0.2))


def test_corpus_dataset_uses_manifest(tiny_corpus, tmp_path):
    ds = datasets.CorpusDataset(tiny_corpus, kind="speech", split="train", segment_seconds=0.5,
                                items_per_epoch=4, seed=1)
    assert len(ds) == 4 and all(ds[i].shape == (1, 8000) for i in range(4))
    up = datasets.CorpusDataset(tiny_corpus, kind=["music", "noise"], split="test", segment_seconds=0.5,
                                sample_rate=24000)
    assert len(up) == 2 and up[0].shape == (1, 12000)
    with pytest.raises(DataError, match="no corpus manifest"):
        datasets.CorpusDataset(tmp_path / "missing")


def _stems(n=SR // 2):
    t = torch.arange(n) / SR
    return {"vocals": vowel(SR, n / SR).repeat(2, 1), "drums": (torch.rand(2, n) - 0.5) * 0.1,
            "bass": 0.2 * torch.sin(2 * np.pi * 55 * t).repeat(2, 1), "other": chord(SR, n / SR).repeat(2, 1)}


def test_multitrack_musdb_and_dsd100_layouts(tmp_path):
    stems = _stems()
    for subset in ("train", "test"):
        song = tmp_path / "musdb" / subset / f"Artist - Song {subset}"
        for name, x in stems.items():
            save(song / f"{name}.wav", x, SR)
        save(song / "mixture.wav", sum(stems.values()), SR)
    for name, x in stems.items():
        save(tmp_path / "dsd" / "Sources" / "Dev" / "001 - A" / f"{name}.wav", x, SR)
    save(tmp_path / "dsd" / "Mixtures" / "Dev" / "001 - A" / "mixture.wav", sum(stems.values()), SR)
    musdb = datasets.MultitrackDataset(tmp_path / "musdb", subset="train", segment_seconds=0.25, sample_rate=SR)
    mix, parts = musdb[0]
    assert len(musdb) == 1 and mix.shape == (2, 4000) and parts.shape == (4, 2, 4000)
    assert torch.allclose(parts.sum(0), mix, atol=2e-4)  # the same excerpt of every track
    assert len(datasets.MultitrackDataset(tmp_path / "musdb", segment_seconds=0.25)) == 2
    dsd = datasets.MultitrackDataset(tmp_path / "dsd", subset="Dev", stems=("vocals", "bass"), mono=True,
                                     segment_seconds=0.25, sample_rate=8000)
    mix, parts = dsd[0]
    assert mix.shape == (1, 2000) and parts.shape == (2, 1, 2000)
    with pytest.raises(DataError, match="no MUSDB18/DSD100"):
        datasets.MultitrackDataset(tmp_path / "dsd", subset="Test")


def test_unpaired_folders(folder, tmp_path):
    save(tmp_path / "solo" / "x.wav", chord(SR, 0.5), SR)
    ds = datasets.UnpairedFolderDataset({"speech": folder, "music": tmp_path / "solo"}, items_per_epoch=5,
                                        segment_seconds=0.25)
    item = ds[3]
    assert set(item) == {"speech", "music"} and item["music"].shape == (1, 4000)
    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert batch["speech"].shape == (5, 1, 4000)


def test_dpam_and_earshot_judgment_lists(tmp_path):
    save(tmp_path / "ref.wav", vowel(SR, 0.3), SR)
    save(tmp_path / "test.wav", vowel(SR, 0.25, seed=1), SR)
    (tmp_path / "dpam.txt").write_text("ref.wav\ttest.wav\t1\n\nref.wav\tref.wav\t0\tnoise\n")
    ds = judgments.JudgmentListDataset(tmp_path / "dpam.txt", sample_rate=SR)
    ref, test, label = ds[0]
    assert ref.shape == test.shape == (1, int(0.3 * SR)) and float(label) == 1.0
    assert ds.judgments[1].type == "noise" and ds.judgments[1].label == 0.0
    records = [{"reference": tmp_path / "ref.wav", "test": tmp_path / "test.wav", "label": 0.625,
                "n_listeners": 8, "params": {"type": "mp3", "kbps": 32}}]
    path = judgments.write_judgments(tmp_path / "mine.jsonl", records)
    assert '"reference": "ref.wav"' in path.read_text()
    back = judgments.read_judgments(path)[0]
    assert back.label == 0.625 and back.n_listeners == 8 and back.type == "mp3" and back.test == tmp_path / "test.wav"
    fixed = judgments.JudgmentListDataset(path, segment_seconds=0.1)
    assert [tuple(x.shape) for x in fixed[0][:2]] == [(1, 1600), (1, 1600)]
    (tmp_path / "bad.txt").write_text("ref.wav\ttest.wav\t1\nref.wav\tonly-two\n")
    with pytest.raises(DataError, match="bad.txt:2"):
        judgments.read_judgments(tmp_path / "bad.txt")
    (tmp_path / "bad.jsonl").write_text('{"reference": "a", "test": "b", "label": 3}\n')
    with pytest.raises(DataError, match="outside"):
        judgments.read_judgments(tmp_path / "bad.jsonl")


def test_judgment_audio_read_through_soundfile_matches(tmp_path):
    x = vowel(SR, 0.2)
    save(tmp_path / "r.flac", x, SR)
    sf_audio, _ = sf.read(tmp_path / "r.flac", dtype="float32")
    (tmp_path / "l.tsv").write_text("r.flac\tr.flac\t0\n")
    ref, test, _ = judgments.JudgmentListDataset(tmp_path / "l.tsv")[0]
    assert torch.equal(ref, test) and np.allclose(ref[0].numpy(), sf_audio)
