"""The built-in corpus: speech (espeak-ng), music (fluidsynth) and noise, with a manifest.

``build_corpus(root, minutes=30, sample_rate=16000, seed=0)`` draws everything random in one
planning step (``plan_corpus``), then renders each item deterministically, in parallel; the same
seed gives the same bytes. Splits are disjoint by sentence, by speaker (espeak-ng voice variant)
and by song; babble noise is mixed only from speech of its own split.

Layout of ``root``::

    manifest.json             {"format": "earshot-corpus", "version", "sample_rate", "seed", "items": [...]}
    speech/speech-0000.flac   mono, 16-bit FLAC at the corpus sample rate
    music/music-0000.flac
    noise/noise-0000.flac

``load_manifest(root, kind=..., split=...)`` reads it back as ``CorpusItem`` records.
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
from earshot.audio.resample import resample
from earshot.data.sources import music as music_src
from earshot.data.sources import noise as noise_src
from earshot.data.sources import speech as speech_src
from earshot.errors import ConfigError, DataError
from earshot.validate import check_sample_rate

KINDS = ("speech", "music", "noise")
SPLITS = ("train", "valid", "test")
FRACTIONS = (0.8, 0.1, 0.1)
SHARES = {"speech": 0.45, "music": 0.35, "noise": 0.20}  # of the corpus minutes
# Where commands look for the corpus unless told: $EARSHOT_CORPUS, else ./corpus (`earshot corpus build corpus`).
DEFAULT_CORPUS = os.environ.get("EARSHOT_CORPUS", "corpus")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CorpusItem:
    """One corpus file: absolute ``path``, ``kind`` (speech|music|noise), ``duration`` in
    seconds, ``split`` (train|valid|test) and the generator ``params`` that made it."""

    path: Path
    kind: str
    duration: float
    split: str
    params: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class CorpusPlan:
    """Everything random about a corpus, drawn up front: items ``(id, kind, split, params)``."""

    seed: int
    sample_rate: int
    items: list[dict]
    split_sentences: dict[str, list[int]]
    split_speakers: dict[str, list[str]]


def plan_corpus(minutes: float = 30.0, *, seed: int = 0, sample_rate: int = 16000) -> CorpusPlan:
    """Draw the corpus' contents (no audio is made here)."""
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
            items.append({"id": f"{kind}-{i:04d}", "kind": kind, "split": split, "params": params})
            total += seconds
            i += 1
    return CorpusPlan(seed, sample_rate, items, split_sentences, split_speakers)


def build_corpus(root, *, minutes: float = 30.0, sample_rate: int = 16000, seed: int = 0,
                 jobs: int = 2, progress: bool = True, overwrite: bool = False) -> Path:
    """Make the corpus in ``root`` and return the manifest path.

    Raises:
        ToolMissingError: espeak-ng, fluidsynth or the GM soundfont is not installed.
        ConfigError: ``root`` already holds a corpus and ``overwrite`` is False.
    """
    sample_rate = check_sample_rate(sample_rate)
    speech_src.check_espeak(), music_src.check_fluidsynth(), music_src.find_soundfont()
    root = Path(root)
    if (root / MANIFEST).exists() and not overwrite:
        raise ConfigError(f"{root} already holds a corpus ({MANIFEST}); pass overwrite=True / --overwrite")
    plan = plan_corpus(minutes, seed=seed, sample_rate=sample_rate)
    texts = speech_src.sentences()
    bar = tqdm(total=len(plan.items), desc="corpus", unit="item", disable=not progress, file=sys.stderr)
    by_kind = {k: [it for it in plan.items if it["kind"] == k] for k in KINDS}
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
    bar.close()
    manifest = {
        "format": "earshot-corpus", "version": FORMAT_VERSION, "sample_rate": sample_rate, "seed": seed,
        "minutes": minutes, "splits": {"sentences": plan.split_sentences, "speakers": plan.split_speakers},
        "items": [records[it["id"]] for it in plan.items],
    }
    return _write_json(root / MANIFEST, manifest)


def load_manifest(root, *, kind: str | list[str] | None = None, split: str | None = None) -> list[CorpusItem]:
    """Read ``root/manifest.json`` -> list of ``CorpusItem`` (absolute paths), optionally filtered.

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
    for name, allowed, values in (("kind", KINDS, kinds or ()), ("split", SPLITS, (split,) if split else ())):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ConfigError(f"{name} must be in {allowed}, got {bad[0]!r}")
    items = []
    for i, e in enumerate(entries):
        try:
            item = CorpusItem(root / e["path"], e["kind"], float(e["duration"]), e["split"], dict(e.get("params", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: item {i} is malformed ({exc})") from None
        if (kinds is None or item.kind in kinds) and (split is None or item.split == split):
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
    audio = _trim_silence(audio, speech_src.ESPEAK_RATE)
    audio = _to_rate(audio, speech_src.ESPEAK_RATE, sample_rate)
    return _set_level(audio, params["level_db"])


def _finish_music(audio, params, sample_rate) -> np.ndarray:
    fade_in, fade_out = int(0.01 * sample_rate), int(min(0.5, params["seconds"] / 4) * sample_rate)
    audio = audio.astype(np.float64).copy()
    audio[:fade_in] *= np.linspace(0, 1, fade_in)
    audio[len(audio) - fade_out:] *= np.linspace(1, 0, fade_out)
    return _set_level(audio, params["level_db"])


def _trim_silence(audio, sample_rate, *, threshold_db=-50.0, margin=0.1) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > np.abs(audio).max() * 10 ** (threshold_db / 20))[0]
    pad = int(margin * sample_rate)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def _to_rate(audio, orig, target) -> np.ndarray:
    import torch

    return resample(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), orig, target).numpy()


def _set_level(audio, level_db) -> np.ndarray:
    """Scale to ``level_db`` dBFS RMS, then limit the peak to 0.99."""
    audio = np.asarray(audio, dtype=np.float64)
    rms = np.sqrt(np.mean(audio**2))
    if rms > 0:
        audio = audio * (10 ** (level_db / 20) / rms)
    peak = np.abs(audio).max()
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    return audio.astype(np.float32)


def _chunks(items: list, count: int) -> list[list]:
    size = max(1, -(-len(items) // count))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _write(root: Path, item: dict, audio: np.ndarray, sample_rate: int, overwrite: bool) -> dict:
    rel = f"{item['kind']}/{item['id']}.flac"
    save(root / rel, audio[None], sample_rate, overwrite=overwrite)
    return {"id": item["id"], "path": rel, "kind": item["kind"], "split": item["split"],
            "duration": round(len(audio) / sample_rate, 6), "params": item["params"]}


def _write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
