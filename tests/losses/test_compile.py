"""torch.compile: a representative spectral loss compiles whole (fullgraph) on CPU with the eager
value and gradient (every registered loss is checked on CUDA in tests/gpu/test_gpu_losses.py)."""

from __future__ import annotations

import pytest
import torch

from earshot.losses import MultiResolutionMelLoss


@pytest.mark.slow   # compilation takes about a minute on a 2-core machine
def test_mel_loss_compiles_fullgraph_with_eager_values_and_gradients():
    loss = MultiResolutionMelLoss(16000, window_lengths=(128, 512), n_mels=(16, 64), w_sc=0.5, w_lin=0.1)
    g = torch.Generator().manual_seed(0)
    y = 0.3 * torch.randn(2, 1, 4000, generator=g)
    x0 = y + 0.1 * torch.randn(2, 1, 4000, generator=g)
    compiled = torch.compile(loss, fullgraph=True)
    a, b = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    value, ref = compiled(a, y), loss(b, y)
    value.backward()
    ref.backward()
    torch.testing.assert_close(value, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-3, atol=1e-3 * float(b.grad.abs().max()))
