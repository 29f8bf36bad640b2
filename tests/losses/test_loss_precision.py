"""Mixed precision: every registered loss and every differentiable metric under CPU bf16 autocast
and on bf16, fp16 and float64 inputs gives a finite float32 value close to the float32 result, and
finite gradients in the input's dtype (issue 16, item 1; the CUDA half of the table is in
tests/gpu/test_gpu_losses.py).

Tolerances, relative to the float32 value: autocast 1e-5 for losses (they switch autocast off, so
the value is the float32 one) and 2e-3 for metrics (mel_distance keeps autocast's bf16 matmul);
float64 inputs 1e-5 (only the rounding of the input differs); fp16 inputs 5e-3 and bf16 inputs
3e-2 (the input itself is rounded to 11 / 8 significant bits; the loss then runs in float32).
"""

from __future__ import annotations

import functools

import pytest
import torch

from earshot.losses import registry
from earshot.metrics.registry import METRICS

MODES = ("autocast-bf16", "bfloat16", "float16", "float64")
RTOL = {"autocast-bf16": 1e-5, "bfloat16": 3e-2, "float16": 5e-3, "float64": 1e-5}
SAMPLE_RATE = 16000


def _unique_names() -> list[str]:
    """One registry name per class (aliases such as ``mse``/``l2`` build the same loss)."""
    seen, out = set(), []
    for name in registry.names():
        target = registry.LOSSES[name]
        if target not in seen:
            seen.add(target)
            out.append(name)
    return out


@functools.lru_cache(maxsize=None)
def _loss(name: str):
    return registry.instantiate(name, sample_rate=SAMPLE_RATE)


def _pair():
    g = torch.Generator().manual_seed(0)
    y = 0.3 * torch.randn(2, 1, SAMPLE_RATE // 4, generator=g)          # 0.25 s
    return y + 0.1 * torch.randn(y.shape, generator=g), y


def _run(fn, x, y, mode):
    """``fn`` on ``x`` (requiring grad) and ``y`` in ``mode`` -> (value, gradient of x)."""
    dtype = torch.float32 if mode.startswith("autocast") else getattr(torch, mode)
    x = x.to(dtype).requires_grad_()
    if mode.startswith("autocast"):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            value = fn(x, y.to(dtype))
    else:
        value = fn(x, y.to(dtype))
    value.sum().backward()
    return value, x.grad


def _check(fn, mode, rtol, value_dtypes=(torch.float32,)):
    x, y = _pair()
    with torch.no_grad():
        ref = fn(x, y)
    value, grad = _run(fn, x, y, mode)
    assert value.dtype in value_dtypes, value.dtype
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
    assert grad.dtype == (torch.float32 if mode.startswith("autocast") else getattr(torch, mode))
    assert float(grad.float().abs().sum()) > 0
    torch.testing.assert_close(value.detach().double(), ref.double(), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _unique_names())
def test_every_loss_is_float32_in_mixed_precision(name, mode):
    _check(_loss(name), mode, RTOL[mode])


DIFFERENTIABLE = [n for n, spec in METRICS.items() if spec.differentiable]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_differentiable_metric_is_finite_in_mixed_precision(name, mode):
    spec = METRICS[name]
    fn = spec.load()
    if spec.needs_sample_rate:
        fn = functools.partial(fn, sample_rate=SAMPLE_RATE)
    rtol = 2e-3 if mode.startswith("autocast") else RTOL[mode]
    # a metric keeps float64 for float64 inputs (more precision is never wrong for a measurement)
    dtypes = (torch.float32, torch.float64) if mode == "float64" else (torch.float32,)
    _check(fn, mode, rtol, dtypes)


def test_a_double_loss_computes_in_float64():
    """``loss.double()`` is how a numerical test asks for float64; the default is float32 for every input."""
    x, y = (t.double() for t in _pair())
    loss = registry.instantiate("mrmel", sample_rate=SAMPLE_RATE)
    assert loss(x, y).dtype == torch.float32
    assert loss.double()(x, y).dtype == torch.float64
