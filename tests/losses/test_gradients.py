"""The gradient table (every loss x silence/DC/clipping/noise/sine), short inputs, input checks,
and hypothesis fuzzing of loss inputs.

``assert_rejects_bad_inputs(loss)`` is reusable: import it from here to check any loss.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earshot.errors import NonFiniteError, ShapeError
from earshot.losses import (ESRLoss, L1Loss, L2Loss, LogCoshLoss, MultiResolutionMelLoss, MultiResolutionSTFTLoss,
                            MultiScaleSpectralLoss, SDSDRLoss, SISDRLoss, SNRLoss, SpectralConvergenceLoss, STFTLoss,
                            STFTMagnitudeLoss, build_loss)

SR = 16000
LOSSES = {
    "l1": lambda: L1Loss(), "l2": lambda: L2Loss(), "esr": lambda: ESRLoss(), "logcosh": lambda: LogCoshLoss(),
    "snr": lambda: SNRLoss(), "sisdr": lambda: SISDRLoss(), "sdsdr": lambda: SDSDRLoss(),
    "sc": lambda: SpectralConvergenceLoss(), "stftmag": lambda: STFTMagnitudeLoss(),
    "stftmag-lin": lambda: STFTMagnitudeLoss(log=False, distance="l2"), "stft": lambda: STFTLoss(),
    "mrstft": lambda: MultiResolutionSTFTLoss(),
    "mrstft-aw-mel": lambda: MultiResolutionSTFTLoss(perceptual_weighting=True, sample_rate=SR, n_mels=40),
    "mrstft-sumdiff": lambda: MultiResolutionSTFTLoss(sum_difference=True),
    "mrmel": lambda: MultiResolutionMelLoss(SR), "msspec": lambda: MultiScaleSpectralLoss(SR),
    "weighted": lambda: _Total(build_loss("l1 + 0.1*mrstft + 0.1*sisdr")),
}
STEREO_ONLY = {"mrstft-sumdiff"}


class _Total(torch.nn.Module):
    """WeightedLoss -> its total, so that it fits the same table."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, input, target):
        return self.inner(input, target).total


def assert_rejects_bad_inputs(loss: torch.nn.Module, *, channels: int = 1, samples: int = 800) -> None:
    """Check that ``loss`` raises earshot errors for wrong shapes, mismatched pairs and NaN/Inf."""
    good = torch.zeros(2, channels, samples)
    bad_pairs = [
        (ShapeError, torch.zeros(2, samples), torch.zeros(2, samples)),
        (ShapeError, torch.zeros(2, channels, 1, samples), torch.zeros(2, channels, 1, samples)),
        (ShapeError, good, torch.zeros(2, channels, samples + 1)),
        (ShapeError, good, torch.zeros(3, channels, samples)),
        (ShapeError, torch.zeros(2, channels, 0), torch.zeros(2, channels, 0)),
    ]
    for value in (float("nan"), float("inf"), -float("inf")):
        corrupt = good.clone()
        corrupt[1, 0, samples // 2] = value
        bad_pairs += [(NonFiniteError, corrupt, good), (NonFiniteError, good, corrupt)]
    for error, a, b in bad_pairs:
        with pytest.raises(error):
            loss(a, b)


@pytest.mark.parametrize("name", list(LOSSES))
def test_rejects_bad_inputs(name):
    assert_rejects_bad_inputs(LOSSES[name](), channels=2 if name in STEREO_ONLY else 1)


def _per_item(loss: torch.nn.Module) -> torch.nn.Module:
    for module in loss.modules():
        if hasattr(module, "reduction"):
            module.reduction = "none"
    return loss


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_table(name, signals):
    """Every (signal, target) pair, identical and different, as one batch: finite values and gradients."""
    kinds = list(signals)
    pairs = [(k, other) for i, k in enumerate(kinds) for other in (k, kinds[(i + 1) % len(kinds)])]
    x = torch.cat([signals[k] for k, _ in pairs])
    target = torch.cat([signals[o] for _, o in pairs])
    if name in STEREO_ONLY:
        x, target = x.repeat(1, 2, 1) * torch.tensor([[[1.0], [0.5]]]), target.repeat(1, 2, 1)
    x.requires_grad_(True)
    values = _per_item(LOSSES[name]())(x, target)
    values.sum().backward()
    per = signals[kinds[0]].shape[0]
    for j, (kind, other) in enumerate(pairs):
        rows = slice(j * per, (j + 1) * per)
        assert torch.isfinite(values[rows]).all(), f"{name}: {kind} vs {other} gives {values[rows]}"
        assert torch.isfinite(x.grad[rows]).all(), f"{name}: {kind} vs {other} gives a non-finite gradient"


@pytest.mark.parametrize("samples", [1, 7, 300])
def test_very_short_inputs(samples, rng):
    for name, make in LOSSES.items():
        c = 2 if name in STEREO_ONLY else 1
        x = (0.1 * torch.randn(2, c, samples, generator=rng)).requires_grad_()
        y = 0.1 * torch.randn(2, c, samples, generator=rng)
        value = make()(x, y)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(x.grad).all(), (name, samples)


_shapes = st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 700))
_values = st.sampled_from(["zeros", "dc", "tiny", "loud", "random", "clipped"])


def _make(kind, shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g) * 2 - 1
    return {"zeros": torch.zeros(shape), "dc": torch.full(shape, 0.7), "tiny": 1e-7 * x, "loud": x,
            "random": 0.3 * x, "clipped": (4 * x).clamp(-1, 1)}[kind]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=_shapes, kinds=st.tuples(_values, _values), seed=st.integers(0, 2**16),
       name=st.sampled_from([n for n in LOSSES if n not in STEREO_ONLY and n != "weighted"]))
def test_fuzz_loss_inputs(shape, kinds, seed, name):
    x = _make(kinds[0], shape, seed).requires_grad_()
    y = _make(kinds[1], shape, seed + 1)
    value = _per_item(LOSSES[name]())(x, y)
    assert value.shape == (shape[0],) and torch.isfinite(value).all()
    value.sum().backward()
    assert torch.isfinite(x.grad).all()
