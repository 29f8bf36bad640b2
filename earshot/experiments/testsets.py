"""Held-out test items of the corpus, synthetic and real recordings kept apart.

A corpus item says where it came from (`earshot.data.corpus.CorpusItem.origin`: ``real`` for
recordings, ``synthetic`` for espeak-ng speech, fluidsynth music and generated noise; corpora
built before real recordings existed read back as all synthetic). Experiments score
each origin as its own test set and say which is which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from earshot.errors import ConfigError, DataError

ORIGINS = ("synthetic", "real")


@dataclass
class TestItem:
    """One scored item: ``input`` goes into the model, its output is scored against ``reference``.

    ``label`` names it in files and tables (``speech-0``, ``real-speech-0``); both tensors are
    ``(1, 1, samples)`` at the experiment's sample rate.
    """

    __test__ = False  # not a pytest class

    label: str
    kind: str
    origin: str
    input: torch.Tensor
    reference: torch.Tensor


def origin_of(item) -> str:
    """``"real"`` or ``"synthetic"`` for a `earshot.data.corpus.CorpusItem` (no origin: synthetic)."""
    return "real" if getattr(item, "origin", "synthetic") == "real" else "synthetic"


def label_for(kind: str, origin: str, index: int) -> str:
    """``speech-0`` for synthetic items, ``real-speech-0`` for real recordings."""
    return f"{kind}-{index}" if origin == "synthetic" else f"{origin}-{kind}-{index}"


def require_corpus(corpus) -> Path:
    """The corpus folder, or ConfigError saying how to build one."""
    if not (Path(corpus) / "manifest.json").is_file():
        raise ConfigError(f"corpus {corpus} not found; build it with `earshot corpus build`")
    return Path(corpus)


def test_clips(corpus, kinds, *, per_group: int, seconds: float, sample_rate: int, split: str = "test",
               load: Callable | None = None, clips_per_file: int = 1) -> dict[str, list[tuple[str, str, torch.Tensor]]]:
    """``{origin: [(label, kind, (1, 1, T)), ...]}``: from the first ``per_group`` files of each
    kind and origin in ``split`` (manifest order), consecutive non-overlapping ``seconds``-long
    clips, at most ``clips_per_file`` per file (the first clip of a shorter file is kept whole).

    ``load(item) -> (1, samples)`` reads a file (default: mono at ``sample_rate``); origins with no
    items are left out. Raises DataError when the split holds none of ``kinds``.
    """
    from earshot.audio.io import load as load_audio
    from earshot.data.corpus import load_manifest

    if clips_per_file < 1:
        raise ConfigError(f"clips_per_file must be at least 1, got {clips_per_file}")
    load = load or (lambda item: load_audio(item.path, sample_rate=sample_rate, mono=True)[0])
    items = load_manifest(require_corpus(corpus), kind=list(kinds), split=split)
    if not items:
        raise DataError(f"{corpus}: no {'/'.join(kinds)} items in split {split!r}")
    n = int(seconds * sample_rate)
    out: dict[str, list] = {}
    for origin in ORIGINS:
        for kind in kinds:
            group = [i for i in items if i.kind == kind and origin_of(i) == origin]
            k = 0
            for item in group[:per_group]:
                audio = load(item)
                count = max(1, min(clips_per_file, audio.shape[-1] // n))
                for start in range(0, count * n, n):
                    out.setdefault(origin, []).append((label_for(kind, origin, k), kind, audio[None, ..., start:start + n]))
                    k += 1
    return out


__all__ = ["ORIGINS", "TestItem", "label_for", "origin_of", "require_corpus", "test_clips"]
