"""High-quality resampling of audio for I/O and data preparation (soxr; not differentiable).

For resampling inside a differentiable graph use `earshot.dsp.resample`.
"""

from __future__ import annotations

import numpy as np
import soxr
import torch

from earshot.validate import check_sample_rate


def resample(audio: torch.Tensor, orig_rate: int, target_rate: int, *, quality: str = "HQ") -> torch.Tensor:
    """Resample ``audio`` ``(..., samples)`` from ``orig_rate`` to ``target_rate`` with soxr."""
    orig_rate = check_sample_rate(orig_rate, name="orig_rate")
    target_rate = check_sample_rate(target_rate, name="target_rate")
    if orig_rate == target_rate:
        return audio
    lead = audio.shape[:-1]
    frames = audio.detach().cpu().reshape(-1, audio.shape[-1]).numpy().astype(np.float64).T
    out = soxr.resample(frames, orig_rate, target_rate, quality=quality)
    out = torch.from_numpy(np.ascontiguousarray(out.T, dtype=np.float32))
    return out.reshape(*lead, out.shape[-1]).to(audio.device)
