"""Fixtures for the metric tests."""

from __future__ import annotations

import pytest
import torch

from metric_signals import speechlike


@pytest.fixture(scope="session")
def speech() -> torch.Tensor:
    """1.5 s of speech-like audio at 16 kHz, ``(1, 1, 24000)``."""
    return speechlike()
