"""Shared fixtures: a seeded generator, small test signals, a temporary audio folder."""

from __future__ import annotations

import math

import pytest
import torch

torch.set_num_threads(1)  # CI has 2 cores; one thread per process keeps test timings steady


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CUDA is present (never in CI)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (gpu marker)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts on one thread (many small convs: no OpenMP spin-waiting on a busy machine),
    even after an earlier test or CLI command changed the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def sine(freq: float = 440.0, sample_rate: int = 16000, seconds: float = 1.0, amp: float = 0.5) -> torch.Tensor:
    """A ``(1, 1, samples)`` sine."""
    t = torch.arange(int(sample_rate * seconds)) / sample_rate
    return (amp * torch.sin(2 * math.pi * freq * t)).reshape(1, 1, -1)


@pytest.fixture
def signals(rng) -> dict[str, torch.Tensor]:
    """The gradient-table signals, each ``(2, 1, 16000)`` at 16 kHz."""
    n = 16000
    base = {
        "silence": torch.zeros(2, 1, n),
        "dc": torch.full((2, 1, n), 0.3),
        "clipped": (3 * sine(220, seconds=1.0)).clamp(-1, 1).repeat(2, 1, 1),
        "noise": 0.1 * torch.randn(2, 1, n, generator=rng),
        "sine": sine(440).repeat(2, 1, 1),
    }
    return base
