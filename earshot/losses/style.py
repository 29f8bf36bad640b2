"""Style and content losses on deep features: Gram matrices over time, and feature distances.

``StyleLoss(features="ae")(output, style)`` compares the time-averaged channel correlations
(Gram matrices) of chosen, usually shallow, layers; ``ContentLoss(features="ae")(output,
content)`` compares the activations themselves at deep layers. Both are relative (divided by
the target's energy), so layers and feature networks of different scale weigh alike, and a
value of 1 means "as far as from silence".

Feature networks (see `earshot.losses.style_features`): ``"ae"`` the shipped spectrogram
autoencoder, ``"random"`` a random shallow network (Ulyanov and Lebedev), ``"emulator"`` the
MP3 emulator of the codec loss, ``"jnd"`` the learned JND network; or any `FeatureExtractor`.
"""

from __future__ import annotations

import torch

from earshot.errors import ConfigError, ShapeError
from earshot.losses.frozen import FrozenNetworkLoss
from earshot.losses.precision import float32_loss
from earshot.losses.style_features import FeatureExtractor, feature_extractor
from earshot.validate import check_audio, check_reduction, reduce


def gram_over_time(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations averaged over time: ``(batch, channels, ..., frames)`` -> ``(batch, C', C')``.

    Every axis between batch and time is folded into channels (``C'``), so 4-D activations of
    2-D convolutions work too.
    """
    f = features.reshape(features.shape[0], -1, features.shape[-1])
    return f @ f.transpose(1, 2) / f.shape[-1]


def relative_distance(x: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    """``||x - target||^2 / (||target||^2 + eps)`` per batch item -> ``(batch,)``."""
    dims = tuple(range(1, x.dim()))
    return (x - target).square().sum(dims) / (target.square().sum(dims) + eps)


def style_distance(feats: dict[str, torch.Tensor], style_feats: dict[str, torch.Tensor],
                   weights: dict[str, float], *, eps: float = 1e-8) -> torch.Tensor:
    """Weighted relative Gram distance over layers -> ``(batch,)``; lengths may differ."""
    return sum(w * relative_distance(gram_over_time(feats[k]), gram_over_time(style_feats[k]), eps)
               for k, w in weights.items())


def content_distance(feats: dict[str, torch.Tensor], content_feats: dict[str, torch.Tensor],
                     weights: dict[str, float], *, eps: float = 1e-8) -> torch.Tensor:
    """Weighted relative feature distance over layers -> ``(batch,)``; same lengths needed."""
    total = 0.0
    for k, w in weights.items():
        a, b = feats[k], content_feats[k]
        if a.shape != b.shape:
            raise ShapeError(f"content layer {k}: activations {tuple(a.shape)} vs {tuple(b.shape)}; "
                             "content loss needs input and content of the same length")
        total = total + w * relative_distance(a, b, eps)
    return total


def _layer_weights(extractor: FeatureExtractor, layers, weights, default: list[str]) -> dict[str, float]:
    layers = list(default if layers is None else layers)
    unknown = [name for name in layers if name not in extractor.layer_names]
    if unknown or not layers:
        raise ConfigError(f"layers {unknown or layers} not in {extractor.layer_names}")
    weights = [1.0] * len(layers) if weights is None else list(weights)
    if len(weights) != len(layers):
        raise ConfigError(f"{len(weights)} weights for {len(layers)} layers")
    return dict(zip(layers, map(float, weights)))


class _FeatureLoss(FrozenNetworkLoss):
    """Shared set-up: a frozen feature extractor and the chosen layers' weights."""

    def __init__(self, features, sample_rate: int, layers, weights, reduction: str, eps: float, which: str):
        super().__init__()
        extractor = features if isinstance(features, FeatureExtractor) else feature_extractor(features, sample_rate=sample_rate)
        self._set_network(extractor)
        default = extractor.style_layers if which == "style" else extractor.content_layers
        self.weights = _layer_weights(extractor, layers, weights, default)
        self.reduction = check_reduction(reduction)
        self.eps = eps

    @property
    def extractor(self) -> FeatureExtractor:
        return self._net

    def _features(self, audio: torch.Tensor, name: str) -> dict[str, torch.Tensor]:
        check_audio(audio, name)
        return self.extractor.audio_features(audio.reshape(-1, 1, audio.shape[-1]))


class StyleLoss(_FeatureLoss):
    """Relative Gram-over-time distance between ``input`` and ``style`` at shallow layers.

    Args:
        features: ``"ae" | "random" | "emulator" | "jnd"`` or a `FeatureExtractor`.
        sample_rate: rate of the audio passed to ``forward`` (checked against the network's).
        layers, weights: layer names (default: the network's style layers) and their weights.

    ``forward(input (B, C, T), style (B, C, T'))`` -> loss; ``T'`` may differ from ``T``.
    """

    def __init__(self, features="ae", *, sample_rate: int = 16000, layers=None, weights=None,
                 reduction: str = "mean", eps: float = 1e-8):
        super().__init__(features, sample_rate, layers, weights, reduction, eps, "style")

    @float32_loss
    def forward(self, input: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if input.shape[:2] != style.shape[:2]:
            raise ShapeError(f"input {tuple(input.shape)} and style {tuple(style.shape)} differ in batch or channels")
        d = style_distance(self._features(input, "input"), self._features(style, "style"), self.weights, eps=self.eps)
        return reduce(d.reshape(input.shape[0], -1).mean(1), self.reduction)


class ContentLoss(_FeatureLoss):
    """Relative feature distance between ``input`` and ``content`` at deep layers.

    ``forward(input (B, C, T), content (B, C, T))`` -> loss. Arguments as `StyleLoss`.
    """

    def __init__(self, features="ae", *, sample_rate: int = 16000, layers=None, weights=None,
                 reduction: str = "mean", eps: float = 1e-8):
        super().__init__(features, sample_rate, layers, weights, reduction, eps, "content")

    @float32_loss
    def forward(self, input: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        if input.shape != content.shape:
            raise ShapeError(f"input {tuple(input.shape)} and content {tuple(content.shape)} differ")
        d = content_distance(self._features(input, "input"), self._features(content, "content"), self.weights, eps=self.eps)
        return reduce(d.reshape(input.shape[0], -1).mean(1), self.reduction)
