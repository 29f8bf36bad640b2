"""Toy recipe: a tiny conv denoiser on synthetic sines plus white noise (needs no corpus).

It is the engine's worked example and test subject: ``earshot train toy train.steps=50``.
With ``recipe.adversarial=true`` it trains in GAN mode against a small hinge discriminator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from earshot.data.mixing import mix_at_snr
from earshot.metrics import si_sdr
from earshot.models.toy import ToyDenoiser, ToyDiscriminator
from earshot.train.recipe import Exported, Recipe, StepContext, register_recipe


@dataclass
class ToyConfig:
    sample_rate: int = 8000
    seconds: float = 0.25
    snr_db: float = 5.0
    train_items: int = 256
    valid_items: int = 32
    channels: int = 8
    layers: int = 3
    kernel_size: int = 9
    adversarial: bool = False
    adv_weight: float = 0.1   # weight of the generator's hinge term once the adversary is on
    seed: int = 0


class SineNoise(torch.utils.data.Dataset):
    """Items ``{"clean", "noisy"}`` each ``(1, samples)``: a random sine, and it plus white noise.

    Item ``i`` is a pure function of ``(seed, epoch, i)``, so resuming reproduces it exactly.
    """

    def __init__(self, items: int, samples: int, sample_rate: int, snr_db: float, seed: int, *, vary: bool = True):
        self.items, self.samples, self.sample_rate = items, samples, sample_rate
        self.snr_db, self.seed, self.vary, self.epoch = snr_db, seed, vary, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch if self.vary else 0

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        t = np.arange(self.samples) / self.sample_rate
        freq = rng.uniform(100, self.sample_rate / 8)
        clean = rng.uniform(0.2, 0.6) * np.sin(2 * math.pi * freq * t + rng.uniform(0, 2 * math.pi))
        noisy = mix_at_snr(clean, rng.standard_normal(self.samples), self.snr_db)
        to = lambda a: torch.from_numpy(a.astype(np.float32)).unsqueeze(0)  # noqa: E731
        return {"clean": to(clean), "noisy": to(noisy)}


@register_recipe
class ToyRecipe(Recipe):
    """Denoise sines in white noise with L1 (+ optional hinge GAN)."""

    config_class = ToyConfig
    description = "tiny conv denoiser on synthetic sines + white noise (engine example)"
    train_defaults = {"lr": 3e-3, "batch_size": 8, "loss_weights": {"l1": 1.0, "mse": 0.0}}

    def build_models(self):
        c = self.config
        model = ToyDenoiser(channels=c.channels, layers=c.layers, kernel_size=c.kernel_size)
        if c.adversarial:
            return {"generator": model, "discriminator": ToyDiscriminator(channels=c.channels)}
        return {"model": model}

    def datasets(self):
        c = self.config
        n = int(round(c.seconds * c.sample_rate))
        train = SineNoise(c.train_items, n, c.sample_rate, c.snr_db, c.seed)
        valid = SineNoise(c.valid_items, n, c.sample_rate, c.snr_db, c.seed + 1, vary=False)
        return train, valid

    def _gen(self, models):
        return models["generator"] if "generator" in models else models["model"]

    def training_step(self, models, batch, ctx: StepContext):
        estimate = ctx.balance(self._gen(models)(batch["noisy"]))
        terms = {"l1": F.l1_loss(estimate, batch["clean"]), "mse": F.mse_loss(estimate, batch["clean"])}
        if ctx.adversary_active:
            terms["adv"] = self.config.adv_weight * -models["discriminator"](estimate).mean()
        return terms

    def discriminator_step(self, models, batch, ctx: StepContext):
        with torch.no_grad():
            fake = self._gen(models)(batch["noisy"])
        d = models["discriminator"]
        return {"hinge": F.relu(1 - d(batch["clean"])).mean() + F.relu(1 + d(fake)).mean()}

    def validation_step(self, models, batch):
        estimate = self._gen(models)(batch["noisy"])
        return {
            "l1": F.l1_loss(estimate, batch["clean"]),
            "si_sdr": si_sdr(estimate, batch["clean"]),
            "si_sdr_input": si_sdr(batch["noisy"], batch["clean"]),
        }

    def examples(self, models, batch):
        estimate = self._gen(models)(batch["noisy"])
        out = {}
        for i in range(estimate.shape[0]):
            out |= {f"{i}/noisy": batch["noisy"][i], f"{i}/estimate": estimate[i], f"{i}/clean": batch["clean"][i]}
        return out

    def export(self, models):
        c = self.config
        return Exported(
            self._gen(models), {"channels": c.channels, "layers": c.layers, "kernel_size": c.kernel_size},
            c.sample_rate, data=f"synthetic sines in white noise at {c.snr_db} dB SNR, {c.sample_rate} Hz",
        )
