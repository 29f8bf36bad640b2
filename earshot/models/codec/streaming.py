"""Frame-by-frame SoundStream: stateful encoder and decoder equal to offline processing.

Every conv in the model is causal and caches its left context between calls, so pushing audio
in pieces gives the offline codes and audio (to float rounding, ~1e-6). Latency is one frame
(``hop`` samples: 20 ms at 16 kHz with the default strides): the encoder emits a frame's codes
as soon as its ``hop`` samples have arrived, and the decoder turns each frame's codes into
``hop`` samples at once.

Example::

    enc, dec = StreamingEncoder(model, n_quantizers=12), StreamingDecoder(model)
    for chunk in chunks:                 # (1, 1, any length)
        out = dec.push(enc.push(chunk))  # (1, 1, frames * hop)
    out = dec.push(enc.flush())          # the zero-padded last frame, as offline
"""

from __future__ import annotations

import torch

from earshot.errors import ShapeError
from earshot.models.codec.layers import new_state
from earshot.models.codec.model import SoundStream


class StreamingEncoder:
    """Audio pieces ``(B, 1, any)`` in, codes ``(B, n_q, frames)`` of every completed frame out.

    Args:
        model: the codec (used in eval mode, without gradients).
        n_quantizers: stages per frame (default all).
        denoise: the FiLM flag (bool).
    """

    def __init__(self, model: SoundStream, n_quantizers: int | None = None, *, denoise: bool = False):
        self.model = model
        self.n_quantizers = n_quantizers or model.quantizer.n_quantizers
        self.denoise = denoise
        self.reset()

    def reset(self) -> None:
        """Start a new stream (silence before the first sample, as offline)."""
        self._state = new_state()
        self._pending: torch.Tensor | None = None

    @torch.no_grad()
    def push(self, audio: torch.Tensor) -> torch.Tensor:
        """Add samples; return codes ``(B, n_q, k)`` of the ``k >= 0`` frames completed by them."""
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ShapeError(f"audio must be (batch, 1, samples), got {tuple(audio.shape)}")
        buf = audio if self._pending is None else torch.cat([self._pending, audio], dim=-1)
        usable = buf.shape[-1] - buf.shape[-1] % self.model.hop
        self._pending = buf[..., usable:]
        return self._encode(buf[..., :usable])

    @torch.no_grad()
    def flush(self) -> torch.Tensor:
        """Zero-pad the pending samples to a last frame (as offline) and return its codes."""
        if self._pending is None or self._pending.shape[-1] == 0:
            batch = 1 if self._pending is None else self._pending.shape[0]
            return torch.zeros(batch, self.n_quantizers, 0, dtype=torch.long)
        pad = self.model.hop - self._pending.shape[-1]
        last = torch.nn.functional.pad(self._pending, (0, pad))
        self._pending = last[..., :0]
        return self._encode(last)

    def _encode(self, audio: torch.Tensor) -> torch.Tensor:
        model = self.model
        if audio.shape[-1] == 0:
            return torch.zeros(audio.shape[0], self.n_quantizers, 0, dtype=torch.long)
        z = model.encoder(audio, self._state)
        if model.encoder_film is not None:
            z = model.encoder_film(z, self.denoise)
        return model.quantizer.encode(z, self.n_quantizers)


class StreamingDecoder:
    """Codes ``(B, n_q, frames)`` in, audio ``(B, 1, frames * hop)`` out, frame by frame."""

    def __init__(self, model: SoundStream, *, denoise: bool = False):
        self.model, self.denoise = model, denoise
        self.reset()

    def reset(self) -> None:
        self._state = new_state()

    @torch.no_grad()
    def push(self, codes: torch.Tensor) -> torch.Tensor:
        """Decode ``k >= 0`` frames of codes into ``k * hop`` samples."""
        if codes.dim() != 3:
            raise ShapeError(f"codes must be (batch, n_q, frames), got {tuple(codes.shape)}")
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0)
        z = self.model.quantizer.decode(codes)
        if self.model.decoder_film is not None:
            z = self.model.decoder_film(z, self.denoise)
        return self.model.decoder(z, self._state)
