"""A Vocos-style decoder for SoundStream: a frame-rate conv stack predicts STFT frames, and an
inverse FFT with overlap-add makes the waveform (Siuzdak 2023, "Vocos", arXiv:2306.00814).

The conv decoder upsamples 320x through transposed convs, so most of its compute runs at the
sample rate; this one stays at the frame rate (50 frames/s at 16 kHz) and lets ``irfft`` do the
upsampling, which buys a wider network for the same cost. It stays causal and streamable:
frame ``t`` is an inverse FFT of ``n_fft`` samples placed at ``[t * hop, t * hop + n_fft)`` and
added to the frames before it, so output sample ``j`` depends on frames up to ``j // hop`` and a
stream of frames gives the offline output (the overlapping tail is cached between calls).

Shapes: embeddings ``(batch, dim, frames)`` in, waveform ``(batch, 1, frames * hop)`` out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from earshot.errors import ConfigError
from earshot.models.codec.layers import CausalConv1d, StatefulSequential, StreamState, Streamable, residual_stack


class ISTFTHead(Streamable):
    """Frames of log-magnitude and phase ``(B, 2 * (n_fft // 2 + 1), N)`` -> audio ``(B, 1, N * hop)``.

    The magnitude is ``exp`` of the first half (clamped at ``max_log_magnitude`` so it cannot
    overflow), the phase is the second half taken as an angle. Each frame's inverse real FFT is
    windowed (periodic Hann) and overlap-added causally; the sum is divided by the Hann
    window's steady-state overlap gain ``n_fft / (2 * hop)``.
    """

    def __init__(self, n_fft: int, hop: int, *, max_log_magnitude: float = 10.0):
        super().__init__()
        if n_fft < hop or n_fft % hop:
            raise ConfigError(f"n_fft ({n_fft}) must be a multiple of hop ({hop})")
        self.n_fft, self.hop, self.max_log_magnitude = int(n_fft), int(hop), float(max_log_magnitude)
        self.overlap = self.n_fft - self.hop
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True) * (2 * hop / n_fft),
                             persistent=False)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def forward(self, x: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        log_mag, phase = x.float().chunk(2, dim=1)
        mag = log_mag.clamp(max=self.max_log_magnitude).exp()
        spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))
        frames = torch.fft.irfft(spec, n=self.n_fft, dim=1) * self.window[:, None]  # (B, n_fft, N)
        count = frames.shape[-1]
        length = (count - 1) * self.hop + self.n_fft
        y = F.fold(frames, output_size=(1, length), kernel_size=(1, self.n_fft), stride=(1, self.hop))
        y = y.reshape(y.shape[0], 1, length)
        n = count * self.hop
        if state is not None:
            tail = state.get(self)
            if tail is not None:
                y = torch.cat([y[..., :self.overlap] + tail, y[..., self.overlap:]], dim=-1)
            state[self] = y[..., n:]
        return y[..., :n]


class ISTFTDecoder(nn.Module):
    """Embeddings ``(B, dim, N)`` -> waveform ``(B, 1, N * hop)`` through an :class:`ISTFTHead`.

    Args:
        dim: embedding size (the quantizer's vector size).
        width: channels of the frame-rate conv stack.
        hop: samples per frame (the encoder's hop).
        blocks: groups of three causal residual units (dilations 1, 3, 9) at ``width``.
        n_fft: inverse FFT size; default ``4 * hop`` (75 % overlap).
    """

    def __init__(self, dim: int, width: int, hop: int, *, blocks: int = 2, n_fft: int | None = None):
        super().__init__()
        if width < 1 or blocks < 1:
            raise ConfigError(f"ISTFTDecoder needs width >= 1 and blocks >= 1, got {width} and {blocks}")
        self.hop = int(hop)
        self.head = ISTFTHead(n_fft or 4 * self.hop, self.hop)
        layers: list[nn.Module] = [CausalConv1d(dim, width, 7)]
        for _ in range(blocks):
            layers += residual_stack(width)
        layers += [nn.ELU(), nn.Conv1d(width, 2 * self.head.bins, 1), self.head]
        self.net = StatefulSequential(*layers)

    def forward(self, embeddings: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        """``(B, dim, N)`` -> ``(B, 1, N * hop)``; pass a state dict to stream frame by frame."""
        return self.net(embeddings, state)
