"""SoundStream codec recipe (Zeghidour et al. 2021) on the engine's GAN mode.

``earshot train codec`` trains :class:`~earshot.models.codec.SoundStream` on corpus speech and
music with the multi-scale spectral reconstruction loss (``rec``), the RVQ commitment loss
(``commit``), and, once ``train.adversary_start`` is reached, the hinge adversarial (``adv``)
and feature-matching (``feat``) losses against a 3-scale waveform discriminator and an STFT
discriminator. Defaults are the paper's: 24 kHz, C = 32, 24 quantizers of 1024 codes,
quantizer dropout, weights adv 1, feat 100, rec 1, Adam(1e-4, betas 0.5/0.9).
``configs/codec-16k.yaml`` is the small 16 kHz model that ships as ``codec-16k``.

Options: ``recipe.extra_loss="codec"`` or ``"jnd"`` (any :func:`earshot.losses.registry.build_loss`
spec) adds a perceptual term ``extra`` to the generator; ``recipe.denoise=true`` mixes corpus
noise into half of the inputs and trains the FiLM flag: flag on -> target is the clean speech,
flag off -> target is the (noisy) input.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch

from earshot.errors import ConfigError
from earshot.train.recipe import Exported, Recipe, StepContext, load_to_fine_tune, register_recipe
from earshot.data.corpus import DEFAULT_CORPUS
from earshot.data.mixing import mix_at_snr

CORPUS = DEFAULT_CORPUS


@dataclass
class CodecConfig:
    # model (paper: 24 kHz, C = 32, 24 x 1024-entry codebooks, strides 2, 4, 5, 8)
    sample_rate: int = 24000
    channels: int = 32
    dim: int = 128
    strides: list[int] = field(default_factory=lambda: [2, 4, 5, 8])
    n_quantizers: int = 24
    codebook_size: int = 1024
    max_channels: int | None = None
    film: str | None = "encoder"
    quantizer_dropout: float = 1.0
    min_quantizers: int = 1
    dead_threshold: float = 0.01
    weight_norm: bool = True    # on the codec's convs while training; folded on export
    quantizer_warmup: int = 0   # first steps train encoder+decoder without the RVQ (0 = paper)
    decoder: str = "conv"       # conv (paper) | istft (Vocos-style inverse-FFT head)
    decoder_width: int = 256    # istft decoder: frame-rate conv width
    decoder_blocks: int = 2     # istft decoder: groups of three residual units
    # adversaries (MelGAN waveform discriminator at 3 scales; STFT discriminator 1024/256)
    adversarial: bool = True
    adversarial_kind: str = "hinge"
    wave_channels: int = 16
    wave_max_channels: int = 1024
    stft_channels: int = 32
    init: str = ""              # shipped codec weights (name or manifest path) to fine-tune; its manifest sets the model
    # losses
    extra_loss: str = ""        # e.g. "codec" or "jnd": a build_loss spec added as term "extra"
    # data
    corpus: str = CORPUS
    kinds: list[str] = field(default_factory=lambda: ["speech", "music"])
    segment_seconds: float = 1.0
    items_per_epoch: int | None = None   # None: one excerpt per corpus file per epoch
    valid_kbps: float = 6.0     # bitrate of the validation metrics
    # denoising (FiLM flag): noise from the corpus mixed at an SNR drawn in snr_db
    denoise: bool = False
    denoise_prob: float = 0.5
    snr_db: list[float] = field(default_factory=lambda: [0.0, 20.0])
    seed: int = 0


class CodecItems(torch.utils.data.Dataset):
    """Items ``{"input", "target"}`` ``(1, T)`` and ``"denoise"`` (0/1) from clean (and noise) items.

    Without ``noise`` the input is the clean excerpt and the flag is 0. With it, half of the
    items get noise at a random SNR; of those, the flag is 1 with ``denoise_prob`` (target: the
    clean audio) and 0 otherwise (target: the noisy input). Draws depend only on (seed, epoch, i).
    """

    def __init__(self, clean, noise=None, *, denoise_prob: float = 0.5, snr_db=(0.0, 20.0), seed: int = 0):
        self.clean, self.noise, self.denoise_prob = clean, noise, denoise_prob
        self.snr_db, self.seed, self.epoch = tuple(snr_db), seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        for ds in (self.clean, self.noise):
            if hasattr(ds, "set_epoch"):
                ds.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.clean)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        clean = self.clean[index]
        item = {"input": clean, "target": clean, "denoise": torch.tensor(0)}
        if self.noise is None:
            return item
        rng = np.random.default_rng((self.seed, self.epoch, index))
        noisy, flag = rng.random() < 0.5, rng.random() < self.denoise_prob
        if not noisy:
            return item
        noise = self.noise[int(rng.integers(len(self.noise)))][..., : clean.shape[-1]]
        noise = torch.nn.functional.pad(noise, (0, clean.shape[-1] - noise.shape[-1]))
        mix = mix_at_snr(clean, noise, rng.uniform(*self.snr_db))
        mix = mix / mix.abs().max().clamp(min=1.0)
        return {"input": mix, "target": clean if flag else mix, "denoise": torch.tensor(int(flag))}


@register_recipe
class CodecRecipe(Recipe):
    """SoundStream: multi-scale spectral + commitment (+ hinge GAN and feature matching)."""

    config_class = CodecConfig
    description = "SoundStream neural audio codec (RVQ, GAN, FiLM denoising)"
    train_defaults = {
        "lr": 1e-4, "betas": (0.5, 0.9), "disc_betas": (0.5, 0.9), "batch_size": 16,
        "loss_weights": {"rec": 1.0, "commit": 1.0, "adv": 1.0, "feat": 100.0},  # "extra": 1 if unset
    }

    def model_kwargs(self) -> dict:
        c = self.config
        return {"sample_rate": c.sample_rate, "channels": c.channels, "dim": c.dim, "strides": list(c.strides),
                "n_quantizers": c.n_quantizers, "codebook_size": c.codebook_size, "max_channels": c.max_channels,
                "film": c.film, "quantizer_dropout": c.quantizer_dropout, "min_quantizers": c.min_quantizers,
                "dead_threshold": c.dead_threshold, "weight_norm": c.weight_norm, "decoder": c.decoder,
                "decoder_width": c.decoder_width, "decoder_blocks": c.decoder_blocks}

    def build_models(self):
        from earshot.models.codec import SoundStream

        generator = self._pretrained() if self.config.init else SoundStream(**self.model_kwargs())
        if not self.config.adversarial:
            return {"model": generator}
        from earshot.models.discriminators import (
            CombinedDiscriminator, MultiScaleWaveformDiscriminator, STFTDiscriminator)

        c = self.config
        disc = CombinedDiscriminator(
            wave=MultiScaleWaveformDiscriminator(channels=c.wave_channels, max_channels=c.wave_max_channels),
            stft=STFTDiscriminator(channels=c.stft_channels))
        return {"generator": generator, "discriminator": disc}

    def _pretrained(self):
        """The generator of ``config.init`` in training mode (its manifest's settings replace the model ones)."""
        from earshot.models.codec import SoundStream

        c = self.config
        generator, self._init_kwargs = load_to_fine_tune(c.init, SoundStream)
        if generator.sample_rate != c.sample_rate:
            raise ConfigError(f"recipe.init={c.init!r} runs at {generator.sample_rate} Hz; "
                              f"recipe.sample_rate is {c.sample_rate}")
        return generator

    def _losses(self, device=None):
        if not hasattr(self, "_rec"):
            from earshot.losses.adversarial import AdversarialLoss, FeatureMatchingLoss
            from earshot.losses.registry import build_loss
            from earshot.losses.spectral import MultiScaleSpectralLoss

            c = self.config
            self._rec = MultiScaleSpectralLoss(c.sample_rate)
            self._adv = AdversarialLoss(c.adversarial_kind)
            self._feat = FeatureMatchingLoss()
            self._extra = build_loss(c.extra_loss, sample_rate=c.sample_rate) if c.extra_loss else None
        if device is not None:
            self._rec.to(device)
            if self._extra is not None:
                self._extra.to(device)
        return self

    def datasets(self):
        from earshot.data.datasets import CorpusDataset

        c = self.config
        kinds = list(c.kinds)

        def corpus(kind, split):
            return CorpusDataset(c.corpus, kind=kind, split=split, segment_seconds=c.segment_seconds,
                                 sample_rate=c.sample_rate, seed=c.seed,
                                 items_per_epoch=c.items_per_epoch if split == "train" else None)
        noise = (corpus("noise", "train"), corpus("noise", "valid")) if c.denoise else (None, None)
        opts = {"denoise_prob": c.denoise_prob, "snr_db": c.snr_db}
        train = CodecItems(corpus(kinds, "train"), noise[0], seed=c.seed, **opts)
        valid = CodecItems(corpus(kinds, "valid"), noise[1], seed=c.seed + 1, **opts)
        return train, valid

    @staticmethod
    def _gen(models):
        return models["generator"] if "generator" in models else models["model"]

    def training_step(self, models, batch, ctx: StepContext):
        losses = self._losses(ctx.device)
        quantize = ctx.step >= self.config.quantizer_warmup
        out = self._gen(models)(batch["input"], denoise=batch["denoise"], quantize=quantize)
        terms = {"rec": losses._rec(out.audio, batch["target"]), "commit": out.commit_loss}
        if losses._extra is not None:
            terms["extra"] = losses._extra(out.audio, batch["target"])
        if ctx.adversary_active:
            fake, real = models["discriminator"](out.audio), models["discriminator"](batch["target"])
            terms["adv"] = losses._adv(fake)
            terms["feat"] = losses._feat(fake, real)
        return terms

    def discriminator_step(self, models, batch, ctx: StepContext):
        losses = self._losses()
        with torch.no_grad():
            fake = self._gen(models)(batch["input"], denoise=batch["denoise"]).audio
        disc = models["discriminator"]
        return {"disc": losses._adv.discriminator(disc(batch["target"]), disc(fake))}

    def validation_step(self, models, batch):
        from earshot.metrics import mel_distance, si_sdr

        gen = self._gen(models)
        n_q = gen.quantizers_for_kbps(self.config.valid_kbps)
        ready = bool(gen.quantizer.layers[0].initialized)  # not yet during a quantizer warm-up
        out = gen(batch["input"], n_q, denoise=batch["denoise"], quantize=ready)
        target = batch["target"]
        return {"rec": self._losses(target.device)._rec(out.audio, target),
                "mel_distance": mel_distance(out.audio, target, self.config.sample_rate),
                "si_sdr": si_sdr(out.audio, target)}

    def examples(self, models, batch):
        gen = self._gen(models)
        out = gen(batch["input"][:1], gen.quantizers_for_kbps(self.config.valid_kbps), denoise=batch["denoise"][:1],
                  quantize=bool(gen.quantizer.layers[0].initialized))
        return {"input": batch["input"][0], "decoded": out.audio[0], "target": batch["target"][0]}

    def export(self, models):
        c = self.config
        data = f"earshot corpus ({', '.join(c.kinds)}{' + noise' if c.denoise else ''}) at {c.sample_rate} Hz"
        shipped = copy.deepcopy(self._gen(models)).remove_weight_norm().eval()
        if c.init:
            data += f", fine-tuned from {c.init}"
        kwargs = self._init_kwargs if c.init else self.model_kwargs()
        return Exported(shipped, {**kwargs, "weight_norm": False}, c.sample_rate, data=data)
