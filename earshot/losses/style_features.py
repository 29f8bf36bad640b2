"""Feature extractors for style and content losses: any earshot network with intermediate layers.

A `FeatureExtractor` maps mono audio ``(batch, 1, samples)`` at its ``sample_rate`` to named
activations, each ``(batch, channels, ..., frames)`` with time last. Spectrogram-domain networks
(``"ae"``, ``"random"``) also map a log-magnitude spectrogram directly (``spectrogram_features``),
which is what spectrogram-domain style transfer optimises.
"""

from __future__ import annotations

import torch
from torch import nn

from earshot.errors import ConfigError
from earshot.models.style import LogSpectrogram, RandomShallowNet
from earshot.validate import check_sample_rate

FEATURE_NETWORKS = ("ae", "random", "emulator", "jnd")


class FeatureExtractor(nn.Module):
    """Named activations of a network. ``style_layers`` are shallow, ``content_layers`` deep."""

    def __init__(self, net: nn.Module, *, sample_rate: int, layer_names: list[str], style_layers: list[str],
                 content_layers: list[str], spectrogram: LogSpectrogram | None = None):
        super().__init__()
        self.net, self.spectrogram = net, spectrogram
        self.sample_rate = sample_rate
        self.layer_names, self.style_layers, self.content_layers = layer_names, style_layers, content_layers

    @property
    def works_on_spectrograms(self) -> bool:
        return self.spectrogram is not None

    def spectrogram_features(self, logspec: torch.Tensor) -> dict[str, torch.Tensor]:
        """``log1p|STFT|`` ``(batch, freq, frames)`` -> activations (spectrogram networks only)."""
        if self.spectrogram is None:
            raise ConfigError("this feature network reads waveforms; use the waveform method")
        return self.net.features(logspec)

    def audio_features(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mono audio ``(batch, 1, samples)`` -> activations by layer name."""
        if self.spectrogram is not None:
            return self.net.features(self.spectrogram(audio))
        feats = self.net.features(audio)
        if isinstance(feats, (list, tuple)):
            return {f"layer{i + 1}": f for i, f in enumerate(feats)}
        return dict(feats.activations) if hasattr(feats, "activations") else feats


def feature_extractor(name: str, *, sample_rate: int = 16000, seed: int = 0) -> FeatureExtractor:
    """Build a named feature extractor (``ae``, ``random``, ``emulator``, ``jnd``) with shipped weights."""
    sample_rate = check_sample_rate(sample_rate)
    from earshot.weights import load_pretrained

    if name == "ae":
        net = load_pretrained("style-ae")
        spec = LogSpectrogram(n_fft=2 * (net.n_freq - 1))
        names = net.layer_names
        return _checked(FeatureExtractor(net, sample_rate=16000, layer_names=names, style_layers=names[:2],
                                         content_layers=[names[len(net.channels) - 1]], spectrogram=spec), sample_rate)
    if name == "random":
        net = RandomShallowNet(seed=seed)
        return _checked(FeatureExtractor(net, sample_rate=16000, layer_names=["conv"], style_layers=["conv"],
                                         content_layers=["conv"], spectrogram=LogSpectrogram()), sample_rate)
    if name == "emulator":
        net = load_pretrained("emulator-spectral")
        enc = net.encoder_layers
        return _checked(FeatureExtractor(net, sample_rate=net.sample_rate, layer_names=net.layer_names,
                                         style_layers=enc[:2], content_layers=enc[-2:]), sample_rate)
    if name == "jnd":
        from earshot.losses.jnd import load_jnd_net

        net = load_jnd_net()
        n = len(net.features(torch.zeros(1, 1, net.min_samples)))
        names = [f"layer{i + 1}" for i in range(n)]
        return _checked(FeatureExtractor(net, sample_rate=net.sample_rate, layer_names=names,
                                         style_layers=names[:3], content_layers=names[-3:]), sample_rate)
    raise ConfigError(f"unknown feature network {name!r}; choose from {FEATURE_NETWORKS}")


def _checked(extractor: FeatureExtractor, sample_rate: int) -> FeatureExtractor:
    check_sample_rate(sample_rate, expected=extractor.sample_rate)
    return extractor.eval().requires_grad_(False)
