"""Recipe ``style-ae``: the spectrogram autoencoder whose activations feed style and content losses.

Trained to reconstruct ``log1p|STFT|`` frames of corpus speech and music with an L1 loss in that
log domain (the prosodic style-transfer report found log-domain reconstruction, a dilated first
layer, leaky ReLU and no batch norm worked best); AdamW's weight decay is the L2 regulariser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch.nn.functional as F

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.data.datasets import CorpusDataset
from earshot.models.style import LogSpectrogram, SpectrogramAutoencoder
from earshot.train.recipe import Exported, Recipe, register_recipe


@dataclass
class StyleAEConfig:
    corpus: str = DEFAULT_CORPUS
    kinds: list[str] = field(default_factory=lambda: ["speech", "music"])
    sample_rate: int = 16000
    segment_seconds: float = 1.0
    n_fft: int = 512
    hop_length: int = 128
    channels: list[int] = field(default_factory=lambda: [256, 128, 64])
    kernel_size: int = 3
    dilation: int = 2
    seed: int = 0


@register_recipe("style-ae")
class StyleAERecipe(Recipe):
    """Spectrogram autoencoder for style transfer features."""

    config_class = StyleAEConfig
    description = "log-spectrogram autoencoder: features for StyleLoss/ContentLoss and `earshot style`"
    train_defaults = {"lr": 1e-3, "batch_size": 16, "weight_decay": 1e-4, "loss_weights": {"l1_log": 1.0}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spectrogram = LogSpectrogram(self.config.n_fft, self.config.hop_length)

    def _model_kwargs(self) -> dict:
        c = self.config
        return {"n_freq": c.n_fft // 2 + 1, "channels": list(c.channels), "kernel_size": c.kernel_size,
                "dilation": c.dilation}

    def build_models(self):
        return {"model": SpectrogramAutoencoder(**self._model_kwargs())}

    def datasets(self):
        c = self.config

        def split(name):
            return CorpusDataset(c.corpus, kind=list(c.kinds), split=name, segment_seconds=c.segment_seconds,
                                 sample_rate=c.sample_rate, seed=c.seed)
        return split("train"), split("valid")

    def training_step(self, models, batch, ctx):
        audio = batch[0] if isinstance(batch, (list, tuple)) else batch
        logspec = self.spectrogram.to(audio.device)(audio)
        return {"l1_log": F.l1_loss(models["model"](logspec), logspec)}

    def export(self, models):
        c = self.config
        return Exported(models["model"], self._model_kwargs(), c.sample_rate,
                        data=f"earshot corpus ({'+'.join(c.kinds)}, train split): espeak-ng speech and "
                             f"fluidsynth music, {c.segment_seconds:g} s excerpts at {c.sample_rate} Hz",
                        notes=f"input: log1p|STFT| with n_fft={c.n_fft}, hop={c.hop_length}, hann")
