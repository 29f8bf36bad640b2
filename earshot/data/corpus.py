"""The built-in corpus: speech (espeak-ng), music (fluidsynth) and noise, with a manifest;
optionally real recordings from Debian packages beside them.

``build_corpus(root, minutes=30, sample_rate=16000, seed=0)`` draws everything random in one
planning step (``plan_corpus``), then renders each item deterministically, in parallel; the same
seed gives the same bytes. Splits are disjoint by sentence, by speaker (espeak-ng voice variant)
and by song; babble noise is mixed only from speech of its own split.

``real_minutes=30`` adds real voice prompts, music and sound effects (``sources/recordings.py``:
fetched once with ``apt-get download``, offline after that). Each real item records its package,
version, files and licence; a source recording never crosses splits. Real items draw from their
own random stream, so adding them leaves the synthetic items as they were.

Layout of ``root``::

    manifest.json             {"format": "earshot-corpus", "version", "sample_rate", "seed", "items": [...]}
    speech/speech-0000.flac   mono, 16-bit FLAC at the corpus sample rate
    music/music-0000.flac
    noise/noise-0000.flac
    speech/speech-real-0000.flac   real recordings (with ``real_minutes``)
    licences/PKG.copyright    the copyright file of each Debian package used

``load_manifest(root, kind=..., split=..., origin=...)`` reads it back as ``CorpusItem`` records.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from earshot.audio.io import save
from earshot.data.sources import music as music_src
from earshot.data.sources import noise as noise_src
from earshot.data.sources import recordings as real_src
from earshot.data.sources import speech as speech_src
from earshot.data.sources.levels import fade, set_level, to_rate, trim_silence
from earshot.errors import ConfigError, DataError
from earshot.validate import check_sample_rate

KINDS = ("speech", "music", "noise")
SPLITS = ("train", "valid", "test")
ORIGINS = ("synthetic", "real")
SYNTHETIC_SOURCE = {"speech": "espeak-ng", "music": "fluidsynth", "noise": "earshot"}
FRACTIONS = (0.8, 0.1, 0.1)
SHARES = {"speech": 0.45, "music": 0.35, "noise": 0.20}  # of the corpus minutes
# Where commands look for the corpus unless told: $EARSHOT_CORPUS, else ./corpus (`earshot corpus build corpus`).
DEFAULT_CORPUS = os.environ.get("EARSHOT_CORPUS", "corpus")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CorpusItem:
    """One corpus file: absolute ``path``, ``kind`` (speech|music|noise), ``duration`` in
    seconds, ``split`` (train|valid|test), the ``params`` that made it, its ``origin``
    (synthetic|real) and ``source`` (``espeak-ng``, ``fluidsynth``, ``earshot`` or ``debian:PKG``)."""

    path: Path
    kind: str
    duration: float
    split: str
    params: dict = field(default_factory=dict, compare=False, hash=False)
    origin: str = "synthetic"
    source: str = ""


@dataclass
class CorpusPlan:
    """Everything random about a corpus, drawn up front: items ``(id, kind, split, params)``."""

    seed: int
    sample_rate: int
    items: list[dict]
    split_sentences: dict[str, list[int]]
    split_speakers: dict[str, list[str]]


def plan_corpus(minutes: float = 30.0, *, seed: int = 0, sample_rate: int = 16000,
                real: list | None = None, real_minutes: float = 0.0) -> CorpusPlan:
    """Draw the corpus' contents (no audio is made here). ``real``: recordings from
    ``recordings.scan`` to draw ``real_minutes`` of real items from (their own random stream)."""
    if not minutes > 0:
        raise ConfigError(f"minutes must be positive, got {minutes!r}")
    rng = np.random.default_rng(seed)
    texts = speech_src.sentences()
    split_sentences = _split_pool(rng, list(range(len(texts))))
    split_speakers = _split_pool(rng, list(speech_src.SPEAKERS))
    items: list[dict] = []
    for kind in KINDS:
        target = minutes * 60 * SHARES[kind]
        labels, total, i = _split_stream(rng), 0.0, 0
        while total < target or i < 3:
            split = next(labels)
            if kind == "speech":
                params = speech_src.draw_utterance(rng, split_speakers[split], split_sentences[split])
                seconds = _speech_seconds(params, texts)
            elif kind == "music":
                seconds = float(np.round(min(rng.uniform(8, 20), max(target - total, 3.0)), 2))
                params = music_src.draw_song(rng, seconds)
                params["level_db"] = float(np.round(rng.uniform(-26, -16), 2))
            else:
                seconds = float(np.round(min(rng.uniform(5, 12), max(target - total, 3.0)), 2))
                params = noise_src.draw_noise(rng, seconds)
            items.append({"id": f"{kind}-{i:04d}", "kind": kind, "split": split, "params": params,
                          "origin": "synthetic", "source": SYNTHETIC_SOURCE[kind]})
            total += seconds
            i += 1
    if real_minutes > 0:
        if not real:
            raise ConfigError("real_minutes > 0 needs recordings (recordings.scan)")
        drawn = real_src.plan_real(real, real_minutes, np.random.default_rng([seed, 1]))
        for kind in KINDS:
            mine = [it for it in drawn if it["kind"] == kind]
            items += [{"id": f"{kind}-real-{i:04d}", **it} for i, it in enumerate(mine)]
    return CorpusPlan(seed, sample_rate, items, split_sentences, split_speakers)


def build_corpus(root, *, minutes: float = 30.0, sample_rate: int = 16000, seed: int = 0,
                 jobs: int = 2, progress: bool = True, overwrite: bool = False,
                 real_minutes: float = 0.0, real_sources=None, deb_cache=None,
                 download: bool = True) -> Path:
    """Make the corpus in ``root`` and return the manifest path.

    ``real_minutes``: minutes of real recordings to add, from the Debian packages of
    ``real_sources`` (default ``recordings.SOURCES``; ``.deb`` files kept in ``deb_cache``,
    fetched with ``apt-get download`` when missing and ``download`` is on).

    Raises:
        ToolMissingError: espeak-ng, fluidsynth, the GM soundfont (or, for real items, apt/dpkg) is missing.
        ConfigError: ``root`` already holds a corpus and ``overwrite`` is False.
        ReservedPackageError: a real source is a package reserved for evaluation.
    """
    sample_rate = check_sample_rate(sample_rate)
    speech_src.check_espeak(), music_src.check_fluidsynth(), music_src.find_soundfont()
    root = Path(root)
    if (root / MANIFEST).exists() and not overwrite:
        raise ConfigError(f"{root} already holds a corpus ({MANIFEST}); pass overwrite=True / --overwrite")
    sources = real_src.SOURCES if real_sources is None else real_sources
    real = real_src.scan(sources, deb_cache, download=download) if real_minutes > 0 else []
    plan = plan_corpus(minutes, seed=seed, sample_rate=sample_rate, real=real, real_minutes=real_minutes)
    texts = speech_src.sentences()
    bar = tqdm(total=len(plan.items), desc="corpus", unit="item", disable=not progress, file=sys.stderr)
    by_kind = {k: [it for it in plan.items if it["kind"] == k and it["origin"] == "synthetic"] for k in KINDS}
    records: dict[str, dict] = {}
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        speech_audio = {}
        for item, audio in zip(by_kind["speech"], pool.map(lambda it: _speech(it, texts, sample_rate), by_kind["speech"])):
            speech_audio[item["id"]] = audio
            records[item["id"]] = _write(root, item, audio, sample_rate, overwrite)
            bar.update()
        chunks = _chunks(by_kind["music"], max(1, jobs) * 2)
        for chunk, audios in zip(chunks, pool.map(lambda c: music_src.render_many([it["params"] for it in c], sample_rate), chunks)):
            for item, audio in zip(chunk, audios):
                records[item["id"]] = _write(root, item, _finish_music(audio, item["params"], sample_rate), sample_rate, overwrite)
                bar.update()
        pools = {s: [speech_audio[it["id"]] for it in by_kind["speech"] if it["split"] == s] for s in SPLITS}
        noise = lambda it: noise_src.render_noise(it["params"], sample_rate, speech=pools[it["split"]])  # noqa: E731
        for item, audio in zip(by_kind["noise"], pool.map(noise, by_kind["noise"])):
            records[item["id"]] = _write(root, item, audio, sample_rate, overwrite)
            bar.update()
        roots = {rec.package.name: rec.package.root for rec in real}
        reals = [it for it in plan.items if it["origin"] == "real"]
        for item, audio in zip(reals, pool.map(lambda it: real_src.render_real(it, roots, sample_rate), reals)):
            records[item["id"]] = _write(root, item, audio, sample_rate, overwrite)
            bar.update()
    bar.close()
    manifest = {
        "format": "earshot-corpus", "version": FORMAT_VERSION, "sample_rate": sample_rate, "seed": seed,
        "minutes": minutes, "splits": {"sentences": plan.split_sentences, "speakers": plan.split_speakers},
        "real": _real_summary(root, real, real_minutes),
        "items": [records[it["id"]] for it in plan.items],
    }
    return _write_json(root / MANIFEST, manifest)


def load_manifest(root, *, kind: str | list[str] | None = None, split: str | None = None,
                  origin: str | None = None) -> list[CorpusItem]:
    """Read ``root/manifest.json`` -> list of ``CorpusItem`` (absolute paths), optionally
    filtered by kind, split and origin (``"synthetic"`` or ``"real"``).

    Raises:
        DataError: no manifest, or a malformed one (names the file and the entry at fault).
    """
    root = Path(root).resolve()
    path = root / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: no corpus manifest here (build one with `earshot corpus build {root}`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["items"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a corpus manifest ({exc})") from None
    kinds = {kind} if isinstance(kind, str) else set(kind) if kind is not None else None
    for name, allowed, values in (("kind", KINDS, kinds or ()), ("split", SPLITS, (split,) if split else ()),
                                  ("origin", ORIGINS, (origin,) if origin else ())):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ConfigError(f"{name} must be in {allowed}, got {bad[0]!r}")
    items = []
    for i, e in enumerate(entries):
        try:
            item = CorpusItem(root / e["path"], e["kind"], float(e["duration"]), e["split"], dict(e.get("params", {})),
                              e.get("origin", "synthetic"), e.get("source", SYNTHETIC_SOURCE.get(e["kind"], "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: item {i} is malformed ({exc})") from None
        if (kinds is None or item.kind in kinds) and (split is None or item.split == split) \
                and (origin is None or item.origin == origin):
            items.append(item)
    return items


# ----------------------------------------------------------------------------------- helpers

def _split_pool(rng, values: list) -> dict[str, list]:
    """Shuffle ``values`` and cut them into disjoint train/valid/test pools (each non-empty)."""
    order = [values[i] for i in rng.permutation(len(values))]
    n_valid = max(1, int(round(len(order) * FRACTIONS[1])))
    n_test = max(1, int(round(len(order) * FRACTIONS[2])))
    return {"valid": order[:n_valid], "test": order[n_valid:n_valid + n_test], "train": order[n_valid + n_test:]}


def _split_stream(rng):
    """Endless split labels in blocks of ten (8 train, 1 valid, 1 test, shuffled); the first
    block starts train, valid, test so that even a three-item corpus has every split."""
    block = 0
    while True:
        rest = [SPLITS[0]] * 7 if block == 0 else list(SPLITS[0:1] * 8 + SPLITS[1:])
        order = [rest[k] for k in rng.permutation(len(rest))]
        yield from (list(SPLITS) + order) if block == 0 else order
        block += 1


def _speech_seconds(params, texts) -> float:
    words = len(texts[params["sentence_id"]].split())
    return words * 60.0 / params["rate_wpm"] * 0.85 + 0.2  # fitted to espeak-ng after trimming


def _speech(item, texts, sample_rate) -> np.ndarray:
    params = item["params"]
    text = texts[params["sentence_id"]]
    params["text"] = text
    audio = speech_src.synthesize(params, text)
    audio = trim_silence(audio, speech_src.ESPEAK_RATE)
    audio = to_rate(audio, speech_src.ESPEAK_RATE, sample_rate)
    return set_level(audio, params["level_db"])


def _finish_music(audio, params, sample_rate) -> np.ndarray:
    audio = fade(audio, sample_rate, fade_in=0.01, fade_out=min(0.5, params["seconds"] / 4))
    return set_level(audio, params["level_db"])


def _real_summary(root: Path, recordings: list, minutes: float) -> dict:
    """Per package: version, licence, recordings and their splits; copies each package's
    copyright file to ``root/licences/PKG.copyright``."""
    packages: dict[str, dict] = {}
    for rec in recordings:
        if rec.package.name not in packages:
            rel = f"licences/{rec.package.name}.copyright"
            packages[rec.package.name] = {"version": rec.package.version, "licence": {}, "copyright": rel,
                                          "recordings": {s: 0 for s in SPLITS}}
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(rec.package.copyright_text(), encoding="utf-8")
        entry = packages[rec.package.name]
        entry["licence"][rec.source.kind] = rec.licence
        entry["recordings"][rec.split] += 1
    return {"minutes": minutes, "reserved": list(real_src.debian.RESERVED), "packages": packages}


def _chunks(items: list, count: int) -> list[list]:
    size = max(1, -(-len(items) // count))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _write(root: Path, item: dict, audio: np.ndarray, sample_rate: int, overwrite: bool) -> dict:
    rel = f"{item['kind']}/{item['id']}.flac"
    save(root / rel, audio[None], sample_rate, overwrite=overwrite)
    return {"id": item["id"], "path": rel, "kind": item["kind"], "split": item["split"],
            "origin": item["origin"], "source": item["source"],
            "duration": round(len(audio) / sample_rate, 6), "params": item["params"]}


def _write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
