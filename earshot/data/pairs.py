"""Codec pairs: (clean, real-codec-coded) excerpts written to shards with the parameters that made them.

``make_codec_pairs(out, source=corpus_or_folder, count=...)`` writes a pairs folder in the shard
format of `earshot.data.shards` (``ShardReader`` and ``PairedDataset.from_shards`` read it back).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from earshot.data.datasets import AudioFolderDataset, CorpusDataset
from earshot.data.perturb import get_perturbation
from earshot.data.shards import ShardWriter
from earshot.errors import ConfigError

CODECS = ("mp3", "opus")


def make_codec_pairs(out, *, source, count: int = 1000, codecs=CODECS, strength=(0.0, 1.0),
                     segment_seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0,
                     kind=None, split: str = "train", shard_size: int = 256, progress: bool = True,
                     overwrite: bool = False) -> Path:
    """Write ``count`` (clean, real-codec-coded) pairs to shards in ``out``; returns the index path.

    ``source`` is a corpus folder (a ``manifest.json`` inside: excerpts of ``kind``/``split`` via
    ``CorpusDataset``) or any folder of audio (``AudioFolderDataset``). Each pair draws its codec
    from ``codecs`` ("mp3", "opus"), a strength uniformly in ``strength`` and that codec's
    parameters (bitrate) from a generator seeded with ``(seed, i)``.
    """
    unknown = [c for c in codecs if c not in CODECS]
    if unknown or not codecs:
        raise ConfigError(f"codecs must be some of {CODECS}, got {list(codecs)}")
    low, high = strength
    if not 0.0 <= low <= high <= 1.0:
        raise ConfigError(f"strength must be a (low, high) range inside [0, 1], got {strength!r}")
    source = Path(source)
    common = dict(segment_seconds=segment_seconds, sample_rate=sample_rate, seed=seed, items_per_epoch=count)
    if (source / "manifest.json").is_file():
        clips = CorpusDataset(source, kind=kind, split=split, **common)
    else:
        clips = AudioFolderDataset(source, min_seconds=min(0.1, segment_seconds), **common)
        for path, reason in clips.skipped:
            print(f"skipped {path}: {reason}", file=sys.stderr)
    members = {name: get_perturbation(name) for name in codecs}
    writer = ShardWriter(out, sample_rate=sample_rate, kind="codec", shard_size=shard_size, overwrite=overwrite,
                         meta={"seed": seed, "source": str(source), "codecs": list(codecs), "strength": [low, high],
                               "segment_seconds": segment_seconds, "split": split, "corpus_kind": kind})
    for i in tqdm(range(count), desc="codec pairs", unit="pair", disable=not progress, file=sys.stderr):
        rng = np.random.default_rng([seed, i, 2])
        clean = clips[i]
        name = codecs[int(rng.integers(len(codecs)))]
        params = members[name].sample(float(rng.uniform(low, high)), rng)
        writer.add(clean, members[name].apply(clean, sample_rate, params), params)
    return writer.close()
