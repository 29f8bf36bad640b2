"""Recipe ``denoiser``: a small mask denoiser on corpus speech + corpus noise, for comparing losses.

The loss is chosen with ``train.loss_weights``: any of ``l1`` (waveform L1), ``mrstft``
(multi-resolution STFT), ``jnd`` (`earshot.losses.jnd.JNDLoss`, frozen learned JND distance),
``jnd_spectral`` (JNDLoss over its spectral branch only, ``branch="spectral"``), e.g. ``train.loss_weights={l1: 1, jnd: 1}``; only terms with a nonzero weight are computed.
`earshot experiment denoising` trains one run per loss on the same budget and compares them.

    earshot train denoiser train.steps=300 "train.loss_weights={jnd: 1.0}"
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from earshot.data.mixing import mix_at_snr
from earshot.models.denoiser import MaskDenoiser
from earshot.train.recipe import Exported, Recipe, StepContext, register_recipe
from earshot.data.corpus import DEFAULT_CORPUS


@dataclass
class DenoiserConfig:
    sample_rate: int = 16000
    corpus: str = DEFAULT_CORPUS
    seconds: float = 1.0
    snr_low: float = -5.0
    snr_high: float = 15.0
    train_items: int = 1024       # speech excerpts per epoch
    valid_items: int = 16
    n_fft: int = 512
    hop_length: int = 128
    hidden: int = 96
    layers: int = 4
    jnd_weights: str = "jnd-sim-16k"
    seed: int = 0


class NoisySpeech(torch.utils.data.Dataset):
    """Items ``{"clean", "noisy"}`` ``(1, T)``: corpus speech plus corpus noise at a random SNR.

    ``items``: excerpts per epoch (speech files drawn by length); ``None``: one per file, in order.
    The noise excerpt and SNR of item ``i`` are drawn from ``(seed, epoch, i)`` (deterministic).
    """

    def __init__(self, corpus: str, *, split: str, seconds: float, sample_rate: int, snr=(-5.0, 15.0),
                 seed: int = 0, vary: bool = True, items: int | None = None):
        from earshot.data.datasets import CorpusDataset

        common = dict(split=split, segment_seconds=seconds, sample_rate=sample_rate)
        self.speech = CorpusDataset(corpus, kind="speech", seed=seed, items_per_epoch=items, **common)
        self.noise = CorpusDataset(corpus, kind="noise", seed=seed + 1, **common)
        self.snr, self.seed, self.vary, self.epoch = snr, seed, vary, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch if self.vary else 0
        for d in (self.speech, self.noise):
            if hasattr(d, "set_epoch"):
                d.set_epoch(self.epoch)

    def __len__(self) -> int:
        return len(self.speech)

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        clean = _first(self.speech[i])
        noise = _first(self.noise[int(rng.integers(len(self.noise)))])
        n = min(clean.shape[-1], noise.shape[-1])
        clean, noise = clean[..., :n], noise[..., :n]
        snr = rng.uniform(*self.snr)
        noisy = mix_at_snr(clean, noise, snr)
        peak = max(1.0, float(noisy.abs().max()))
        return {"clean": clean / peak, "noisy": noisy / peak, "snr": torch.tensor(snr, dtype=torch.float32)}


def _first(item):
    return item[0] if isinstance(item, (tuple, list)) else (item["audio"] if isinstance(item, dict) else item)


@register_recipe
class DenoiserRecipe(Recipe):
    """Mask denoiser trained with L1, MR-STFT, JNDLoss or a sum (see ``train.loss_weights``)."""

    config_class = DenoiserConfig
    description = "small STFT-mask speech denoiser for comparing training losses"
    train_defaults = {"lr": 2e-3, "batch_size": 8, "loss_weights": {"l1": 1.0}}

    def build_models(self):
        c = self.config
        return {"model": MaskDenoiser(n_fft=c.n_fft, hop_length=c.hop_length, hidden=c.hidden, layers=c.layers)}

    def datasets(self):
        c = self.config
        snr = (c.snr_low, c.snr_high)
        train = NoisySpeech(c.corpus, split="train", seconds=c.seconds, sample_rate=c.sample_rate, snr=snr,
                            seed=c.seed, items=c.train_items)
        valid = NoisySpeech(c.corpus, split="valid", seconds=c.seconds, sample_rate=c.sample_rate, snr=snr,
                            seed=c.seed + 7, vary=False, items=c.valid_items)
        return train, valid

    def _losses(self, device):
        if getattr(self, "_loss_mods", None) is None:
            from earshot.losses import L1Loss, MultiResolutionSTFTLoss
            from earshot.losses.jnd import JNDLoss

            weights = self.train_config.loss_weights or {"l1": 1.0}
            makers = {"l1": lambda: L1Loss(), "mrstft": lambda: MultiResolutionSTFTLoss(),
                      "jnd": lambda: JNDLoss(self.config.sample_rate, weights=self.config.jnd_weights),
                      "jnd_spectral": lambda: JNDLoss(self.config.sample_rate, weights=self.config.jnd_weights,
                                                      branch="spectral")}
            self._loss_mods = {k: makers[k]().to(device) for k, w in weights.items() if w and k in makers}
            if not self._loss_mods:
                from earshot.errors import ConfigError

                raise ConfigError(f"train.loss_weights {weights} names none of {sorted(makers)}")
        return self._loss_mods

    def training_step(self, models, batch, ctx: StepContext):
        estimate = ctx.balance(models["model"](batch["noisy"]))  # train.balancer rescales each term wrt it
        return {name: loss(estimate, batch["clean"]) for name, loss in self._losses(ctx.device).items()}

    def validation_step(self, models, batch):
        from earshot.metrics import si_sdr

        estimate = models["model"](batch["noisy"])
        out = {name: loss(estimate, batch["clean"]) for name, loss in self._losses(estimate.device).items()}
        out["si_sdr"] = si_sdr(estimate, batch["clean"])
        return out

    def examples(self, models, batch):
        estimate = models["model"](batch["noisy"])
        return {f"0/{k}": v for k, v in (("noisy", batch["noisy"][0]), ("estimate", estimate[0]), ("clean", batch["clean"][0]))}

    def export(self, models):
        c = self.config
        return Exported(models["model"], {"n_fft": c.n_fft, "hop_length": c.hop_length, "hidden": c.hidden,
                                          "layers": c.layers}, c.sample_rate,
                        data=f"speech + noise from {c.corpus} at {c.snr_low}..{c.snr_high} dB SNR")
