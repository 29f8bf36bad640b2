"""Recipe ``autoencoder``: the codec-loss paper's small waveform autoencoder, trained with a chosen
loss (Ananthabhotla et al., ACM MM 2019, section 5), for `earshot experiment autoencoder`.

Loss terms (only those with a nonzero weight in ``train.loss_weights`` are computed):
``l1`` waveform L1; ``stft`` magnitude-STFT L1 (n_fft 1024, hop 256); ``mrstft`` multi-resolution
STFT; ``codec_spectral`` / ``codec_time`` `CodecLoss` through the shipped spectral / time emulator
(prediction + feature terms; the paper's waveform term ``a`` is the ``l1`` weight). The paper's
models: A ``{l1: 1}``, B ``{l1: 1, stft: 1}``, C ``{l1: 1, codec_spectral: 1}``,
D ``{codec_time: 1}``; ``jnd`` adds `JNDLoss` (the shipped learned JND distance), ``jnd_spectral``
the same over its spectral branch only. Training audio: corpus excerpts, band-limited to ``recipe.lowpass_hz``.

    earshot train autoencoder "train.loss_weights={l1: 1, codec_spectral: 1}" train.steps=2000
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from earshot.errors import ConfigError, DataError
from earshot.models.autoencoder import ConvAutoencoder
from earshot.train.recipe import Exported, Recipe, StepContext, register_recipe
from earshot.data.corpus import DEFAULT_CORPUS


@dataclass
class AutoencoderConfig:
    sample_rate: int = 16000
    corpus: str = DEFAULT_CORPUS
    kinds: list[str] = field(default_factory=lambda: ["speech", "music"])
    lowpass_hz: float = 3000.0         # band-limit the audio (the paper's 3 kHz); 0 = off
    seconds: float = 0.5
    items: int = 4096
    valid_items: int = 16
    min_level_db: float = -45.0
    layers: int = 8
    filters: int = 12
    kernel_size: int = 9
    codec_layers: str = "all"          # CodecLoss layers: all | encoder | shallow | decoder
    codec_feature_weight: float = 1.0  # CodecLoss feature term (the paper's c); prediction term b = 1
    spectral_emulator: str = "emulator-spectral"   # weights name or manifest path
    time_emulator: str = "emulator-time"
    seed: int = 0


@functools.lru_cache(maxsize=4)
def band_limited_files(corpus: str, kinds: tuple, split: str, sample_rate: int, lowpass_hz: float) -> tuple:
    """Corpus files of ``kinds`` in ``split`` as ``(1, T)`` tensors, low-passed at ``lowpass_hz``
    (soxr down to ``2 * lowpass_hz`` and back up: a linear-phase brick wall). Cached."""
    from earshot.audio.io import load
    from earshot.audio.resample import resample
    from earshot.data.corpus import load_manifest

    items = load_manifest(corpus, kind=list(kinds), split=split)
    if not items:
        raise DataError(f"{corpus}: no {'/'.join(kinds)} files in split {split!r}")
    out = []
    for item in items:
        audio = load(item.path, sample_rate=sample_rate, mono=True)[0]
        if lowpass_hz:
            low = int(round(2 * lowpass_hz))
            audio = resample(resample(audio, sample_rate, low), low, sample_rate)[:, : audio.shape[-1]]
        out.append((item.kind, audio))
    return tuple(out)


class Excerpts(torch.utils.data.Dataset):
    """``(1, T)`` excerpts of band-limited corpus files; item ``i`` drawn from ``rng((seed, epoch, i))``,
    redrawn (up to 20 times) while quieter than ``min_level_db`` RMS dBFS."""

    def __init__(self, cfg: AutoencoderConfig, split: str, *, items: int, seed: int, vary: bool = True):
        self.files = [a for _, a in band_limited_files(cfg.corpus, tuple(cfg.kinds), split, cfg.sample_rate,
                                                        cfg.lowpass_hz)]
        self.length = int(cfg.seconds * cfg.sample_rate)
        w = np.array([max(a.shape[-1] - self.length, 1) for a in self.files], dtype=float)
        self.p = w / w.sum()
        self.n, self.seed, self.vary, self.epoch, self.floor = items, seed, vary, 0, cfg.min_level_db

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch if self.vary else 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        for _ in range(20):
            audio = self.files[int(rng.choice(len(self.files), p=self.p))]
            start = int(rng.integers(0, max(audio.shape[-1] - self.length, 0) + 1))
            x = audio[:, start:start + self.length]
            if 20 * torch.log10(x.pow(2).mean().sqrt() + 1e-12) > self.floor:
                break
        return torch.nn.functional.pad(x, (0, self.length - x.shape[-1]))


@register_recipe
class AutoencoderRecipe(Recipe):
    """The paper's 8-layer conv autoencoder trained with L1 / STFT / MR-STFT / codec losses."""

    config_class = AutoencoderConfig
    description = "paper's small waveform autoencoder, for comparing training losses (codec loss paper)"
    train_defaults = {"lr": 1e-3, "batch_size": 8, "loss_weights": {"l1": 1.0}}

    def build_models(self):
        c = self.config
        return {"model": ConvAutoencoder(layers=c.layers, filters=c.filters, kernel_size=c.kernel_size)}

    def datasets(self):
        c = self.config
        return (Excerpts(c, "train", items=c.items, seed=c.seed),
                Excerpts(c, "valid", items=c.valid_items, seed=c.seed + 1, vary=False))

    def _losses(self, device) -> dict:
        if getattr(self, "_loss_mods", None) is None:
            from earshot.losses import L1Loss, MultiResolutionSTFTLoss, STFTMagnitudeLoss
            from earshot.losses.codec import CodecLoss
            from earshot.losses.jnd import JNDLoss

            c = self.config
            codec = dict(sample_rate=c.sample_rate, layers=c.codec_layers, feature_weight=c.codec_feature_weight)
            makers = {"l1": L1Loss, "stft": lambda: STFTMagnitudeLoss(1024, 256), "mrstft": MultiResolutionSTFTLoss,
                      "codec_spectral": lambda: CodecLoss(c.spectral_emulator, **codec),
                      "codec_time": lambda: CodecLoss(c.time_emulator, **codec),
                      "jnd": lambda: JNDLoss(c.sample_rate),
                      "jnd_spectral": lambda: JNDLoss(c.sample_rate, branch="spectral")}
            weights = self.train_config.loss_weights or {"l1": 1.0}
            unknown = sorted(set(weights) - set(makers))
            if unknown:
                raise ConfigError(f"train.loss_weights names unknown terms {unknown}; known: {sorted(makers)}")
            self._loss_mods = {k: makers[k]().to(device) for k, w in weights.items() if w}
        return self._loss_mods

    def training_step(self, models, batch, ctx: StepContext):
        estimate = ctx.balance(models["model"](batch))  # train.balancer rescales each term wrt it
        return {name: loss(estimate, batch) for name, loss in self._losses(ctx.device).items()}

    def validation_step(self, models, batch):
        from earshot.metrics import snr

        estimate = models["model"](batch)
        out = {name: loss(estimate, batch) for name, loss in self._losses(estimate.device).items()}
        out["snr"] = snr(estimate, batch)
        return out

    def examples(self, models, batch):
        return {"0/input": batch[0], "0/output": models["model"](batch)[0]}

    def export(self, models):
        c = self.config
        return Exported(models["model"], {"layers": c.layers, "filters": c.filters, "kernel_size": c.kernel_size},
                        c.sample_rate, data=f"{'+'.join(c.kinds)} from {c.corpus}, low-passed at {c.lowpass_hz:g} Hz")
