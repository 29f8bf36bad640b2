"""Float32 inside every loss, whatever the input dtype or the autocast state.

Mixed-precision training runs a model in bf16 or fp16 (``torch.autocast``, or half inputs),
but spectra, logs, divisions and learned-loss networks lose too much in half precision (and
``torch.fft`` has no bf16 kernels). :func:`float32_loss` wraps a loss's ``forward``: floating
inputs are cast to the loss's precision (the cast is differentiable, so gradients come back in
the input's dtype) and autocast is switched off for the call. The loss's precision is float32,
or float64 after ``loss.double()`` (for numerical tests): a loss's value never depends on the
input's dtype beyond its rounding.
"""

from __future__ import annotations

import functools
import itertools

import torch
from torch import nn

AUTOCAST_DEVICES = ("cpu", "cuda", "xpu", "mps", "hpu")


def compute_dtype(module: nn.Module) -> torch.dtype:
    """float64 if the loss (or its frozen network) holds float64 tensors, else float32."""
    net = getattr(module, "_net", None)
    tensors = itertools.chain(module.buffers(), module.parameters(),
                              net.parameters() if isinstance(net, nn.Module) else ())
    for t in tensors:
        if t.is_floating_point():
            return torch.float64 if t.dtype == torch.float64 else torch.float32
    return torch.float32


def cast(x, dtype: torch.dtype = torch.float32):
    """``x`` cast to ``dtype`` if it is a floating tensor of another dtype; anything else unchanged."""
    if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dtype != dtype:
        return x.to(dtype)
    return x


def autocast_off(x) -> torch.autocast:
    """A context that disables autocast on the device type of ``x`` (CPU for non-tensors)."""
    kind = x.device.type if isinstance(x, torch.Tensor) else "cpu"
    return torch.autocast(kind if kind in AUTOCAST_DEVICES else "cpu", enabled=False)


def float32_loss(forward):
    """Decorate ``forward(self, input, target, *args, **kwargs)``: inputs in the loss's precision
    (:func:`compute_dtype`), autocast off."""

    @functools.wraps(forward)
    def wrapper(self, input, target, *args, **kwargs):
        dtype = compute_dtype(self)
        with autocast_off(input):
            return forward(self, cast(input, dtype), cast(target, dtype), *args, **kwargs)

    return wrapper
