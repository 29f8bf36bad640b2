"""Discriminators for adversarial training. Each returns logits plus feature maps."""

from earshot.models.discriminators.critic import SourceCritics, SpectrogramCritic  # noqa: F401 (separation)
from earshot.models.discriminators.stft import STFTDiscriminator
from earshot.models.discriminators.waveform import (
    CombinedDiscriminator, DiscriminatorOutput, MultiScaleWaveformDiscriminator, WaveformDiscriminator,
)

__all__ = [
    "CombinedDiscriminator", "DiscriminatorOutput", "MultiScaleWaveformDiscriminator",
    "STFTDiscriminator", "WaveformDiscriminator",
]
