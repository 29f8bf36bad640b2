"""Recipe ``jnd``: train the DPAM-style JND network on same/different judgments.

Data, in order of preference: ``recipe.pairs`` (folders written by
`earshot.data.jnd.make_jnd_pairs` / ``earshot pairs make --kind jnd``), ``recipe.lists`` (DPAM's
public list files or the web listening test's exports, read by
`earshot.data.datasets.JudgmentListDataset`), else judgments generated on the fly into the run
folder from ``recipe.corpus`` by the SIMULATED listener (`earshot.psycho.listener`). Set
``recipe.init`` to a shipped weights name (e.g. ``jnd-sim-16k``) to fine-tune it.

    earshot train jnd recipe.pairs=runs/jnd-pairs/train recipe.valid_pairs=runs/jnd-pairs/valid
    earshot train jnd recipe.init=jnd-sim-16k recipe.lists=dpam/dataset_combined.txt
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from earshot.errors import ConfigError
from earshot.models.jndnet import JNDNet
from earshot.train.recipe import Exported, Recipe, StepContext, load_to_fine_tune, register_recipe
from earshot.data.corpus import DEFAULT_CORPUS


@dataclass
class JNDConfig:
    sample_rate: int = 16000
    pairs: str = ""               # comma-separated folders from make_jnd_pairs (training)
    valid_pairs: str = ""         # folders for validation; "" = hold out valid_fraction of `pairs`
    lists: str = ""               # DPAM list file(s) / web-app export(s), comma-separated
    list_root: str = ""           # folder the list files' audio paths are relative to
    corpus: str = DEFAULT_CORPUS
    generate_walks: int = 300     # walks generated when no pairs/lists are given (simulated listener)
    generate_trials: int = 16
    perturbations: tuple[str, ...] = ()  # types the generated walks draw from; () = earshot.data.jnd.DEFAULT_PERTURBATIONS
    seconds: float = 1.0
    valid_fraction: float = 0.1
    soft_labels: bool = False     # train on the simulated listener's P(different) instead of answers
    init: str = ""                # shipped weights (name or manifest path) to fine-tune
    # the network (DPAM's baseline is spectral=false, head=dpam)
    layers: int = 14
    widths: tuple[int, ...] = (32, 64, 128)
    norm: str = "batch"
    spectral: bool = True
    n_mels: int = 64
    spec_layers: int = 3
    spec_channels: int = 64
    head: str = "monotone"
    antialias: bool = False       # low-pass before every strided waveform convolution (JNDNet docstring)
    seed: int = 0


class _Subset(torch.utils.data.Dataset):
    def __init__(self, base, indices):
        self.base, self.indices = base, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.base[self.indices[i]]


class _ListJudgments(torch.utils.data.Dataset):
    """Adapter: JudgmentListDataset items -> {"reference", "test", "label"} at the recipe's rate."""

    def __init__(self, path: str, root: str, sample_rate: int, seconds: float):
        from earshot.data.datasets import JudgmentListDataset

        self.base = JudgmentListDataset(path, root=root or None, sample_rate=sample_rate, segment_seconds=seconds)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        item = self.base[i]
        if isinstance(item, dict):
            ref, test, label = item["reference"], item.get("test", item.get("degraded")), item["label"]
        else:
            ref, test, label = item[:3]
        n = min(ref.shape[-1], test.shape[-1])
        return {"reference": ref[..., :n].mean(0, keepdim=True), "test": test[..., :n].mean(0, keepdim=True),
                "label": torch.as_tensor(float(label)), "p_listener": torch.as_tensor(float(label))}


@register_recipe
class JNDRecipe(Recipe):
    """DPAM-style JND network from same/different judgments (BCE on P(different))."""

    config_class = JNDConfig
    description = "learned JND metric (DPAM-style) from same/different judgments"
    train_defaults = {"lr": 1e-3, "batch_size": 16, "loss_weights": {"bce": 1.0}}

    def model_kwargs(self) -> dict:
        c = self.config
        return {"sample_rate": c.sample_rate, "layers": c.layers, "widths": list(c.widths), "norm": c.norm,
                "spectral": c.spectral, "n_mels": c.n_mels, "spec_layers": c.spec_layers,
                "spec_channels": c.spec_channels, "head": c.head, "antialias": c.antialias}

    def build_models(self):
        if not self.config.init:
            self._kwargs = self.model_kwargs()
            return {"model": JNDNet(**self._kwargs)}
        net, self._kwargs = load_to_fine_tune(self.config.init, JNDNet)
        return {"model": net}

    def datasets(self):
        c = self.config
        if c.pairs:
            train = self._pairs(c.pairs)
            valid = self._pairs(c.valid_pairs) if c.valid_pairs else None
        elif c.lists:
            train = torch.utils.data.ConcatDataset([_ListJudgments(p.strip(), c.list_root, c.sample_rate, c.seconds)
                                                    for p in c.lists.split(",") if p.strip()])
            valid = None
        else:
            train, valid = self._generate()
        if valid is None:
            n_valid = max(1, int(len(train) * c.valid_fraction))
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(c.seed)).tolist()
            train, valid = _Subset(train, order[n_valid:]), _Subset(train, order[:n_valid])
        return train, valid

    def _pairs(self, folders: str):
        from earshot.data.jnd import JNDPairDataset

        sets = [JNDPairDataset(f.strip()) for f in folders.split(",") if f.strip()]
        for s in sets:
            if s.sample_rate != self.config.sample_rate:
                raise ConfigError(f"{s.root} is at {s.sample_rate} Hz; recipe.sample_rate is {self.config.sample_rate}")
        return sets[0] if len(sets) == 1 else torch.utils.data.ConcatDataset(sets)

    def _generate(self):
        from earshot.data.jnd import JNDPairDataset, WalkConfig, make_jnd_pairs

        c = self.config
        walks_from = WalkConfig(perturbations=tuple(c.perturbations)) if c.perturbations else None
        root = (self.run_dir or Path("runs/jnd")) / "pairs"
        out = []
        for split, walks, seed in (("train", c.generate_walks, c.seed), ("valid", max(8, c.generate_walks // 10), c.seed + 1)):
            if not (root / split / "manifest.json").exists():
                make_jnd_pairs(root / split, source=c.corpus, split=split, n_walks=walks, n_trials=c.generate_trials,
                               seconds=c.seconds, sample_rate=c.sample_rate, seed=seed, walk_config=walks_from)
            out.append(JNDPairDataset(root / split))
        return out[0], out[1]

    def collate(self, items):
        n = min(it["reference"].shape[-1] for it in items)
        batch = {k: torch.stack([it[k] for it in items]) for k in ("label", "p_listener")}
        batch["reference"] = torch.stack([it["reference"][..., :n] for it in items])
        batch["test"] = torch.stack([it["test"][..., :n] for it in items])
        return batch

    def training_step(self, models, batch, ctx: StepContext):
        out = models["model"](batch["test"], batch["reference"])
        target = batch["p_listener"] if self.config.soft_labels else batch["label"]
        ctx.log("distance", out.distance.mean())
        return {"bce": F.binary_cross_entropy_with_logits(out.logit, target.float())}

    def validation_step(self, models, batch):
        out = models["model"](batch["test"], batch["reference"])
        label = batch["label"].float()  # fraction of listeners who heard a difference (0/1 for one answer)
        return {"bce": F.binary_cross_entropy_with_logits(out.logit, label, reduction="none"),
                "accuracy": ((out.p_different > 0.5) == (label > 0.5)).float()}

    def describe_data(self) -> str:
        c = self.config
        if c.lists and not c.pairs:
            return f"same/different judgments from list files {c.lists} (as labelled by their source)"
        folders = [f.strip() for f in c.pairs.split(",") if f.strip()] if c.pairs else ["generated from " + c.corpus]
        kinds, parts = set(), []
        for f in folders:
            try:
                m = json.loads((Path(f) / "manifest.json").read_text())
                kinds.add(m["judgments"])
                parts.append(f"{f}: {m['n_judgments']} judgments on {m['n_walks']} DPAM walks "
                             f"({m['n_trials']} adaptive trials each) over {', '.join(m['walk_config']['perturbations'])}, "
                             f"{m['seconds']} s excerpts of {'/'.join(m['kinds'])} from {m['source']} ({m['split']} split)")
            except (OSError, ValueError, KeyError):
                kinds.add("simulated-listener" if not c.pairs else "unknown")
                parts.append(f)
        simulated = "simulated-listener" in kinds
        text = f"JND pairs at {c.sample_rate} Hz -- {'; '.join(parts)}; judgments: {', '.join(sorted(kinds))}"
        if simulated:
            text += (" -- answers of earshot's SIMULATED listener (NMR detector + psychometric function), "
                     "a stand-in for human judgments, NOT human data")
        if c.init:
            text += f"; fine-tuned from {c.init}"
        return text

    def export(self, models):
        kwargs = getattr(self, "_kwargs", None) or self.model_kwargs()
        return Exported(models["model"], kwargs, self.config.sample_rate, data=self.describe_data(),
                        notes="DPAM-style JND network (Manocha et al. 2020); distance = weighted L1 of deep features")
