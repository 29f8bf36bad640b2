"""Input checks and the one rule for undefined values, shared by every metric.

Every metric takes ``estimate`` then ``reference``, ``(batch, channels, samples)`` of one shape,
real floating point (float16 and bfloat16 are computed in float32), finite. Anything else raises
an :mod:`earshot.errors` exception naming the argument. A metric that is *undefined* on an item
(too short, digital silence where the definition divides by it, no speech found) returns NaN
for that item and emits one :class:`~earshot.errors.UndefinedMetricWarning` saying why.
"""

from __future__ import annotations

import warnings

import torch

from earshot.errors import ShapeError, UndefinedMetricWarning
from earshot.validate import check_audio, check_floating


def check_inputs(estimate: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked ``(estimate, reference)``; half precision is upcast to float32."""
    out = []
    for name, x in (("estimate", estimate), ("reference", reference)):
        if isinstance(x, torch.Tensor):
            check_floating(x, name)
        check_audio(x, name)
        out.append(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x)
    if estimate.shape != reference.shape:
        raise ShapeError(f"estimate shape {tuple(estimate.shape)} does not match reference shape "
                         f"{tuple(reference.shape)}")
    return out[0], out[1]


def warn_undefined(metric: str, where: str, reason: str, *, stacklevel: int = 3) -> None:
    """Emit the UndefinedMetricWarning for an item that scored NaN."""
    warnings.warn(f"{metric} of {where}: {reason}; scored NaN", UndefinedMetricWarning, stacklevel=stacklevel)


def warn_nan_items(metric: str, values: torch.Tensor, reason: str) -> torch.Tensor:
    """Warn once per NaN item of a ``(batch,)`` result; returns ``values`` unchanged."""
    for b in torch.nonzero(torch.isnan(values.detach())).flatten().tolist():
        warn_undefined(metric, f"item {b}", reason, stacklevel=4)
    return values
