"""Codec-approximation perceptual loss (Ananthabhotla, Ewert, Paradiso, ACM MM 2019).

A frozen neural emulator of a low-bitrate MP3 codec (`earshot.models.emulator`) hears both
signals; differences the codec would throw away (content above its cutoff, masked detail) cost
little, audible ones cost a lot::

    loss = a * |x - y|  +  b * |C(x) - C(y)|  +  c * sum_m w_m * |phi_m(x) - phi_m(y)| / n_m

``C`` is the emulator's prediction, ``phi_m`` its intermediate activations, ``n_m`` an optional
per-layer normalisation. By default only the prediction term is on (``b = 1``, ``a = c = 0``):
with the shipped emulators it is the term that ignores what the codec removes (noise above the
MP3 cutoff costs 0.05x (spectral) / 0.02x (time) as much per unit of L1 as passband noise),
while the activations still see such content (1.4x / 6x with all layers). ``feature_weight=1``
(and ``waveform_weight`` for the paper's model C) gives the paper's full formulation.

>>> import torch
>>> loss = CodecLoss(sample_rate=16000)           # shipped spectral emulator, frozen
>>> value = loss(torch.zeros(2, 1, 8000), torch.zeros(2, 1, 8000))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from earshot.errors import ConfigError
from earshot.validate import check_pair, check_reduction, check_sample_rate, reduce
from earshot.losses.frozen import FrozenNetworkLoss
from earshot.losses.precision import float32_loss

LAYER_SETS = ("all", "encoder", "shallow", "decoder")


@dataclass
class CodecLossTerms:
    """Per-item ``(batch,)`` terms of `CodecLoss` before weighting, and their weighted sum."""

    prediction: torch.Tensor
    features: torch.Tensor
    waveform: torch.Tensor
    total: torch.Tensor
    layers: dict[str, torch.Tensor]


def _load_emulator(emulator) -> nn.Module:
    if isinstance(emulator, nn.Module):
        return emulator
    if emulator in ("spectral", "time"):
        emulator = f"emulator-{emulator}"
    from earshot.weights import load_pretrained

    return load_pretrained(emulator)


class CodecLoss(FrozenNetworkLoss):
    """Perceptual loss through a frozen codec emulator. ``forward(input, target)`` on
    ``(batch, channels, samples)`` at ``sample_rate``; channels are folded into the batch.

    Args:
        emulator: ``"spectral"`` (default) or ``"time"`` (shipped weights ``emulator-spectral``
            / ``emulator-time``), another shipped name, or an emulator module (used as given).
        sample_rate: rate of the inputs; resampled (differentiably) to the emulator's rate.
        prediction_weight, feature_weight, waveform_weight: ``b`` (1), ``c`` (0), ``a`` (0) above.
        layers: ``"all"``, ``"encoder"``, ``"shallow"`` (first two encoder layers),
            ``"decoder"``, or a list of layer names (see the emulator's ``layer_names``).
        layer_weights: one weight per layer (list, or dict by name); default ``1 / len(layers)``.
        layer_norm: ``"target"`` divides each layer's L1 by the mean |activation| of the target
            at that layer (plus ``norm_eps``), so layers weigh alike; ``"none"`` keeps raw L1.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (one value per batch item).
    """

    def __init__(self, emulator="spectral", *, sample_rate: int = 16000, prediction_weight: float = 1.0,
                 feature_weight: float = 0.0, waveform_weight: float = 0.0,
                 layers: str | Sequence[str] = "all", layer_weights=None, layer_norm: str = "target",
                 norm_eps: float = 1e-6, reduction: str = "mean"):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.reduction = check_reduction(reduction)
        if layer_norm not in ("target", "none"):
            raise ConfigError(f"layer_norm must be 'target' or 'none', got {layer_norm!r}")
        self._set_network(_load_emulator(emulator))
        self.layers = self._select_layers(layers)
        self.layer_weights = self._weights(layer_weights)
        self.prediction_weight, self.feature_weight = float(prediction_weight), float(feature_weight)
        self.waveform_weight, self.layer_norm, self.norm_eps = float(waveform_weight), layer_norm, norm_eps

    @property
    def emulator(self) -> nn.Module:
        """The frozen emulator network (eval mode, no gradients to its weights)."""
        return self._net

    def _select_layers(self, layers) -> list[str]:
        names = list(self._net.layer_names)
        enc = list(self._net.encoder_layers)
        if isinstance(layers, str):
            if layers not in LAYER_SETS:
                raise ConfigError(f"layers must be one of {LAYER_SETS} or a list of names, got {layers!r}")
            return {"all": names, "encoder": enc, "shallow": enc[:2],
                    "decoder": [n for n in names if n.startswith("dec")]}[layers]
        unknown = [n for n in layers if n not in names]
        if unknown:
            raise ConfigError(f"unknown emulator layers {unknown}; available: {names}")
        return list(layers)

    def _weights(self, layer_weights) -> dict[str, float]:
        if layer_weights is None:
            return {n: 1.0 / max(len(self.layers), 1) for n in self.layers}
        if isinstance(layer_weights, dict):
            missing = [n for n in self.layers if n not in layer_weights]
            if missing:
                raise ConfigError(f"layer_weights has no weight for layers {missing}")
            return {n: float(layer_weights[n]) for n in self.layers}
        if len(layer_weights) != len(self.layers):
            raise ConfigError(f"layer_weights has {len(layer_weights)} values for {len(self.layers)} layers")
        return {n: float(w) for n, w in zip(self.layers, layer_weights)}

    @float32_loss
    def terms(self, input: torch.Tensor, target: torch.Tensor) -> CodecLossTerms:
        """The loss's terms per batch item (channels averaged), without reduction."""
        check_pair(input, target)
        b, c = input.shape[:2]
        keep_output = self.prediction_weight != 0
        layers = self.layers if self.feature_weight != 0 else []
        fx = self._net.features(self._fold(input, self.sample_rate), layers=layers, output=keep_output)
        with torch.set_grad_enabled(torch.is_grad_enabled() and target.requires_grad):
            fy = self._net.features(self._fold(target, self.sample_rate), layers=layers, output=keep_output)

        def per_item(d: torch.Tensor) -> torch.Tensor:
            return d.reshape(b, c, -1).mean(dim=(1, 2))

        zero = input.new_zeros(b)
        pred = per_item((fx.output - fy.output).abs()) if keep_output else zero
        per_layer = {}
        for name in layers:
            d = per_item((fx.activations[name] - fy.activations[name]).abs())
            if self.layer_norm == "target":
                d = d / (per_item(fy.activations[name].abs()).detach() + self.norm_eps)
            per_layer[name] = d
        feats = sum((self.layer_weights[n] * d for n, d in per_layer.items()), zero)
        wave = per_item((input - target).abs()) if self.waveform_weight else zero
        total = self.prediction_weight * pred + self.feature_weight * feats + self.waveform_weight * wave
        return CodecLossTerms(pred, feats, wave, total, per_layer)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``input``, ``target``: ``(batch, channels, samples)`` at ``sample_rate`` -> reduced float32 loss
        (float32 through `terms`)."""
        return reduce(self.terms(input, target).total, self.reduction)

    def extra_repr(self) -> str:
        return (f"emulator={type(self._net).__name__}, sample_rate={self.sample_rate}, "
                f"layers={self.layers}, reduction={self.reduction!r}")
