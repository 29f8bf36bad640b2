"""Non-silent excerpts: the one place that re-draws an excerpt until it is louder than silence.

``draw_nonsilent(rng, draw, cut, silence_db=..., tries=...)`` draws up to ``tries`` candidates
(a start, or a file and a start) and keeps the first whose excerpt's RMS is above
``silence_db`` dBFS; if none is, the loudest. The generator advances once per try, so a seed
gives the same excerpt every time.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
import torch

from earshot.data.mixing import rms

Candidate = TypeVar("Candidate")


def draw_nonsilent(rng: np.random.Generator, draw: Callable[[np.random.Generator], Candidate],
                   cut: Callable[[Candidate], torch.Tensor], *, silence_db: float,
                   tries: int) -> tuple[Candidate, torch.Tensor]:
    """``(candidate, excerpt)``: the first of ``tries`` (at least one) candidates ``draw(rng)``
    whose excerpt ``cut(candidate)`` has an RMS above ``silence_db`` dBFS, else the loudest."""
    threshold = 10 ** (silence_db / 20)
    best, best_rms = None, -1.0
    for _ in range(max(1, tries)):
        candidate = draw(rng)
        piece = cut(candidate)
        level = rms(piece)
        if level > best_rms:
            best, best_rms = (candidate, piece), level
        if level > threshold:
            break
    return best


def excerpt_start(rng: np.random.Generator, audio: torch.Tensor, samples: int, *, silence_db: float,
                  tries: int) -> int:
    """Start of a non-silent ``samples``-long excerpt of ``audio`` ``(C, T)`` (see `draw_nonsilent`)."""
    last = max(1, audio.shape[-1] - samples + 1)
    start, _ = draw_nonsilent(rng, lambda r: int(r.integers(0, last)), lambda s: audio[:, s:s + samples],
                              silence_db=silence_db, tries=tries)
    return start
