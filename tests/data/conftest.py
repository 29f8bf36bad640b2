"""Fixtures for the data tests."""

from __future__ import annotations

import pytest
import torch
from _data_signals import chord, vowel


@pytest.fixture
def clean() -> torch.Tensor:
    """Half a second of speech-like then half a second of music-like audio, ``(1, 16000)`` at 16 kHz."""
    return torch.cat([vowel(seconds=0.5), chord(seconds=0.5)], dim=-1)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A real corpus of three short items per kind (espeak-ng, fluidsynth), built once per session."""
    from earshot.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("corpus") / "a"
    build_corpus(root, minutes=0.04, seed=3, progress=False)
    return root
