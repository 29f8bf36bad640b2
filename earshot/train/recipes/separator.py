"""Semi-supervised adversarial source separation (Stoller, Ewert & Dixon, ICASSP 2018).

``earshot train separator`` trains :class:`~earshot.models.separator.UNetSeparator` with

    L = L_s + alpha * L_u + beta * L_add

- ``sup`` (L_s): MSE between estimated and true ``log1p`` magnitudes of the labelled (paired)
  mixtures (``recipe.supervised_loss="mse"``, the paper), or any
  :func:`earshot.losses.registry.build_loss` spec (``"mrstft"``, ``"l1 + mrstft"``, ``"codec"``,
  ``"jnd"``, ...) on the waveforms resynthesised with the mixture phase;
- ``adv`` (alpha L_u): the WGAN generator loss ``-sum_k D_k(estimate_k)`` of the separator's
  estimates for unlabelled mixtures, one critic per source
  (:class:`~earshot.models.discriminators.critic.SourceCritics`);
- ``add`` (beta L_add): MSE between the unlabelled mixture's magnitude and the sum of the
  estimated magnitudes (``expm1`` of the estimates, unclamped so that gradients never vanish).

The terms come back already multiplied by ``recipe.alpha`` / ``recipe.beta`` (paper: 0.001);
``recipe.alpha_ramp_steps`` optionally ramps alpha up from 0 (not in the paper).
The critics train ``train.disc_steps`` (5) times per separator step on unpaired solo excerpts
of their source against separator estimates: ``critic = sum_k D_k(fake) - D_k(real)`` plus the
gradient penalty ``gp`` (lambda 10, one-sided as the paper's code unless
``recipe.one_sided=false``). Modes: ``supervised`` (paired data only, no critics),
``semi`` (all terms), ``unsupervised`` (no paired data: ``adv`` + ``add``).

Data: the corpus demo task (:class:`earshot.data.separation.SpeechMusicTask`, speech over
music), or your folders: ``recipe.multitrack`` (MUSDB18/DSD100 root, paired),
``recipe.mixture_folder`` (unlabelled mixtures), ``recipe.solo_folders`` (source -> folder);
parts you do not give come from the corpus task unless ``recipe.corpus=""``.
Paper optimiser: Adam 5e-5 for everything (``train.lr``; ``train.disc_lr`` 0 = the same); the
short CPU runs use 1e-3 (``earshot experiment separation``, ``configs/separator-ship.yaml``).
The critics' Adam betas default to WGAN-GP's (0.5, 0.9); the paper's code kept (0.9, 0.999).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from earshot.errors import ConfigError
from earshot.train.recipe import Exported, Recipe, StepContext, register_recipe
from earshot.data.corpus import DEFAULT_CORPUS

CORPUS = DEFAULT_CORPUS
MODES = ("supervised", "semi", "unsupervised")


@dataclass
class SeparatorConfig:
    mode: str = "semi"                     # supervised | semi | unsupervised
    sources: list[str] = field(default_factory=lambda: ["vocals", "accompaniment"])
    # model (paper: 8192 Hz, n_fft 512, hop 256, 16 filters, 4 levels, direct log-magnitudes)
    sample_rate: int = 8192
    n_fft: int = 512
    hop_length: int = 256
    channels: int = 16
    depth: int = 4
    kind: str = "direct"                   # direct | mask
    padding: str = "same"                  # same | valid
    input_skip: bool = True                # input features concatenated before the heads (paper's code)
    architecture: str = "unet"             # unet (the paper) | blstm (Open-Unmix architecture, the peer)
    hidden: int = 512                      # blstm: fully connected / BLSTM width (Open-Unmix: 512)
    lstm_layers: int = 3                   # blstm: stacked BLSTM layers
    critic_channels: int = 16
    critic_layers: int = 4
    # losses
    alpha: float = 0.001                   # weight of the adversarial term L_u
    alpha_ramp_steps: int = 0              # alpha grows linearly from 0 over these steps (0 = paper)
    beta: float = 0.001                    # weight of the additivity term L_add
    gp_weight: float = 10.0
    one_sided: bool = True
    supervised_loss: str = "mse"           # "mse" on log-magnitudes, or a build_loss spec on waveforms
    # data: the corpus demo task
    corpus: str = CORPUS
    segment_frames: int = 32               # excerpt length in STFT frames ((frames - 1) * hop samples)
    paired_items: int = 64
    items_per_epoch: int = 512
    fractions: list[float] = field(default_factory=lambda: [0.1, 0.45, 0.45])
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 5.0])
    valid_items: int = 16
    valid_seconds: float = 2.0
    # data: your folders (override the corpus task's parts)
    multitrack: str = ""                   # MUSDB18/DSD100 root: paired data
    multitrack_subset: str = ""            # e.g. train (MUSDB18) or Dev (DSD100); "" = all
    multitrack_valid_subset: str = ""      # e.g. test / Test: validation mixtures
    mixture_folder: str = ""               # unlabelled mixtures
    solo_folders: dict[str, str] = field(default_factory=dict)   # source -> folder of solo recordings
    export_dtype: str = "float32"          # float16 halves the shipped file (loads as float32)
    seed: int = 0


@register_recipe
class SeparatorRecipe(Recipe):
    """U-Net separator: supervised MSE + WGAN-GP critics on unpaired sources + additivity."""

    config_class = SeparatorConfig
    description = "semi-supervised adversarial source separation (U-Net + per-source WGAN-GP critics)"
    train_defaults = {"lr": 5e-5, "betas": (0.9, 0.999), "disc_betas": (0.5, 0.9), "disc_steps": 5,
                      "batch_size": 16}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.config
        if c.mode not in MODES:
            raise ConfigError(f"recipe.mode must be one of {MODES}, got {c.mode!r}")
        self._sup_loss = None

    # ------------------------------------------------------------------ models
    def model_kwargs(self) -> dict:
        c = self.config
        if c.architecture == "blstm":
            return {"sources": list(c.sources), "sample_rate": c.sample_rate, "n_fft": c.n_fft,
                    "hop_length": c.hop_length, "hidden": c.hidden, "lstm_layers": c.lstm_layers}
        if c.architecture != "unet":
            raise ConfigError(f"recipe.architecture must be 'unet' or 'blstm', got {c.architecture!r}")
        return {"sources": list(c.sources), "sample_rate": c.sample_rate, "n_fft": c.n_fft,
                "hop_length": c.hop_length, "channels": c.channels, "depth": c.depth, "kind": c.kind,
                "padding": c.padding, "input_skip": c.input_skip}

    def build_models(self):
        from earshot.models.openunmix import BLSTMSeparator
        from earshot.models.separator import UNetSeparator

        c = self.config
        cls = BLSTMSeparator if c.architecture == "blstm" else UNetSeparator
        separator = cls(**self.model_kwargs())
        if c.mode == "supervised":
            return {"model": separator}
        from earshot.models.discriminators.critic import SourceCritics

        critics = SourceCritics(c.sources, c.n_fft // 2 + 1, c.segment_frames, channels=c.critic_channels,
                                layers=c.critic_layers)
        return {"generator": separator, "discriminator": critics}

    @staticmethod
    def _sep(models):
        return models["generator"] if "generator" in models else models["model"]

    # ------------------------------------------------------------------ data
    def datasets(self):
        from earshot.data import separation as sep_data

        c = self.config
        samples = sep_data.segment_samples(c.segment_frames, c.hop_length)
        task = None
        if c.corpus:
            if list(c.sources) != list(sep_data.SOURCES):
                raise ConfigError(f"the corpus task has sources {sep_data.SOURCES}; set recipe.corpus='' for others")
            task = sep_data.SpeechMusicTask(c.corpus, sample_rate=c.sample_rate, hop_length=c.hop_length,
                                            segment_frames=c.segment_frames, fractions=c.fractions,
                                            paired_items=c.paired_items, items_per_epoch=c.items_per_epoch,
                                            snr_db=c.snr_db, seed=c.seed)
            if self.run_dir is not None:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                task.save_plan(self.run_dir / "data_plan.json")
        paired = mixtures = solos = None
        if c.mode != "unsupervised":
            paired = self._multitrack(c.multitrack_subset, samples) if c.multitrack else _need(task, "paired data").paired()
        if c.mode != "supervised":
            mixtures = (self._folder(c.mixture_folder, samples, 1) if c.mixture_folder
                        else _need(task, "unlabelled mixtures").mixtures())
            solos = self._solos(task, samples)
        train = sep_data.SemiSupervisedSet(paired, mixtures, solos, items=c.items_per_epoch)
        valid = None
        if c.multitrack and c.multitrack_valid_subset:
            valid = self._multitrack(c.multitrack_valid_subset, int(c.valid_seconds * c.sample_rate))
        elif task is not None:
            valid = task.held_out("valid", items=c.valid_items, seconds=c.valid_seconds)
        return train, valid

    def _folder(self, root: str, samples: int, k: int):
        from earshot.data.datasets import AudioFolderDataset

        c = self.config
        return AudioFolderDataset(root, segment_seconds=samples / c.sample_rate, sample_rate=c.sample_rate,
                                  seed=c.seed + 17 * k, mono=True, items_per_epoch=c.items_per_epoch)

    def _multitrack(self, subset: str, samples: int):
        from earshot.data.datasets import STEMS, MultitrackDataset
        from earshot.data.separation import MultitrackSources

        c = self.config
        data = MultitrackDataset(c.multitrack, subset=subset or None, stems=STEMS, segment_seconds=samples / c.sample_rate,
                                 sample_rate=c.sample_rate, seed=c.seed, mono=True, items_per_epoch=c.paired_items)
        return MultitrackSources(data, c.sources)

    def _solos(self, task, samples: int):
        c = self.config
        unknown = set(c.solo_folders) - set(c.sources)
        if unknown:
            raise ConfigError(f"recipe.solo_folders names {sorted(unknown)}, not among the sources {c.sources}")
        out = []
        for k, name in enumerate(c.sources):
            if name in c.solo_folders:
                out.append(self._folder(c.solo_folders[name], samples, 2 + k))
            else:
                out.append(_need(task, f"solo recordings of {name!r}").solos()[k])
        return out

    # ------------------------------------------------------------------ losses
    def _estimate(self, sep, mix):
        """``(spec (B,1,F,N), log-magnitude estimates (B,K,F,N))`` of mixtures ``(B, 1, T)``."""
        spec = sep.stft(mix)
        return spec, sep(torch.log1p(spec.abs()))

    def _supervised(self, sep, mix, sources, ctx):
        spec, est = self._estimate(sep, mix)
        c = self.config
        if c.supervised_loss == "mse":
            return F.mse_loss(est, torch.log1p(sep.stft(sources).abs()))
        if self._sup_loss is None:
            from earshot.losses.registry import build_loss

            self._sup_loss = build_loss(c.supervised_loss, sample_rate=c.sample_rate)
        self._sup_loss.to(mix.device)
        waves = sep.resynthesize(sep.magnitudes(est) * torch.polar(torch.ones_like(spec.abs()), spec.angle()),
                                 mix.shape[-1])
        b, k, t = waves.shape
        return self._sup_loss(waves.reshape(b * k, 1, t), sources.reshape(b * k, 1, t))

    def training_step(self, models, batch, ctx: StepContext):
        c, sep = self.config, self._sep(models)
        terms = {}
        if c.mode != "unsupervised":
            terms["sup"] = self._supervised(sep, batch["mix"], batch["sources"], ctx)
        if c.mode != "supervised":
            spec, est = self._estimate(sep, batch["unpaired_mix"])
            terms["add"] = c.beta * F.mse_loss(torch.expm1(est).sum(dim=1, keepdim=True), spec.abs())
            ctx.log("estimate_level", est.mean())
            if ctx.adversary_active:
                scores = models["discriminator"](est)                    # (B, K)
                ramp = min(1.0, (ctx.step + 1) / c.alpha_ramp_steps) if c.alpha_ramp_steps > 0 else 1.0
                terms["adv"] = c.alpha * ramp * (-scores.mean(dim=0).sum())
        return terms

    def discriminator_step(self, models, batch, ctx: StepContext):
        from earshot.losses.wgan import gradient_penalty

        c, sep, critics = self.config, self._sep(models), models["discriminator"]
        with torch.no_grad():
            fake = self._estimate(sep, batch["unpaired_mix"])[1]
        real = torch.log1p(sep.stft(batch["solo"]).abs())
        real_scores, fake_scores = critics(real), critics(fake)
        k = len(c.sources)
        gp = k * gradient_penalty(critics, real, fake, weight=c.gp_weight, one_sided=c.one_sided, groups_dim=1)
        ctx.log("wasserstein", (real_scores - fake_scores).mean(dim=0).sum())
        return {"critic": (fake_scores - real_scores).mean(dim=0).sum(), "gp": gp}

    # ------------------------------------------------------------------ evaluation
    def _waves(self, sep, mix):
        spec, est = self._estimate(sep, mix)
        return sep.resynthesize(sep.magnitudes(est) * torch.polar(torch.ones_like(spec.abs()), spec.angle()),
                                mix.shape[-1])

    def validation_step(self, models, batch):
        from earshot.metrics import sdr, si_sdr

        mix, sources = batch
        sep = self._sep(models)
        waves = self._waves(sep, mix)
        out = {}
        for k, name in enumerate(self.config.sources):
            est, ref = waves[:, k:k + 1], sources[:, k:k + 1]
            out[f"si_sdr_{name}"] = si_sdr(est, ref)
            out[f"sdr_{name}"] = sdr(est, ref, self.config.sample_rate)
        out["log_mse"] = F.mse_loss(self._estimate(sep, mix)[1], torch.log1p(sep.stft(sources).abs()))
        return out

    def examples(self, models, batch):
        mix, sources = batch
        waves = self._waves(self._sep(models), mix[:1])
        out = {"mixture": mix[0]}
        for k, name in enumerate(self.config.sources):
            out[f"{name}/estimate"] = waves[0, k:k + 1]
            out[f"{name}/reference"] = sources[0, k:k + 1]
        return out

    def export(self, models):
        c = self.config
        if c.multitrack or c.mixture_folder or c.solo_folders:
            data = (f"paired: {c.multitrack or c.corpus}; mixtures: {c.mixture_folder or c.corpus}; "
                    f"solo: {dict(c.solo_folders) or c.corpus}")
        else:
            data = (f"earshot corpus at {c.corpus} (speech as vocals, music as accompaniment), {c.sample_rate} Hz; "
                    f"training files split {list(c.fractions)} into paired ({c.paired_items} fixed mixtures), "
                    f"unlabelled-mixture and solo groups (seed {c.seed}); mode {c.mode}")
        module = self._sep(models)
        if c.export_dtype not in ("float32", "float16"):
            raise ConfigError(f"recipe.export_dtype must be float32 or float16, got {c.export_dtype!r}")
        notes = ""
        if c.export_dtype == "float16":
            import copy

            module = copy.deepcopy(module).half()
            notes = "weights stored as float16 (they load into the float32 model)"
        return Exported(module, self.model_kwargs(), c.sample_rate, data=data, notes=notes)


def _need(obj, what: str):
    if obj is None:
        raise ConfigError(f"no data for the {what}: give a folder option or a corpus (recipe.corpus)")
    return obj
