"""Real recordings in the corpus: the deny-list, licences, decoding, splits by recording, a build
from small .deb packages made here (dpkg-deb), and one real Debian package when it can be had."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict

import numpy as np
import pytest
import soundfile as sf

from earshot.cli.main import main as cli
from earshot.data import corpus
from earshot.data.sources import debian, recordings
from earshot.data.sources.recordings import RealSource
from earshot.errors import AudioFileError, DataError, ToolMissingError

G722 = pytest.importorskip("G722")
SR = 16000
DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: test

Files: *
Copyright: 2020 A
Comment: indented lines are not fields:
 License: MIT
License: CC-BY-SA-3.0

Files: ru-* it-*
Copyright: 2010 B
License: CC-BY-3.0
"""
BSD = "Copyright 2004 K\n\nLicense:\n\n    Redistribution and use in source and binary forms, with or without\n"


def _tone(seconds, rate, freq, seed):
    """A voiced, vowel-like tone with a little noise (never silent)."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (0.2 * x / np.abs(x).max() + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def _g722_bytes(audio):
    return G722.G722(SR, 64000).encode((np.clip(audio, -1, 1) * 32767).astype(np.int16))


def _package(folder, name, files, copyright_text, version="1.0-1"):
    """A folder laid out like an unpacked .deb: DEBIAN/control, usr/share/doc/NAME/copyright, files."""
    root = folder / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n")
    doc = root / "usr/share/doc" / name
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text)
    for rel, write in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write(root / rel)
    return root


def _as_deb(root, cache):
    """Build a real .deb from an unpacked folder (dpkg-deb --build) into ``cache``."""
    control = (root / "DEBIAN" / "control").read_text()
    name = control.split("Package: ")[1].split("\n")[0]
    deb = cache / f"{name}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """A cache folder with two .deb files (voice prompts as G.722 in two voices; two 40-second
    Ogg tracks and short WAV effects) and one unpacked package folder (FLAC clips)."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed (not a Debian system)")
    work = tmp_path_factory.mktemp("pkgs")
    cache = tmp_path_factory.mktemp("cache")
    prompts = {}
    for lang, base in (("fr", 180), ("ru", 220)):
        for i in range(12):
            audio = _tone(0.8 + 0.1 * i, SR, base + 7 * i, i)
            prompts[f"usr/share/sounds/{lang}/p{i:02d}.g722"] = lambda p, a=audio: p.write_bytes(_g722_bytes(a))
        prompts[f"usr/share/sounds/{lang}/silence/1.g722"] = lambda p: p.write_bytes(_g722_bytes(np.zeros(SR)))
    _as_deb(_package(work, "earshot-test-voices", prompts, DEP5), cache)
    music = {f"usr/share/games/t/music/track{i}.ogg":
             lambda p, i=i: sf.write(p, _tone(40, 22050, 110 * (i + 1), i), 22050, format="OGG") for i in range(3)}
    music.update({f"usr/share/games/t/sfx/fx{i}.wav": lambda p, i=i: sf.write(p, _tone(0.5, 44100, 900 + 50 * i, i), 44100)
                  for i in range(6)})
    _as_deb(_package(work, "earshot-test-game", music, BSD), cache)
    _package(cache, "earshot-test-clips", {f"usr/share/clips/c{i}.flac": lambda p, i=i: sf.write(p, _tone(1.5, 8000, 300 + i, i), 8000)
                                           for i in range(5)}, DEP5)
    return cache


SOURCES = (
    RealSource("earshot-test-voices", "speech", "usr/share/sounds/fr/**/*.g722", language="fr", join=True,
               exclude=("*/silence/*",)),
    RealSource("earshot-test-voices", "speech", "usr/share/sounds/ru/**/*.g722", language="ru", join=True,
               licence_files="ru-*", exclude=("*/silence/*",)),
    RealSource("earshot-test-game", "music", "usr/share/**/*.ogg"),
    RealSource("earshot-test-game", "noise", "usr/share/**/*.wav", join=True),
    RealSource("earshot-test-clips", "noise", "usr/share/clips/*.flac", join=True),
)


@pytest.fixture(scope="module")
def built(debs, tmp_path_factory):
    root = tmp_path_factory.mktemp("real") / "c"
    corpus.build_corpus(root, minutes=0.04, seed=5, progress=False, real_minutes=2.0, real_sources=SOURCES,
                        deb_cache=debs, download=False)
    return root


# ------------------------------------------------------------------------------------ deny-list

@pytest.mark.parametrize("name", ["pocketsphinx-testdata", "asterisk-core-sounds-en", "asterisk-core-sounds-en-wav",
                                  "asterisk-core-sounds-en-gsm", "asterisk-core-sounds-en-g722", "wesnoth-music",
                                  "wesnoth-1.16-music", "wesnoth-data", "Wesnoth-Music"])
def test_reserved_packages_are_refused(name, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get: the refusal comes before any download
    with pytest.raises(debian.ReservedPackageError, match="reserved for independent evaluation"):
        debian.check_allowed(name)
    with pytest.raises(debian.ReservedPackageError):
        debian.fetch(name, tmp_path)
    with pytest.raises(debian.ReservedPackageError):
        recordings.scan((RealSource(name, "speech", "**/*.wav"),), tmp_path, download=False)


def test_reserved_packages_are_refused_by_their_control_file_and_name(tmp_path):
    root = _package(tmp_path, "wesnoth-music", {}, BSD)
    with pytest.raises(debian.ReservedPackageError):
        debian.unpack(root, tmp_path / "out")
    fake = tmp_path / "asterisk-core-sounds-en-wav_1.6.1-1_all.deb"
    fake.write_bytes(b"!<arch>\n")
    with pytest.raises(debian.ReservedPackageError):
        debian.unpack(fake, tmp_path / "out")
    assert cli(["corpus", "fetch", "--deb-cache", str(tmp_path), "pocketsphinx-testdata"]) == 2


def test_catalogue_avoids_the_reserved_packages():
    names = recordings.packages()
    assert len(names) >= 8 and "asterisk-core-sounds-fr-g722" in names
    for name in names:
        assert debian.check_allowed(name) == name
    assert {s.kind for s in recordings.SOURCES} == {"speech", "music", "noise"}
    assert len({s.language for s in recordings.SOURCES if s.kind == "speech"}) == 4


# ------------------------------------------------------------------------------------ licences, decoding

def test_licence_from_dep5_stanzas_and_free_text():
    assert debian.licence(DEP5) == "CC-BY-SA-3.0"
    assert debian.licence(DEP5, files="ru-*") == "CC-BY-3.0"
    assert debian.licence(DEP5, files="it-*") == "CC-BY-3.0"
    assert debian.licence(BSD) == "BSD"
    with pytest.raises(DataError, match="Files: es-"):
        debian.licence(DEP5, files="es-*")
    with pytest.raises(DataError, match="no licence"):
        debian.licence("All rights reserved.")


def test_g722_decodes_to_the_encoded_tone_and_excerpts_have_their_length(tmp_path):
    tone = _tone(2.0, SR, 440, 0)
    path = tmp_path / "a.g722"
    path.write_bytes(_g722_bytes(tone))
    assert debian.duration(path) == pytest.approx(2.0)
    audio, rate = debian.decode(path)
    assert rate == SR and audio.shape == tone.shape
    # G.722 adds a small delay; the decoded tone matches the input at its best lag
    lags = [np.corrcoef(tone[200:-200], audio[200 + d:len(audio) - 200 + d])[0, 1] for d in range(0, 40)]
    assert max(lags) > 0.98
    part, _ = debian.decode(path, start=0.5, seconds=0.25)
    assert part.shape == (SR // 4,)
    ogg = tmp_path / "b.ogg"
    sf.write(ogg, np.stack([tone, tone], 1), SR, format="OGG")
    part, rate = debian.decode(ogg, start=1.0, seconds=0.5)
    assert rate == SR and part.shape == (SR // 2,) and np.abs(part).max() > 0.05
    silent = tmp_path / "s.g722"
    silent.write_bytes(_g722_bytes(np.zeros(SR)))
    with pytest.raises(AudioFileError, match="silence"):
        debian.decode(silent)
    item = {"params": {"package": "p", "files": ["s.g722", "a.g722", "s.g722"], "level_db": -20.0}}
    joined = recordings.render_real(item, {"p": tmp_path}, 8000)  # the silent clips are left out
    assert item["params"]["files"] == ["a.g722"] and abs(len(joined) / 8000 - 2.0) < 0.05
    with pytest.raises(AudioFileError, match="silence"):
        recordings.render_real({"params": {"package": "p", "files": ["s.g722"], "level_db": -20.0}}, {"p": tmp_path}, 8000)


# ------------------------------------------------------------------------------------ splits and plan

def test_each_recording_keeps_its_split_whatever_the_seed_and_minutes(debs):
    recs = recordings.scan(SOURCES, debs, download=False)
    assert {(r.package.name, r.package.version) for r in recs} >= {("earshot-test-voices", "1.0-1")}
    assert not any("silence" in r.path for r in recs)
    again = recordings.scan(SOURCES, debs, download=False)
    assert [(r.path, r.split) for r in recs] == [(r.path, r.split) for r in again]
    per_group = defaultdict(lambda: defaultdict(int))
    for r in recs:
        per_group[r.source.group][r.split] += 1
    for group, counts in per_group.items():
        assert counts["test"] >= 1 and counts["valid"] >= 1 and counts["train"] >= 1, group
    split_of = {(r.package.name, r.path): r.split for r in recs}
    for seed, minutes in ((0, 1.0), (1, 3.0), (7, 0.3)):
        for item in recordings.plan_real(recs, minutes, np.random.default_rng(seed)):
            for rel in item["params"]["files"]:
                assert split_of[(item["params"]["package"], rel)] == item["split"]


def test_plan_is_seeded_and_covers_every_source_and_split(debs):
    recs = recordings.scan(SOURCES, debs, download=False)
    a = recordings.plan_real(recs, 2.0, np.random.default_rng(3))
    assert a == recordings.plan_real(recs, 2.0, np.random.default_rng(3))
    assert a != recordings.plan_real(recs, 2.0, np.random.default_rng(4))
    covered = {(i["params"]["package"], i["kind"], i["params"].get("language"), i["split"]) for i in a}
    groups = {(s.package, s.kind, s.language) for s in SOURCES}
    assert covered == {g + (s,) for g in groups for s in corpus.SPLITS}
    music = [i for i in a if i["kind"] == "music"]
    # excerpts of one 40-second track never overlap and stay inside it
    spans = defaultdict(list)
    for item in music:
        p = item["params"]
        assert p["start"] >= 0 and p["start"] + p["seconds"] <= p["recording_seconds"] + 1e-6
        spans[p["files"][0]].append((p["start"], p["start"] + p["seconds"]))
    for intervals in spans.values():
        intervals.sort()
        assert all(b[0] >= a_[1] - 1e-6 for a_, b in zip(intervals, intervals[1:]))


# ------------------------------------------------------------------------------------ a build

def test_build_records_package_version_files_licence_and_origin(built):
    data = json.loads((built / "manifest.json").read_text())
    real = [e for e in data["items"] if e.get("origin") == "real"]
    assert real and all(e["origin"] == "synthetic" for e in data["items"] if e not in real)
    for e in real:
        p = e["params"]
        assert e["source"] == f"debian:{p['package']}" and p["version"] == "1.0-1"
        assert p["files"] and all(f.startswith("usr/share/") for f in p["files"])
        expected = {"earshot-test-game": "BSD", "earshot-test-clips": "CC-BY-SA-3.0"}.get(
            p["package"], "CC-BY-3.0" if p.get("language") == "ru" else "CC-BY-SA-3.0")
        assert p["licence"] == expected
        assert (e["kind"] == "speech") == ("language" in p)
    splits_of = defaultdict(set)  # no source recording in two splits
    for e in real:
        for rel in e["params"]["files"]:
            splits_of[(e["params"]["package"], rel)].add(e["split"])
    assert splits_of and all(len(s) == 1 for s in splits_of.values())
    assert {next(iter(s)) for s in splits_of.values()} == set(corpus.SPLITS)
    assert set(data["real"]["packages"]) == {"earshot-test-voices", "earshot-test-game", "earshot-test-clips"}
    for entry in data["real"]["packages"].values():
        assert (built / entry["copyright"]).read_text().strip()
    assert "pocketsphinx-testdata" in data["real"]["reserved"]


def test_real_items_are_at_the_corpus_rate_and_level(built):
    items = corpus.load_manifest(built, origin="real")
    assert {i.origin for i in items} == {"real"} and {i.kind for i in items} == {"speech", "music", "noise"}
    assert {i.origin for i in corpus.load_manifest(built, origin="synthetic")} == {"synthetic"}
    assert len(corpus.load_manifest(built, kind="music", split="test", origin="real")) >= 1
    for item in items:
        audio, rate = sf.read(item.path)
        assert rate == SR and audio.ndim == 1 and abs(len(audio) / rate - item.duration) < 1e-3
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio**2)))
        assert abs(rms_db - item.params["level_db"]) < 1.5 or np.abs(audio).max() > 0.98  # a limited peak
    speech = [i for i in items if i.kind == "speech"]
    joined = [i for i in speech if i.split == "train"]  # short prompts joined into utterances
    assert max(len(i.params["files"]) for i in joined) >= 5 and max(i.duration for i in joined) > 6
    music = [i for i in items if i.kind == "music"]
    assert all(abs(i.duration - i.params["seconds"]) < 0.25 for i in music)  # excerpts, resampled 22.05 -> 16 kHz


def test_build_is_deterministic_offline_and_real_items_leave_synthetic_ones_alone(built, debs, tmp_path, monkeypatch):
    monkeypatch.setattr(recordings, "SOURCES", SOURCES)  # the CLI builds from the catalogue
    again = tmp_path / "again"
    assert cli(["corpus", "build", str(again), "--minutes", "0.04", "--seed", "5", "--real", "2",
                "--deb-cache", str(debs), "--offline"]) == 0
    assert cli(["corpus", "build", str(tmp_path / "x"), "--real", "--packages", "nope", "--offline"]) == 2
    assert [s.language for s in recordings.select(["earshot-test-voices"])] == ["fr", "ru"]
    for item in corpus.load_manifest(built):
        assert (again / item.path.relative_to(built)).read_bytes() == item.path.read_bytes()
    plain = corpus.plan_corpus(0.04, seed=5)
    with_real = corpus.plan_corpus(0.04, seed=5, real=recordings.scan(SOURCES, debs, download=False), real_minutes=2.0)
    assert with_real.items[:len(plain.items)] == plain.items


def test_offline_build_without_the_package_names_it(tmp_path):
    with pytest.raises(DataError, match="earshot-test-missing"):
        recordings.scan((RealSource("earshot-test-missing", "music", "**/*.ogg"),), tmp_path, download=False)


def test_info_shows_real_rows(built, capsys):
    assert cli(["corpus", "info", str(built)]) == 0
    out = capsys.readouterr().out
    assert "real" in out and "synthetic" in out


# ------------------------------------------------------------------------------------ a real Debian package

def test_a_real_debian_package_from_the_catalogue():
    """bucklespring-data (2.6 MB, keyboard recordings): fetched once into the cache by the set-up
    (`earshot corpus fetch bucklespring-data`), or here with apt-get download."""
    source = next(s for s in recordings.SOURCES if s.package == "bucklespring-data")
    try:
        debian.fetch(source.package)
    except (DataError, ToolMissingError) as exc:
        pytest.skip(f"bucklespring-data is not cached and cannot be downloaded here: {exc}")
    recs = recordings.scan((source,))
    assert len(recs) >= 100 and {r.licence for r in recs} == {"GPL-2+"}
    assert {r.split for r in recs} == set(corpus.SPLITS)
    assert all(r.package.version and r.path.endswith(".wav") for r in recs)
    item = recordings.plan_real(recs, 0.5, np.random.default_rng(0))[0]
    audio = recordings.render_real(item, {source.package: recs[0].package.root}, SR)
    assert 4.0 <= len(audio) / SR <= 9.0 and np.abs(audio).max() > 0.1
