"""Griffin-Lim phase reconstruction (fast variant with momentum, Perraudin et al. 2013)."""

from __future__ import annotations

import torch
from torch import nn

from earshot.dsp.stft import istft, make_window, stft
from earshot.errors import ConfigError, ShapeError


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop_length: int, window: torch.Tensor, *,
                n_iter: int = 32, momentum: float = 0.99, length: int | None = None,
                init: "str | torch.Tensor" = "random", generator: torch.Generator | None = None,
                eps: float = 1e-8) -> torch.Tensor:
    """Estimate a signal whose STFT magnitude is ``magnitude``.

    Args:
        magnitude: ``(batch, channels, n_fft // 2 + 1, frames)``, non-negative (linear, not power).
        n_fft, hop_length, window: the STFT that made ``magnitude`` (see :func:`earshot.dsp.stft.stft`).
        n_iter: iterations; momentum: the "fast Griffin-Lim" acceleration (0 gives the classic one).
        init: ``"random"`` phases (drawn from ``generator``; seed it for reproducibility), ``"zeros"``,
            or a tensor of initial phases in radians shaped like ``magnitude`` (e.g. a related signal's).
        eps: floor on ``|X|`` when projecting onto the magnitude.

    Returns ``(batch, channels, samples)`` (``length`` samples when given). Differentiable in
    ``magnitude`` (through every iteration).
    """
    if magnitude.dim() != 4 or magnitude.shape[-2] != n_fft // 2 + 1:
        raise ShapeError(f"magnitude must be (batch, channels, {n_fft // 2 + 1}, frames), got {tuple(magnitude.shape)}")
    if not 0.0 <= momentum < 1.0:
        raise ConfigError(f"momentum must be in [0, 1), got {momentum}")
    if torch.is_tensor(init):
        if init.shape != magnitude.shape:
            raise ShapeError(f"init phases {tuple(init.shape)} must match the magnitude {tuple(magnitude.shape)}")
        angles = torch.polar(torch.ones_like(magnitude), init.to(magnitude))
    elif init == "random":
        phase = torch.rand(magnitude.shape, generator=generator, dtype=magnitude.dtype).to(magnitude.device)
        angles = torch.polar(torch.ones_like(magnitude), 2 * torch.pi * phase)
    elif init == "zeros":
        angles = torch.ones_like(magnitude, dtype=torch.complex64 if magnitude.dtype == torch.float32
                                 else torch.complex128)
    else:
        raise ConfigError(f"init must be 'random' or 'zeros', got {init!r}")
    frames = magnitude.shape[-1]
    length = length or (frames - 1) * hop_length
    previous = torch.zeros_like(angles)
    for _ in range(n_iter):
        signal = istft(magnitude * angles, n_fft, hop_length, window, length=length)
        rebuilt = stft(signal, n_fft, hop_length, window)
        accelerated = rebuilt - (momentum / (1 + momentum)) * previous if momentum else rebuilt
        angles = accelerated / accelerated.abs().clamp_min(eps)
        previous = rebuilt
    return istft(magnitude * angles, n_fft, hop_length, window, length=length)


class GriffinLim(nn.Module):
    """Griffin-Lim as a module with its window as a buffer: magnitude ``(B, C, F, N)`` -> audio ``(B, C, T)``."""

    def __init__(self, n_fft: int = 1024, hop_length: int | None = None, win_length: int | None = None, *,
                 window: str = "hann", n_iter: int = 32, momentum: float = 0.99, eps: float = 1e-8):
        super().__init__()
        win_length = win_length or n_fft
        self.n_fft, self.hop_length = n_fft, hop_length or win_length // 4
        self.n_iter, self.momentum, self.eps = n_iter, momentum, eps
        self.register_buffer("window", make_window(window, win_length), persistent=False)

    def forward(self, magnitude: torch.Tensor, length: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return griffin_lim(magnitude, self.n_fft, self.hop_length, self.window, n_iter=self.n_iter,
                           momentum=self.momentum, length=length, generator=generator, eps=self.eps)
