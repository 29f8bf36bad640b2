"""Fuzzing loss inputs: random shapes, dtypes and values give an earshot error or a finite value.

Values reach 1e6 full scale ("loud"); far beyond that (1e30) the float32 spectra of some losses
overflow to inf (reported; see docs/reliability.md)."""

from __future__ import annotations

import torch
from fuzz_helpers import attempt, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from earshot.losses.registry import build_loss

LOSSES = {name: build_loss(name, sample_rate=16000) for name in ("l1", "sisdr", "snr", "mrstft", "mel")}
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int16, torch.bool]


def tensor(shape, dtype, kind, seed):
    g = torch.Generator().manual_seed(seed)
    x = {"noise": lambda: 0.3 * torch.randn(shape, generator=g), "zeros": lambda: torch.zeros(shape),
         "dc": lambda: torch.full(shape, 0.5), "loud": lambda: 1e6 * torch.randn(shape, generator=g),
         "tiny": lambda: 1e-30 * torch.randn(shape, generator=g)}[kind]()
    if x.numel() and seed % 7 == 0:
        x.view(-1)[0] = float("nan")
    return x.to(dtype)


def finite_value(loss, prediction, target):
    value = loss(prediction, target)
    value = value.total if hasattr(value, "total") else value
    assert torch.isfinite(value).all(), value
    return value


@fuzz_settings(150)
@given(st.sampled_from(sorted(LOSSES)),
       st.one_of(st.tuples(st.integers(1, 3), st.integers(1, 2)).map(list), st.lists(st.integers(0, 3), max_size=3)),
       st.integers(0, 2000), st.sampled_from(DTYPES), st.sampled_from(["noise", "zeros", "dc", "loud", "tiny"]),
       st.integers(0, 10**6), st.booleans())
def test_loss_inputs(name, lead, samples, dtype, kind, seed, mismatch):
    shape = (*lead, samples)  # 1-D to 4-D, empty batch/channels/samples included
    pred = tensor(shape, dtype, kind, seed)
    target = tensor((*shape[:-1], max(0, samples - 1)) if mismatch else shape, dtype, "noise", seed + 1)
    with torch.no_grad():
        attempt(f"losses: {name}", finite_value, LOSSES[name], pred, target)
