"""Data for semi-supervised source separation, and the built-in speech-over-music demo task.

The demo task (:class:`SpeechMusicTask`) uses the earshot corpus: speech plays the "vocals"
and music the "accompaniment", at 8192 Hz mono. The corpus' training items of each kind are
shuffled (seeded) and split into disjoint groups of files:

- *paired*: a small fixed set of mixtures with their true sources (``paired_items`` excerpts,
  the same every epoch), the only labelled data;
- *mixtures*: unlabelled mixtures, freshly drawn each epoch from their own files;
- *solo*: unpaired solo excerpts of each source, from yet other files.

Held-out mixtures come from the corpus' ``valid``/``test`` splits (other speakers, sentences and
songs). Every item is a pure function of ``(seed, epoch, index)`` (exact resume); the drawn
parameters (files, offsets, gains) are returned by :meth:`MixtureSet.params`.

Generic pieces for your own data: :class:`SemiSupervisedSet` combines a paired dataset
(``(mix (1, T), sources (K, T))`` items, e.g. :class:`MultitrackSources` over MUSDB18/DSD100),
a dataset of unlabelled mixtures ``(1, T)`` and one dataset of solo excerpts ``(1, T)`` per source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.data.excerpts import draw_nonsilent
from earshot.errors import ConfigError, DataError
from earshot.validate import check_sample_rate

SOURCES = ("vocals", "accompaniment")
KIND_OF = {"vocals": "speech", "accompaniment": "music"}


def segment_samples(frames: int, hop_length: int = 256) -> int:
    """Samples of an excerpt whose centred STFT has exactly ``frames`` frames: ``(frames-1)*hop``."""
    return (int(frames) - 1) * int(hop_length)


class SourcePool:
    """Audio files of one source, loaded lazily (mono, resampled to ``sample_rate``) and kept in
    memory; :meth:`excerpt` cuts a seeded excerpt avoiding silence."""

    def __init__(self, files: Sequence, sample_rate: int, *, silence_db: float = -45.0, tries: int = 10):
        if not files:
            raise DataError("a source pool needs at least one file")
        self.files = [Path(f) for f in files]
        self.sample_rate = check_sample_rate(sample_rate)
        self.silence_db, self.tries = silence_db, tries
        self._cache: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.files)

    def audio(self, k: int) -> torch.Tensor:
        """File ``k`` as ``(1, samples)``."""
        if k not in self._cache:
            from earshot.audio.io import load

            self._cache[k] = load(self.files[k], sample_rate=self.sample_rate, mono=True)[0]
        return self._cache[k]

    def draw(self, rng: np.random.Generator, samples: int) -> dict:
        """Parameters ``{"file": k, "start": s}`` of a non-silent excerpt (the loudest of ``tries``)."""
        def candidate(r: np.random.Generator) -> dict:
            k = int(r.integers(len(self.files)))
            return {"file": k, "start": int(r.integers(0, max(1, self.audio(k).shape[-1] - samples + 1)))}

        params, _ = draw_nonsilent(rng, candidate, lambda p: self.cut(p, samples), silence_db=self.silence_db,
                                   tries=self.tries)
        return params

    def cut(self, params: dict, samples: int) -> torch.Tensor:
        """The excerpt ``(1, samples)`` described by ``params`` (zero-padded past the end)."""
        x = self.audio(params["file"])[:, params["start"]:params["start"] + samples]
        return torch.nn.functional.pad(x, (0, samples - x.shape[-1])).contiguous()


def mix_sources(sources: torch.Tensor, gains_db: Sequence[float], *, peak: float = 0.9, eps: float = 1e-8):
    """Scale ``sources`` ``(K, T)`` to RMS ``gains_db`` (dBFS) each, then all together so that the
    mixture's peak is at most ``peak``. Returns ``(mixture (1, T), sources (K, T))``; the
    mixture is exactly the sum of the returned sources."""
    rms = sources.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(eps)
    target = torch.tensor([10 ** (g / 20) for g in gains_db], dtype=sources.dtype)[:, None]
    scaled = sources / rms * target
    top = float(scaled.sum(0).abs().max())
    if top > peak:
        scaled = scaled * (peak / top)
    return scaled.sum(0, keepdim=True), scaled


class MixtureSet(Dataset):
    """Mixtures of one excerpt per source pool, ``(mix (1, T), sources (K, T))`` per item.

    Gains: accompaniment at ``level_db`` dBFS RMS, each other source ``snr_db`` (uniform in
    the range) above it. ``vary=False``: items do not change with the epoch (a fixed set).
    ``mixture_only=True``: items are the mixture alone ``(1, T)``.
    """

    def __init__(self, pools: Sequence[SourcePool], *, samples: int, items: int, seed: int,
                 snr_db: Sequence[float] = (-5.0, 5.0), level_db: float = -20.0, vary: bool = True,
                 mixture_only: bool = False):
        self.pools, self.samples, self.items, self.seed = list(pools), int(samples), int(items), seed
        self.snr_db, self.level_db, self.vary, self.mixture_only = tuple(snr_db), level_db, vary, mixture_only
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch) if self.vary else 0

    def __len__(self) -> int:
        return self.items

    def params(self, index: int) -> dict:
        """The drawn parameters of item ``index``: per source ``file`` (path), ``start``, ``gain_db``."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        out = []
        for k, pool in enumerate(self.pools):
            p = pool.draw(rng, self.samples)
            gain = self.level_db if k == len(self.pools) - 1 else self.level_db + float(rng.uniform(*self.snr_db))
            out.append({"file": p["file"], "path": str(pool.files[p["file"]]), "start": p["start"], "gain_db": gain})
        return {"sources": out}

    def render(self, params: dict):
        cuts = torch.cat([pool.cut(p, self.samples) for pool, p in zip(self.pools, params["sources"])])
        return mix_sources(cuts, [p["gain_db"] for p in params["sources"]])

    def __getitem__(self, index: int):
        if not 0 <= index < self.items:
            raise IndexError(index)
        mix, sources = self.render(self.params(index))
        return mix if self.mixture_only else (mix, sources)


class SoloSet(Dataset):
    """Unpaired solo excerpts ``(1, T)`` of one source pool at ``level_db`` +- ``spread_db`` dBFS RMS."""

    def __init__(self, pool: SourcePool, *, samples: int, items: int, seed: int, level_db: float = -20.0,
                 spread_db: float = 5.0):
        self.pool, self.samples, self.items, self.seed = pool, int(samples), int(items), seed
        self.level_db, self.spread_db, self.epoch = level_db, spread_db, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        p = self.pool.draw(rng, self.samples)
        gain = self.level_db + float(rng.uniform(-self.spread_db, self.spread_db))
        return mix_sources(self.pool.cut(p, self.samples), [gain])[1]


class MultitrackSources(Dataset):
    """Adapter: :class:`earshot.data.datasets.MultitrackDataset` items -> ``(mix (1, T), sources (K, T))``.

    A source named like a stem takes that stem; ``"accompaniment"`` is the mixture minus the
    other named sources (the sum of the remaining stems). The dataset must be mono.
    """

    def __init__(self, multitrack, sources: Sequence[str] = SOURCES):
        self.data, self.sources = multitrack, tuple(sources)
        stems = tuple(multitrack.stems)
        for s in self.sources:
            if s not in stems and s != "accompaniment":
                raise ConfigError(f"source {s!r} is not a stem of {multitrack.root} ({', '.join(stems)})")

    def set_epoch(self, epoch: int) -> None:
        self.data.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        mix, stems = self.data[index]                   # (1, T), (S, 1, T)
        named = {s: stems[i, 0] for i, s in enumerate(self.data.stems)}
        out = [named[s] if s in named else None for s in self.sources]
        if None in out:
            rest = mix[0] - sum(named[s] for s in self.sources if s in named)
            out = [rest if o is None else o for o in out]
        return mix[:1], torch.stack(out)


class SemiSupervisedSet(Dataset):
    """Training items for a separator: dicts holding, as available,

    - ``"mix"`` ``(1, T)`` and ``"sources"`` ``(K, T)`` from ``paired`` (item ``i % len(paired)``);
    - ``"unpaired_mix"`` ``(1, T)`` from ``mixtures``;
    - ``"solo"`` ``(K, T)``: one excerpt per source from ``solos`` (a sequence in source order).

    ``items`` is the epoch length (default: the largest part).
    """

    def __init__(self, paired: Dataset | None = None, mixtures: Dataset | None = None,
                 solos: Sequence[Dataset] | None = None, *, items: int | None = None):
        if paired is None and mixtures is None:
            raise ConfigError("a separation training set needs paired data, unpaired mixtures, or both")
        if (mixtures is None) != (solos is None):
            raise ConfigError("unpaired mixtures and solo sources go together (the critics need both)")
        self.paired, self.mixtures, self.solos = paired, mixtures, list(solos or [])
        parts = [d for d in (paired, mixtures, *self.solos) if d is not None]
        self.items = items or max(len(d) for d in parts)

    def set_epoch(self, epoch: int) -> None:
        for d in (self.paired, self.mixtures, *self.solos):
            if d is not None and hasattr(d, "set_epoch"):
                d.set_epoch(epoch)

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, index: int) -> dict:
        out = {}
        if self.paired is not None:
            out["mix"], out["sources"] = self.paired[index % len(self.paired)]
        if self.mixtures is not None:
            out["unpaired_mix"] = self.mixtures[index % len(self.mixtures)]
            out["solo"] = torch.cat([s[index % len(s)] for s in self.solos])
        return out


class SpeechMusicTask:
    """The demo task: corpus speech ("vocals") over corpus music ("accompaniment") at 8192 Hz.

    Args:
        root: corpus folder (``earshot corpus build``).
        fractions: shares of the training files (of each kind) for the paired, mixture and
            solo groups, in that order; the groups are disjoint.
        paired_items: size of the fixed labelled set (mixture excerpts).
        segment_frames: training excerpt length in STFT frames (``(frames-1) * hop`` samples).
    """

    def __init__(self, root=DEFAULT_CORPUS, *, sample_rate: int = 8192, hop_length: int = 256,
                 segment_frames: int = 32, fractions: Sequence[float] = (0.1, 0.45, 0.45),
                 paired_items: int = 64, items_per_epoch: int = 512, snr_db: Sequence[float] = (-5.0, 5.0),
                 seed: int = 0):
        from earshot.data.corpus import load_manifest

        if len(fractions) != 3 or min(fractions) <= 0 or sum(fractions) > 1 + 1e-9:
            raise ConfigError(f"fractions must be 3 positive shares summing to <= 1, got {fractions!r}")
        self.root, self.sample_rate, self.seed = Path(root), check_sample_rate(sample_rate), seed
        self.samples = segment_samples(segment_frames, hop_length)
        self.paired_items, self.items_per_epoch, self.snr_db = paired_items, items_per_epoch, tuple(snr_db)
        self.groups: dict[str, dict[str, list[Path]]] = {}
        rng = np.random.default_rng([seed, 90210])
        for source, kind in KIND_OF.items():
            files = [i.path for i in load_manifest(root, kind=kind, split="train")]
            if len(files) < 3:
                raise DataError(f"{root}: need at least 3 training files of kind {kind!r}, found {len(files)}")
            files = [files[i] for i in rng.permutation(len(files))]
            cut1 = max(1, round(fractions[0] * len(files)))
            cut2 = min(len(files) - 1, cut1 + max(1, round(fractions[1] * len(files))))
            end = min(len(files), cut2 + max(1, round(fractions[2] * len(files))))
            self.groups[source] = {"paired": files[:cut1], "mixtures": files[cut1:cut2], "solo": files[cut2:end]}
        self._pools: dict = {}

    def pool(self, source: str, group: str) -> SourcePool:
        """The pool of ``source``'s files in ``group`` (paired|mixtures|solo) or a split (valid|test)."""
        key = (source, group)
        if key not in self._pools:
            if group in ("valid", "test"):
                from earshot.data.corpus import load_manifest

                files = [i.path for i in load_manifest(self.root, kind=KIND_OF[source], split=group)]
            else:
                files = self.groups[source][group]
            self._pools[key] = SourcePool(files, self.sample_rate)
        return self._pools[key]

    def paired(self) -> MixtureSet:
        pools = [self.pool(s, "paired") for s in SOURCES]
        return MixtureSet(pools, samples=self.samples, items=self.paired_items, seed=self.seed + 1,
                          snr_db=self.snr_db, vary=False)

    def mixtures(self) -> MixtureSet:
        pools = [self.pool(s, "mixtures") for s in SOURCES]
        return MixtureSet(pools, samples=self.samples, items=self.items_per_epoch, seed=self.seed + 2,
                          snr_db=self.snr_db, mixture_only=True)

    def solos(self) -> list[SoloSet]:
        return [SoloSet(self.pool(s, "solo"), samples=self.samples, items=self.items_per_epoch,
                        seed=self.seed + 3 + k) for k, s in enumerate(SOURCES)]

    def training_set(self, mode: str = "semi") -> SemiSupervisedSet:
        """``mode``: "supervised" (paired only), "semi" (all three groups), "unsupervised" (no pairs)."""
        if mode not in ("supervised", "semi", "unsupervised"):
            raise ConfigError(f"mode must be supervised, semi or unsupervised, got {mode!r}")
        paired = self.paired() if mode != "unsupervised" else None
        unpaired = mode != "supervised"
        return SemiSupervisedSet(paired, self.mixtures() if unpaired else None, self.solos() if unpaired else None,
                                 items=self.items_per_epoch)

    def held_out(self, split: str = "test", *, items: int = 16, seconds: float = 4.0) -> MixtureSet:
        """Fixed held-out mixtures ``(mix (1, T), sources (K, T))`` from the corpus' ``split``."""
        pools = [self.pool(s, split) for s in SOURCES]
        return MixtureSet(pools, samples=int(round(seconds * self.sample_rate)), items=items,
                          seed=self.seed + 100, snr_db=self.snr_db, vary=False)

    def describe(self) -> dict:
        """The task's plan: files per group and source (names), sizes and settings (JSON-friendly)."""
        return {"corpus": str(self.root), "sample_rate": self.sample_rate, "segment_samples": self.samples,
                "paired_items": self.paired_items, "items_per_epoch": self.items_per_epoch,
                "snr_db": list(self.snr_db), "seed": self.seed,
                "groups": {s: {g: [p.name for p in files] for g, files in groups.items()}
                           for s, groups in self.groups.items()}}

    def save_plan(self, path) -> None:
        Path(path).write_text(json.dumps(self.describe(), indent=2) + "\n")


__all__ = ["MixtureSet", "MultitrackSources", "SOURCES", "SemiSupervisedSet", "SoloSet", "SourcePool",
           "SpeechMusicTask", "mix_sources", "segment_samples"]
