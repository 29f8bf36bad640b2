"""Torch datasets: the built-in corpus, your folders of audio, paired (clean, processed) data,
multitracks in the MUSDB18/DSD100 layouts, unpaired folders, and listener judgment lists.

Excerpts are random but reproducible: item ``i`` of epoch ``e`` is drawn from a generator seeded
with ``(seed, e, i)``, so the same seed gives the same data in any worker, in any order
(call ``set_epoch(e)`` to get fresh excerpts each epoch). Excerpts whose RMS is below
``silence_db`` dBFS are re-drawn (up to ``tries`` times), so models do not train on silence.
Audio items are float32 ``(channels, samples)`` tensors at ``sample_rate``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from earshot.audio.io import AUDIO_EXTENSIONS, load
from earshot.data.excerpts import excerpt_start
from earshot.data.judgments import JudgmentListDataset
from earshot.data.shards import ShardReader
from earshot.errors import AudioFileError, ConfigError, DataError, SampleRateError
from earshot.validate import check_sample_rate

log = logging.getLogger("earshot.data")

__all__ = ["CorpusDataset", "AudioFolderDataset", "PairedDataset", "MultitrackDataset",
           "UnpairedFolderDataset", "JudgmentListDataset", "find_audio"]


def find_audio(root, *, extensions=AUDIO_EXTENSIONS) -> list[Path]:
    """Every audio file under ``root`` (recursive, sorted), by extension (case-insensitive)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    exts = {e.lower() for e in extensions}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."))


class _Excerpts(Dataset):
    """Random fixed-length excerpts from a list of files (the shared machinery)."""

    def __init__(self, files, *, segment_seconds: float, sample_rate: int, seed: int, mono: bool,
                 items_per_epoch: int | None, silence_db: float, tries: int, cache: bool | str | Path,
                 min_seconds: float = 0.0):
        self.sample_rate = check_sample_rate(sample_rate)
        if not segment_seconds > 0:
            raise ConfigError(f"segment_seconds must be positive, got {segment_seconds!r}")
        self.segment = int(round(segment_seconds * self.sample_rate))
        self.seed, self.mono, self.silence_db, self.tries = seed, mono, silence_db, tries
        self.epoch = 0
        self.cache_dir = Path(cache) if isinstance(cache, (str, Path)) else None
        self._memory = {} if cache is True else None
        self.files, self.frames, self.skipped = [], [], []
        for path in files:
            try:
                frames = self._frames(path)
                if frames < min_seconds * self.sample_rate:
                    raise AudioFileError(path, f"too short ({frames / self.sample_rate:.3f} s < {min_seconds} s)")
            except AudioFileError as exc:
                self.skipped.append((str(path), exc.reason))
                log.warning("skipping %s", exc)
                continue
            self.files.append(Path(path))
            self.frames.append(frames)
        if not self.files:
            raise DataError(f"no readable audio files ({len(self.skipped)} skipped)")
        self.length = items_per_epoch or len(self.files)

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _frames(self, path) -> int:
        """File length in frames at ``sample_rate``."""
        from earshot.audio.io import info

        i = info(path)
        if i.frames <= 0:
            raise AudioFileError(path, "contains no audio samples")
        return int(i.frames * self.sample_rate / i.samplerate)

    def _audio(self, path: Path) -> torch.Tensor:
        """Whole file ``(C, T)`` at ``sample_rate`` through the memory/disk cache."""
        key = str(path)
        if self._memory is not None and key in self._memory:
            return self._memory[key]
        audio = None
        if self.cache_dir is not None:
            stat = path.stat()
            digest = hashlib.sha1(f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{self.sample_rate}|{self.mono}".encode()).hexdigest()
            cached = self.cache_dir / f"{digest[:20]}.npy"
            if cached.exists():
                audio = torch.from_numpy(np.load(cached))
        if audio is None:
            audio, _ = load(path, sample_rate=self.sample_rate, mono=self.mono)
            if self.cache_dir is not None:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                np.save(cached, audio.numpy())
        if self._memory is not None:
            self._memory[key] = audio
        return audio

    def _excerpt(self, path: Path, rng: np.random.Generator, frames: int) -> torch.Tensor:
        """A ``segment``-long excerpt (zero-padded if the file is shorter), avoiding silence."""
        audio = self._audio(path)
        start = excerpt_start(rng, audio, self.segment, silence_db=self.silence_db, tries=self.tries)
        return _fixed(audio[:, start:start + self.segment], self.segment)

    def _pick(self, rng) -> int:
        weights = np.asarray(self.frames, dtype=np.float64)
        return int(rng.choice(len(self.files), p=weights / weights.sum()))

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = self._rng(index)
        k = index if self.length == len(self.files) else self._pick(rng)
        return self._excerpt(self.files[k], rng, self.frames[k])


class AudioFolderDataset(_Excerpts):
    """Fixed-length random excerpts from every audio file under ``root`` (recursive, any format
    libsndfile reads), resampled to ``sample_rate``; unreadable files are skipped and listed in
    ``.skipped``. Items: ``(channels, samples)`` (``(1, samples)`` when ``mono``).

    Args:
        items_per_epoch: ``None``: one excerpt per file in file order; else that many, with
            files drawn in proportion to their length.
        min_seconds: shorter files are skipped (listed in ``.skipped``); longer ones shorter than
            the segment are zero-padded.
        cache: ``True`` keeps decoded files in memory; a folder path caches them there as .npy.
    """

    def __init__(self, root, *, segment_seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0,
                 mono: bool = True, extensions=AUDIO_EXTENSIONS, items_per_epoch: int | None = None,
                 silence_db: float = -50.0, tries: int = 10, cache: bool | str | Path = True,
                 min_seconds: float = 0.0):
        self.root = Path(root)
        super().__init__(find_audio(root, extensions=extensions), segment_seconds=segment_seconds,
                         sample_rate=sample_rate, seed=seed, mono=mono, items_per_epoch=items_per_epoch,
                         silence_db=silence_db, tries=tries, cache=cache, min_seconds=min_seconds)


class CorpusDataset(_Excerpts):
    """Random excerpts ``(1, samples)`` from the built-in corpus (``earshot corpus build``).

    Args:
        root: corpus folder (holds manifest.json).
        kind: "speech", "music", "noise", a list of them, or ``None`` for all.
        split: "train", "valid" or "test".
    """

    def __init__(self, root, *, kind=None, split: str = "train", segment_seconds: float = 1.0,
                 sample_rate: int = 16000, seed: int = 0, items_per_epoch: int | None = None,
                 silence_db: float = -50.0, tries: int = 10, cache: bool | str | Path = True):
        from earshot.data.corpus import load_manifest

        self.items = load_manifest(root, kind=kind, split=split)
        if not self.items:
            raise DataError(f"{root}: no corpus items of kind {kind!r} in split {split!r}")
        self.rate_in_manifest = json.loads((Path(root) / "manifest.json").read_text())["sample_rate"]
        super().__init__([i.path for i in self.items], segment_seconds=segment_seconds, sample_rate=sample_rate,
                         seed=seed, mono=True, items_per_epoch=items_per_epoch, silence_db=silence_db,
                         tries=tries, cache=cache)

    def _frames(self, path) -> int:  # durations are in the manifest: no need to open every file
        item = next((i for i in self.items if i.path == Path(path)), None)
        if item is None:
            return super()._frames(path)
        return int(item.duration * self.sample_rate)


class PairedDataset(Dataset):
    """(clean, processed) pairs, made on the fly from ``source`` or read from shards.

    On the fly: item ``i`` takes ``source[i]`` ``(C, T)``, draws a strength uniformly in
    ``strength`` (a float or a ``(low, high)`` range) and the perturbation's parameters from a
    generator seeded with ``(seed, epoch, i)``, and applies them. ``perturbation`` is a name from
    ``earshot.data.perturb.PERTURBATIONS`` (e.g. "mp3", "opus", "reverb"), or an instance.

    From shards: ``source`` is a `earshot.data.shards.ShardReader` (``perturbation=None``), or
    use ``PairedDataset.from_shards(folder)`` on a folder written by ``earshot pairs make``; the
    items are the saved pairs, with the parameters that were saved.

    Items: ``(clean, processed)``, or ``(clean, processed, params_json)`` with ``return_params``.
    """

    def __init__(self, source: "Dataset | ShardReader", perturbation="mp3", *, strength=(0.0, 1.0),
                 sample_rate: int = 16000, seed: int = 0, return_params: bool = False):
        self.source, self.sample_rate, self.seed = source, check_sample_rate(sample_rate), seed
        self.return_params, self.epoch = return_params, 0
        self._shards = source if isinstance(source, ShardReader) else None
        if self._shards is not None:
            self._check_shards(perturbation)
            self.perturbation, self.strength = None, None
            return
        self.perturbation = _perturbation(perturbation)
        low, high = (strength, strength) if isinstance(strength, (int, float)) else strength
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigError(f"strength must lie in [0, 1] with low <= high, got {strength!r}")
        self.strength = (float(low), float(high))

    @classmethod
    def from_shards(cls, folder, *, return_params: bool = False) -> "PairedDataset":
        """The pairs saved in ``folder`` (an ``index.json`` and its shards), at their sample rate."""
        reader = ShardReader(folder)
        return cls(reader, None, sample_rate=reader.sample_rate, return_params=return_params)

    def _check_shards(self, perturbation) -> None:
        if perturbation is not None:
            raise ConfigError(f"pairs read from shards were made already; pass perturbation=None, "
                              f"not {perturbation!r}")
        if self._shards.sample_rate != self.sample_rate:
            raise SampleRateError(f"{self._shards.folder} holds pairs at {self._shards.sample_rate} Hz, "
                                  f"not {self.sample_rate} Hz")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if self._shards is None and hasattr(self.source, "set_epoch"):
            self.source.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        if self._shards is not None:
            clean, processed, params = self._shards[index]
        else:
            clean = self.source[index]
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            strength = float(rng.uniform(*self.strength)) if self.strength[0] < self.strength[1] else self.strength[0]
            params = self.perturbation.sample(strength, rng)
            processed = self.perturbation.apply(clean, self.sample_rate, params)
        if self.return_params:
            return clean, processed, json.dumps(params, sort_keys=True)
        return clean, processed


def _perturbation(perturbation):
    """An instance from a perturbation name or instance (perturb is imported on first use)."""
    from earshot.data.perturb import Perturbation, get_perturbation

    return perturbation if isinstance(perturbation, Perturbation) else get_perturbation(perturbation)


STEMS = ("vocals", "drums", "bass", "other")


class MultitrackDataset(_Excerpts):
    """Mixture and stems from MUSDB18 (decoded WAV) or DSD100 folders; same excerpt in all tracks.

    Layouts: ``root/{train,test}/<song>/{mixture,vocals,drums,bass,other}.wav`` (MUSDB18) or
    ``root/Mixtures/{Dev,Test}/<song>/mixture.wav`` with ``root/Sources/{Dev,Test}/<song>/
    {vocals,drums,bass,other}.wav`` (DSD100). ``subset``: "train"/"test" (MUSDB) or "Dev"/"Test"
    (DSD100); ``None`` takes both. Items: ``(mixture (C, T), stems (S, C, T))`` in ``stems``
    order; a missing mixture is the sum of the stems.
    """

    def __init__(self, root, *, subset: str | None = None, stems=STEMS, segment_seconds: float = 3.0,
                 sample_rate: int = 44100, seed: int = 0, mono: bool = False, items_per_epoch: int | None = None,
                 silence_db: float = -50.0, tries: int = 10, cache: bool | str | Path = False):
        self.root, self.stems = Path(root), tuple(stems)
        self.tracks = self._find_tracks(subset)
        if not self.tracks:
            raise DataError(f"{root}: no MUSDB18/DSD100 tracks found (subset={subset!r})")
        super().__init__([t["first"] for t in self.tracks], segment_seconds=segment_seconds, sample_rate=sample_rate,
                         seed=seed, mono=mono, items_per_epoch=items_per_epoch, silence_db=silence_db,
                         tries=tries, cache=cache)
        by_first = {str(t["first"]): t for t in self.tracks}
        self.tracks = [by_first[str(f)] for f in self.files]

    def _find_tracks(self, subset):
        tracks = []
        for song in sorted(p for p in self.root.glob("*/*") if p.is_dir() and p.parent.name in ("train", "test")):
            if subset in (None, song.parent.name):
                tracks.append(self._track(song / "mixture.wav", {s: song / f"{s}.wav" for s in self.stems}))
        for mix_dir in sorted(self.root.glob("Mixtures/*/*")):
            if mix_dir.is_dir() and subset in (None, mix_dir.parent.name):
                src = self.root / "Sources" / mix_dir.parent.name / mix_dir.name
                tracks.append(self._track(mix_dir / "mixture.wav", {s: src / f"{s}.wav" for s in self.stems}))
        return [t for t in tracks if t is not None]

    def _track(self, mixture: Path, stems: dict):
        if not all(p.is_file() for p in stems.values()):
            log.warning("skipping %s: missing stems", mixture.parent)
            return None
        return {"mixture": mixture if mixture.is_file() else None, "stems": stems, "first": next(iter(stems.values()))}

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = self._rng(index)
        k = index if self.length == len(self.files) else self._pick(rng)
        track, n = self.tracks[k], self.frames[k]
        stems = [self._audio(track["stems"][s]) for s in self.stems]
        mix = self._audio(track["mixture"]) if track["mixture"] is not None else sum(stems)
        n = min([mix.shape[-1]] + [s.shape[-1] for s in stems])
        start = excerpt_start(rng, mix[:, :n], self.segment, silence_db=self.silence_db, tries=self.tries)
        cut = [_fixed(x[:, start:start + self.segment], self.segment) for x in [mix] + stems]
        return cut[0], torch.stack(cut[1:])


class UnpairedFolderDataset(Dataset):
    """Independent excerpts from several folders, e.g. solo sources ``{"vocals": dir, "drums": dir}``
    or two styles ``{"a": dir_a, "b": dir_b}``. Items: ``dict name -> (C, T)``; each folder's
    excerpt comes from its own generator, so the pairs are unpaired by construction."""

    def __init__(self, folders: dict, *, items_per_epoch: int = 1000, seed: int = 0, **kwargs):
        if not folders:
            raise ConfigError("folders must name at least one folder")
        self.parts = {name: AudioFolderDataset(path, items_per_epoch=items_per_epoch, seed=seed + 7919 * k, **kwargs)
                      for k, (name, path) in enumerate(folders.items())}
        self.length = items_per_epoch

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts.values():
            part.set_epoch(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return {name: part[index] for name, part in self.parts.items()}


def _fixed(x: torch.Tensor, n: int) -> torch.Tensor:
    return torch.nn.functional.pad(x, (0, n - x.shape[-1])).contiguous() if x.shape[-1] < n else x[..., :n].contiguous()

