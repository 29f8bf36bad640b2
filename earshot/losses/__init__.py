"""Classic losses: waveform, spectral, and their combinations. Every loss is an ``nn.Module``
with ``forward(input, target)`` on ``(batch, channels, samples)`` audio and a ``reduction`` in
mean | sum | none, where "none" gives one value per batch item.

Learned losses (codec, jnd, style) live in their own modules and are reached through
``earshot.losses.registry.build_loss``.
"""

from earshot.losses.spectral import (
    MultiResolutionMelLoss,
    MultiResolutionSTFTLoss,
    MultiScaleSpectralLoss,
    Resolution,
    SpectralConvergenceLoss,
    SpectralLoss,
    STFTLoss,
    STFTMagnitudeLoss,
)

__all__ = [
    "SpectralLoss", "Resolution", "SpectralConvergenceLoss", "STFTMagnitudeLoss", "STFTLoss",
    "MultiResolutionSTFTLoss", "MultiResolutionMelLoss", "MultiScaleSpectralLoss",
]
