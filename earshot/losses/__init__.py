"""Classic losses: waveform, spectral, and their combinations. Every loss is an ``nn.Module``
with ``forward(input, target)`` on ``(batch, channels, samples)`` audio and a ``reduction`` in
mean | sum | none, where "none" gives one value per batch item.

Learned losses (`CodecLoss`, `JNDLoss`, `StyleLoss`, `ContentLoss`) are imported on first use
(``earshot.losses.JNDLoss``), and load their frozen networks with shipped weights when
constructed: importing this package imports no network.
"""

from earshot.losses.combine import BalanceResult, GradientBalancer, LossResult, WeightedLoss
from earshot.losses.registry import build_loss
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
from earshot.losses.waveform import (
    ESRLoss,
    L1Loss,
    L2Loss,
    LogCoshLoss,
    SDSDRLoss,
    SISDRLoss,
    SNRLoss,
)
from earshot.registry import lazy_exports

__all__ = [
    "L1Loss", "L2Loss", "ESRLoss", "LogCoshLoss", "SNRLoss", "SISDRLoss", "SDSDRLoss",
    "SpectralLoss", "Resolution", "SpectralConvergenceLoss", "STFTMagnitudeLoss", "STFTLoss",
    "MultiResolutionSTFTLoss", "MultiResolutionMelLoss", "MultiScaleSpectralLoss",
    "WeightedLoss", "LossResult", "GradientBalancer", "BalanceResult", "build_loss",
    "CodecLoss", "JNDLoss", "StyleLoss", "ContentLoss",
]

__getattr__ = lazy_exports(__name__, {
    "CodecLoss": "earshot.losses.codec:CodecLoss", "JNDLoss": "earshot.losses.jnd:JNDLoss",
    "StyleLoss": "earshot.losses.style:StyleLoss", "ContentLoss": "earshot.losses.style:ContentLoss",
})
