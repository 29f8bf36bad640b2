"""The built-in corpus: a tiny real build (espeak-ng, fluidsynth), determinism, manifest, splits."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pytest
import soundfile as sf

from earshot.cli.main import main as cli
from earshot.data import corpus
from earshot.data.sources import music, noise, speech
from earshot.errors import ConfigError, DataError, ToolMissingError

MINUTES = 0.04  # three short items of each kind


@pytest.fixture
def tiny(tiny_corpus):
    return tiny_corpus


def test_manifest_lists_every_kind_and_split(tiny):
    items = corpus.load_manifest(tiny)
    assert {(i.kind, i.split) for i in items} == {(k, s) for k in corpus.KINDS for s in corpus.SPLITS}
    for item in items:
        assert item.path.is_absolute() and item.path.is_file()
        audio, rate = sf.read(item.path)
        assert rate == 16000 and audio.ndim == 1
        assert abs(len(audio) / rate - item.duration) < 1e-3
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio**2)))
        assert abs(rms_db - item.params["level_db"]) < 1.5  # not silent, at the drawn level
    assert [i.kind for i in corpus.load_manifest(tiny, kind="music")] == ["music"] * 3
    assert {i.split for i in corpus.load_manifest(tiny, split="test")} == {"test"}
    assert len(corpus.load_manifest(tiny, kind=["speech", "noise"], split="train")) == 2


def test_same_seed_same_bytes_and_other_seed_differs(tiny, tmp_path):
    again = tmp_path / "b"
    assert cli(["corpus", "build", str(again), "--minutes", str(MINUTES), "--seed", "3"]) == 0
    names = [str(p.relative_to(tiny)) for p in sorted(tiny.rglob("*")) if p.is_file()]
    match, mismatch, errors = filecmp.cmpfiles(tiny, again, names, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == 10
    plan_a, plan_b = corpus.plan_corpus(MINUTES, seed=3), corpus.plan_corpus(MINUTES, seed=4)
    assert plan_a.items != plan_b.items


def test_speech_is_voiced_and_music_is_tonal(tiny):
    """Speech has most energy in the voice band; music has sharp spectral peaks; noise does not."""
    def spectrum(item):
        audio, _ = sf.read(item.path)
        return np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2, np.fft.rfftfreq(len(audio), 1 / 16000)

    for item in corpus.load_manifest(tiny, kind="speech"):
        power, freqs = spectrum(item)
        assert power[(freqs > 80) & (freqs < 4000)].sum() > 0.8 * power.sum()
    tonal = []
    for item in corpus.load_manifest(tiny, kind="music"):
        power, _ = spectrum(item)
        tonal.append(np.sort(power)[-len(power) // 100:].sum() / power.sum())  # top 1 % of bins
    assert min(tonal) > 0.5


def test_splits_are_disjoint_by_sentence_speaker_and_song():
    plan = corpus.plan_corpus(30, seed=0)
    by_split = {s: [i for i in plan.items if i["split"] == s] for s in corpus.SPLITS}
    for key in ("sentence_id", "speaker"):
        pools = [{i["params"][key] for i in by_split[s] if i["kind"] == "speech"} for s in corpus.SPLITS]
        assert all(pools) and not (pools[0] & pools[1]) and not (pools[0] & pools[2]) and not (pools[1] & pools[2])
    songs = [i["params"]["seed"] for i in plan.items if i["kind"] == "music"]
    assert len(songs) == len(set(songs))
    minutes = {k: 0.0 for k in corpus.KINDS}
    for item in plan.items:
        minutes[item["kind"]] += item["params"].get("seconds", 3.0) / 60
    assert minutes["music"] == pytest.approx(30 * corpus.SHARES["music"], rel=0.05)
    assert len({i["params"]["accent"] for i in plan.items if i["kind"] == "speech"}) >= 12
    assert len({i["params"]["style"] for i in plan.items if i["kind"] == "music"}) == len(music.STYLES)
    assert {i["params"]["type"] for i in plan.items if i["kind"] == "noise"} == set(noise.NOISE_TYPES)


def test_sentence_list_is_large_and_unique():
    texts = speech.sentences()
    assert len(texts) >= 300 and len(set(texts)) == len(texts)


def test_refuses_to_overwrite_and_reads_bad_manifests(tiny, tmp_path):
    with pytest.raises(ConfigError, match="already holds a corpus"):
        corpus.build_corpus(tiny, minutes=MINUTES, seed=3, progress=False)
    with pytest.raises(DataError, match="no corpus manifest"):
        corpus.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"items": [{"path": "x.flac"}]}))
    with pytest.raises(DataError, match="item 0"):
        corpus.load_manifest(tmp_path)
    with pytest.raises(ConfigError, match="kind"):
        corpus.load_manifest(tiny, kind="birdsong")


def test_missing_tools_name_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no espeak-ng, no fluidsynth
    with pytest.raises(ToolMissingError, match="apt-get install espeak-ng"):
        corpus.build_corpus(tmp_path / "c", minutes=MINUTES, progress=False)
    with pytest.raises(ToolMissingError, match="apt-get install fluidsynth"):
        music.check_fluidsynth()
    monkeypatch.delenv("EARSHOT_SOUNDFONT", raising=False)
    monkeypatch.setattr(music, "SOUNDFONTS", (str(tmp_path / "none.sf2"),))
    with pytest.raises(ToolMissingError, match="fluid-soundfont-gm"):
        music.find_soundfont()


def test_midi_writer_round_trips_through_fluidsynth():
    """A composed song is valid MIDI: fluidsynth renders it to audio of the requested length."""
    params = music.draw_song(np.random.default_rng(0), 2.0)
    smf = music.compose(params)
    assert smf[:4] == b"MThd" and smf.count(b"MTrk") >= 2
    audio = music.render(params, 16000)
    assert audio.shape == (32000,) and np.abs(audio).max() > 0.01
