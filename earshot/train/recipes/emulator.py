"""Recipe ``emulator``: train a codec emulator (spectral C^S or time-domain C^T U-Net) to reproduce
a real codec, with L1 against the real codec's output (Ananthabhotla et al., ACM MM 2019).

Data: corpus files (``recipe.kinds``, default speech + music) go whole through the real codec
once (`earshot.audio.codecs`: MP3 CBR at ``recipe.kbps``, or Opus), then aligned excerpts of
clean and coded audio are drawn. Loss terms (weights in ``train.loss_weights``): ``l1`` the
paper's L1 in the emulator's domain (normalised log magnitude, or waveform), ``mel`` an L1 on
log-mel levels (dB / 120) of the emulated output, which is what the accuracy measure compares.

    earshot train emulator                                   # spectral, MP3 16 kbps (paper sizes)
    earshot train emulator --config configs/emulator-time.yaml
    earshot train emulator recipe.codec=opus recipe.kbps=12
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from earshot.errors import ConfigError, DataError
from earshot.models.emulator import (REFERENCE_LEVEL, SpectralEmulator, TimeEmulator, emulator_accuracy,
                                     log_mel_db, reference_magnitude)
from earshot.train.recipe import Exported, Recipe, StepContext, register_recipe
from earshot.data.corpus import DEFAULT_CORPUS


@dataclass
class EmulatorConfig:
    variant: str = "spectral"          # spectral (C^S) | time (C^T)
    sample_rate: int = 16000
    codec: str = "mp3"                 # mp3 (LAME CBR) | opus
    kbps: float = 16.0
    corpus: str = DEFAULT_CORPUS
    kinds: list[str] = field(default_factory=lambda: ["speech", "music"])
    seconds: float = 1.0               # excerpt length
    items: int = 4096                  # excerpts per epoch
    valid_items: int = 32
    min_level_db: float = -45.0        # excerpts quieter than this (RMS dBFS) are redrawn
    # C^S (paper: 5 levels, 32 filters doubling, dropout 0.5 on the first 3 up layers)
    levels: int = 5
    base_filters: int = 32
    max_filters: int = 0               # 0 = no cap
    dropout: float = 0.5
    frequency_channel: bool = False    # add a bin-frequency input channel (not in the paper)
    # C^T (paper: 8 levels, 32 filters, kernels 15 down / 9 up)
    time_levels: int = 8
    filters: int = 32
    growth: int = 0
    seed: int = 0


def roundtrip(audio: torch.Tensor, sample_rate: int, codec: str, kbps: float) -> torch.Tensor:
    """The real codec on ``audio`` ``(channels, samples)``, sample-aligned, same shape."""
    from earshot.audio.codecs import mp3_roundtrip, opus_roundtrip

    if codec == "mp3":
        return mp3_roundtrip(audio, sample_rate, kbps=int(kbps))
    if codec == "opus":
        return opus_roundtrip(audio, sample_rate, kbps=float(kbps))
    raise ConfigError(f"recipe.codec must be 'mp3' or 'opus', got {codec!r}")


class CodecPairs(torch.utils.data.Dataset):
    """Items ``{"clean", "coded"}`` ``(1, T)``: aligned excerpts of corpus files and of the same
    files through the real codec (coded whole, once). Item ``i``'s file and offset come from
    ``numpy.random.default_rng((seed, epoch, i))``; excerpts below ``min_level_db`` are redrawn."""

    def __init__(self, cfg: EmulatorConfig, split: str, *, items: int, seed: int, vary: bool = True):
        from earshot.audio.io import load
        from earshot.data.corpus import load_manifest

        entries = load_manifest(cfg.corpus, kind=list(cfg.kinds), split=split)
        if not entries:
            raise DataError(f"{cfg.corpus}: no {'/'.join(cfg.kinds)} items in split {split!r}")
        self.clean = [load(e.path, sample_rate=cfg.sample_rate, mono=True)[0] for e in entries]
        self.coded = [roundtrip(c, cfg.sample_rate, cfg.codec, cfg.kbps) for c in self.clean]
        self.length = int(cfg.seconds * cfg.sample_rate)
        weights = np.array([max(c.shape[-1] - self.length, 1) for c in self.clean], dtype=float)
        self.p = weights / weights.sum()
        self.n, self.seed, self.vary, self.epoch, self.floor = items, seed, vary, 0, cfg.min_level_db

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch if self.vary else 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        for _ in range(20):
            f = int(rng.choice(len(self.clean), p=self.p))
            clean, coded = self.clean[f], self.coded[f]
            start = int(rng.integers(0, max(clean.shape[-1] - self.length, 0) + 1))
            x = clean[:, start:start + self.length]
            if 20 * torch.log10(x.pow(2).mean().sqrt() + 1e-12) > self.floor:
                break
        y = coded[:, start:start + self.length]
        pad = self.length - x.shape[-1]
        return {"clean": torch.nn.functional.pad(x, (0, pad)), "coded": torch.nn.functional.pad(y, (0, pad))}


@register_recipe
class EmulatorRecipe(Recipe):
    """Codec emulator (C^S or C^T) trained against a real codec's output."""

    config_class = EmulatorConfig
    description = "neural MP3/Opus emulator (spectral or time-domain U-Net) for CodecLoss"
    train_defaults = {"lr": 1e-3, "batch_size": 32, "loss_weights": {"l1": 1.0, "mel": 0.0}}

    def model_kwargs(self) -> dict:
        c = self.config
        if c.variant == "spectral":
            return {"sample_rate": c.sample_rate, "levels": c.levels, "base_filters": c.base_filters,
                    "max_filters": c.max_filters or None, "dropout": c.dropout,
                    "frequency_channel": c.frequency_channel}
        if c.variant == "time":
            return {"sample_rate": c.sample_rate, "levels": c.time_levels, "filters": c.filters,
                    "growth": c.growth}
        raise ConfigError(f"recipe.variant must be 'spectral' or 'time', got {c.variant!r}")

    def build_models(self):
        cls = SpectralEmulator if self.config.variant == "spectral" else TimeEmulator
        return {"model": cls(**self.model_kwargs())}

    def datasets(self):
        c = self.config
        train = CodecPairs(c, "train", items=c.items, seed=c.seed)
        valid = CodecPairs(c, "valid", items=c.valid_items, seed=c.seed + 1, vary=False)
        return train, valid

    def _mel(self, device):
        if getattr(self, "_fb", None) is None:
            from earshot.dsp.mel import mel_filterbank

            self._fb = mel_filterbank(sample_rate=self.config.sample_rate, n_fft=1024, n_mels=80).to(device)
        return self._fb

    def training_step(self, models, batch, ctx: StepContext):
        net = models["model"]
        x, y = batch["clean"], batch["coded"]
        module = getattr(net, "module", net)
        pred = net(x)
        terms = {"l1": (pred - module.represent(y)).abs().mean()}
        if self.train_config.loss_weights.get("mel", 0.0):
            fb = self._mel(x.device)
            mag = module.denormalize(pred) if self.config.variant == "spectral" else reference_magnitude(pred)
            mel_pred = log_mel_db(mag, fb, ref=REFERENCE_LEVEL)
            mel_coded = log_mel_db(reference_magnitude(y), fb, ref=REFERENCE_LEVEL)
            terms["mel"] = (mel_pred - mel_coded).abs().mean() / 120
        return terms

    def validation_step(self, models, batch):
        net = models["model"]
        module = getattr(net, "module", net)
        acc = emulator_accuracy(module, batch["clean"], batch["coded"])
        pred = net(batch["clean"])
        return {"l1": (pred - module.represent(batch["coded"])).abs().flatten(1).mean(1),
                "explained": acc.explained, "lsd": acc.lsd_emulated, "lsd_input": acc.lsd_input}

    def export(self, models):
        c = self.config
        name = "MP3 CBR (LAME)" if c.codec == "mp3" else "Opus (libopus)"
        params = sum(p.numel() for p in models["model"].parameters())
        if c.variant == "spectral":
            size = (f"C^S, {c.levels} levels from {c.base_filters} base filters (paper: 5 from 32)"
                    f"{', frequency input channel (not in the paper)' if c.frequency_channel else ''}")
        else:
            size = f"C^T, {c.time_levels} levels of {c.filters}+{c.growth}*level filters (paper: 8 of 32)"
        steps, batch = self.train_config.steps, self.train_config.batch_size
        return Exported(models["model"], self.model_kwargs(), c.sample_rate,
                        data=f"{'+'.join(c.kinds)} from {c.corpus} (train split), {c.sample_rate} Hz mono, "
                             f"target: real {name} {c.kbps:g} kbps round trip",
                        notes=f"{size}; {params} parameters; {steps} steps of batch {batch} x {c.seconds:g} s; "
                              f"metrics: validation split (explained = codec effect explained E, lsd in dB)")

