"""Argument checks shared by every layer. Raise `earshot.errors` exceptions, never `assert`."""

from __future__ import annotations

import torch

import importlib
from types import ModuleType

from earshot.errors import ConfigError, DTypeError, MissingExtraError, NonFiniteError, SampleRateError, ShapeError

REDUCTIONS = ("mean", "sum", "none")
MAX_SAMPLE_RATE = 768_000  # the highest rate audio hardware and formats use (768 kHz)


def check_audio(x: torch.Tensor, name: str = "input", *, finite: bool = True) -> torch.Tensor:
    """Check that ``x`` is a ``(batch, channels, samples)`` tensor of finite values."""
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise ShapeError(f"{name} must have shape (batch, channels, samples), got {tuple(x.shape)}{_reshape_hint(x)}")
    if x.shape[-1] == 0:
        raise ShapeError(f"{name} has no samples: shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ShapeError(f"{name} has an empty batch or no channels: shape {tuple(x.shape)}")
    check_floating(x, name)
    if finite:
        check_finite(x, name)
    return x


def check_finite(x: torch.Tensor, name: str = "input") -> None:
    """Raise NonFiniteError if ``x`` holds NaN or Inf (skipped under ``torch.compile``: no graph break)."""
    if torch.compiler.is_compiling():
        return
    if not torch.isfinite(x).all():
        raise NonFiniteError(f"{name} contains NaN or Inf values")


def check_pair(input: torch.Tensor, target: torch.Tensor) -> None:
    """Check a prediction/target pair: both ``(batch, channels, samples)``, same shape, finite."""
    check_audio(input, "input")
    check_audio(target, "target")
    if input.shape != target.shape:
        raise ShapeError(f"input shape {tuple(input.shape)} does not match target shape {tuple(target.shape)}")


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ConfigError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduce(per_item: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce a ``(batch,)`` tensor of per-item values: 'mean', 'sum', or 'none' (kept)."""
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    return per_item


def check_sample_rate(sample_rate, *, expected: int | None = None, name: str = "sample_rate",
                      maximum: int | None = None) -> int:
    """Check a sample rate is a positive integer (at most ``maximum``, and equal to
    ``expected`` when given)."""
    if sample_rate is None:
        raise SampleRateError(f"{name} is required")
    try:
        integral = not isinstance(sample_rate, bool) and int(sample_rate) == sample_rate
    except (TypeError, ValueError, OverflowError):
        integral = False
    if not integral or sample_rate <= 0:
        raise SampleRateError(f"{name} must be a positive integer, got {sample_rate!r}")
    if maximum is not None and sample_rate > maximum:
        raise SampleRateError(f"{name} must be at most {maximum} Hz, got {sample_rate}")
    if expected is not None and int(sample_rate) != expected:
        raise SampleRateError(f"{name} must be {expected} Hz, got {sample_rate}")
    return int(sample_rate)


def _reshape_hint(x: torch.Tensor) -> str:
    if x.dim() == 1:
        return f"; for one mono clip pass x[None, None] (shape (1, 1, {x.shape[0]}))"
    if x.dim() == 2:
        return f"; for one (channels, samples) clip pass x[None] (shape (1, {x.shape[0]}, {x.shape[1]}))"
    return ""


def check_floating(x: torch.Tensor, name: str = "input") -> torch.Tensor:
    """Raise DTypeError unless ``x`` is a real floating-point tensor (float16/bfloat16/32/64)."""
    if not x.is_floating_point():
        pcm = {torch.int16: "32768", torch.int32: "2**31"}
        hint = f"; for integer PCM pass x.float() / {pcm[x.dtype]}" if x.dtype in pcm else ""
        raise DTypeError(f"{name} must be a real floating-point tensor, got {x.dtype}{hint}")
    return x


def require_module(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or raise MissingExtraError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra) from None
