"""Pick evaluation clips for the demo: held-out corpus items, or the user's own audio folder."""

from __future__ import annotations

from pathlib import Path

import torch

from earshot.audio import AUDIO_EXTENSIONS, load
from earshot.errors import DataError


def corpus_clips(root: Path, kind: str, count: int, *, seconds: float, sample_rate: int,
                 split: str = "test") -> list[tuple[str, torch.Tensor]]:
    """``count`` clips ``(1, samples)`` of ``kind`` from the corpus split, cut to ``seconds``."""
    from earshot.data.corpus import load_manifest

    items = sorted(load_manifest(root, kind=kind, split=split), key=lambda i: i.duration < seconds)  # long first
    if not items:
        raise DataError(f"{root}: no {kind} items in split {split!r}")
    return [(item.path.stem, _cut(load(item.path, sample_rate=sample_rate, mono=True)[0], seconds, sample_rate))
            for item in items[:count]]


def folder_clips(root: Path, count: int, *, seconds: float, sample_rate: int) -> list[tuple[str, torch.Tensor]]:
    """The first ``count`` audio files of a user folder (recursive, sorted), cut to ``seconds``."""
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise DataError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    return [(p.stem, _cut(load(p, sample_rate=sample_rate, mono=True)[0], seconds, sample_rate)) for p in files[:count]]


def _cut(audio: torch.Tensor, seconds: float, sample_rate: int) -> torch.Tensor:
    n = int(seconds * sample_rate)
    audio = audio[:, :n]
    return torch.nn.functional.pad(audio, (0, n - audio.shape[-1]))
