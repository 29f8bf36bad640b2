"""Losses on CUDA: every registered loss under bf16 and fp16 autocast and on half inputs, compile
parity, and double backward through the fused spectral engine (issue 16). Skipped without CUDA.

    python -m pytest tests/gpu/test_gpu_losses.py -q -m "not slow"     # about 1 min on an H200
    python -m pytest tests/gpu/test_gpu_losses.py -q -m slow           # compile parity, several minutes
"""

from __future__ import annotations

import functools

import pytest
import torch

from earshot.losses import registry

pytestmark = pytest.mark.gpu
SAMPLE_RATE = 16000
HALF = (torch.bfloat16, torch.float16)
# losses whose compiled graph breaks (fullgraph=False for them); empty when every loss compiles whole
PARTIAL_GRAPH: set[str] = set()


def _unique_names() -> list[str]:
    seen, out = set(), []
    for name in registry.names():
        if registry.LOSSES[name] not in seen:
            seen.add(registry.LOSSES[name])
            out.append(name)
    return out


NAMES = _unique_names()


@functools.lru_cache(maxsize=None)
def _loss(name: str):
    return registry.instantiate(name, sample_rate=SAMPLE_RATE).cuda()


def _pair(seconds: float = 0.25):
    g = torch.Generator().manual_seed(0)
    y = 0.3 * torch.randn(2, 1, int(SAMPLE_RATE * seconds), generator=g)
    return (y + 0.1 * torch.randn(y.shape, generator=g)).cuda(), y.cuda()


def _case(name: str):
    """The loss, a CUDA pair and its float32 value."""
    loss = _loss(name)
    x, y = _pair()
    with torch.no_grad():
        return loss, x, y, loss(x, y)


def _value_and_grad(fn, x, y):
    x = x.detach().clone().requires_grad_()
    value = fn(x, y)
    value.backward()
    return value.detach(), x.grad


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", NAMES)
def test_autocast_gives_the_float32_value(name, dtype):
    loss, x, y, ref = _case(name)
    with torch.autocast("cuda", dtype=dtype):
        value, grad = _value_and_grad(loss, x, y)
    assert value.dtype == torch.float32 and torch.isfinite(value) and torch.isfinite(grad).all()
    torch.testing.assert_close(value, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", NAMES)
def test_half_inputs_give_float32_values_and_half_gradients(name, dtype):
    loss, x, y, ref = _case(name)
    value, grad = _value_and_grad(loss, x.to(dtype), y.to(dtype))
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert grad.dtype == dtype and torch.isfinite(grad).all()
    torch.testing.assert_close(value, ref, rtol=3e-2, atol=1e-4)


@pytest.mark.slow   # about 20-60 s of compilation per loss on an H200 host
@pytest.mark.parametrize("name", NAMES)
def test_compiled_loss_matches_eager(name):
    torch._dynamo.reset()
    loss = _loss(name)
    x, y = _pair()
    compiled = torch.compile(loss, fullgraph=name not in PARTIAL_GRAPH)
    value, grad = _value_and_grad(compiled, x, y)
    ref, ref_grad = _value_and_grad(loss, x, y)
    torch.testing.assert_close(value, ref, rtol=1e-4, atol=1e-6)
    scale = float(ref_grad.abs().max())
    torch.testing.assert_close(grad, ref_grad, rtol=1e-3, atol=1e-3 * scale)


@pytest.mark.parametrize("name", ["mrstft", "mrmel", "msspec"])
def test_gradient_penalty_on_cuda_equals_cpu(name):
    """Double backward on CUDA: the gradient of a gradient penalty equals the CPU one (which
    tests/dsp/test_dsp_spectral_distance.py checks against gradgradcheck), in float64."""
    x, y = (t.double().cpu() for t in _pair(0.1))

    def penalty_grad(device):
        loss = registry.instantiate(name, sample_rate=SAMPLE_RATE).to(device).double()
        z = x.to(device).requires_grad_()
        (g,) = torch.autograd.grad(loss(z, y.to(device)), z, create_graph=True)
        return torch.autograd.grad(g.square().sum(), z)[0].cpu()

    cuda, cpu = penalty_grad("cuda"), penalty_grad("cpu")
    assert float(cpu.abs().max()) > 0
    torch.testing.assert_close(cuda, cpu, rtol=1e-6, atol=1e-9 * float(cpu.abs().max()))
