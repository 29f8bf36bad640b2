"""JND pairs: DPAM's walk through perturbation space, judged adaptively by a simulated listener.

A walk (Manocha et al., Interspeech 2020) picks one or a few perturbation types of
`earshot.data.perturb`, a random start strength vector ``s`` (the reference is usually perturbed
too), a Gaussian direction ``v``, and the segment from ``s`` along ``v`` to the edge of the
strength box ``[0, 1]^D``, cut into ``n_levels`` (64) levels. Level 0 is the reference itself.
The auxiliary randomness of each perturbation (noise seed, impulse response, band) is drawn
from a per-dimension seed, so only the strength changes along the walk.

`run_sequence` presents levels chosen by `earshot.psycho.staircase.AdaptiveStaircase`
(identical pair first, maximal pair second, then around the fitted threshold) to a
`earshot.psycho.listener.SimulatedListener`. THE ANSWERS ARE SIMULATED, NOT HUMAN: every shard
manifest says ``"judgments": "simulated-listener"``.

`make_jnd_pairs` writes shards ``shard-00000.references.npy`` (int16 audio, one reference per
walk), ``shard-00000.tests.npy`` (one test clip per presented level) and ``shard-00000.json``
(every walk's names, strengths, seeds, drawn params, listener, and every trial), plus
``manifest.json``; `JNDPairDataset` reads them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from earshot.errors import ConfigError, DataError
from earshot.psycho.listener import NMRDetector, SimulatedListener, listener_panel
from earshot.psycho.staircase import AdaptiveStaircase

# DPAM's perturbation families (noise colours, environment noise, reverb, MP3, EQ) and a few more.
DEFAULT_PERTURBATIONS = ("white", "pink", "brown", "blue", "violet", "environment", "reverb", "mp3", "eq",
                         "lowpass", "highpass", "clip", "opus", "bitdepth")
JUDGMENTS = "simulated-listener"


def perturbations(names, *, corpus=None, split: str = "train") -> dict:
    """Instances of the named perturbations; ``environment`` and ``babble`` draw from ``corpus``'s
    ``split`` when a corpus folder is given (else their built-in sources)."""
    from earshot.data.perturb import PERTURBATIONS

    unknown = [n for n in names if n not in PERTURBATIONS]
    if unknown:
        raise ConfigError(f"unknown perturbations {unknown}; known: {sorted(PERTURBATIONS)}")
    out = {}
    for n in names:
        corpus_based = n in ("environment", "babble") and corpus is not None
        factory = PERTURBATIONS.load(n)
        out[n] = factory(corpus, split=split) if corpus_based else factory()
    return out


@dataclass
class Walk:
    """One segment of perturbation space: strengths ``start + level / (n_levels - 1) * (end - start)``."""

    names: list[str]
    start: list[float]
    end: list[float]
    seeds: list[int]
    n_levels: int = 64

    def strengths(self, level: int) -> np.ndarray:
        a, b = np.asarray(self.start), np.asarray(self.end)
        return a + (level / (self.n_levels - 1)) * (b - a)

    def params(self, level: int, perts: dict) -> list[dict]:
        """Drawn params of every dimension at ``level`` (same auxiliary draws at every level).

        ``perts`` maps names to perturbation instances (see `perturbations`)."""
        return [perts[n].sample(float(np.clip(s, 0.0, 1.0)), np.random.default_rng(seed))
                for n, s, seed in zip(self.names, self.strengths(level), self.seeds)]


@dataclass
class WalkConfig:
    """How walks are drawn: the pool of perturbations, how many combine, where they start."""

    perturbations: tuple[str, ...] = DEFAULT_PERTURBATIONS
    max_dims: int = 2
    combine_prob: float = 0.4
    n_levels: int = 64
    ref_perturbed_prob: float = 0.75
    start_max: float = 0.5
    min_length: float = 0.35


def draw_walk(rng: np.random.Generator, cfg: WalkConfig = WalkConfig()) -> Walk:
    """Draw one walk: perturbation names, start vector, Gaussian direction, segment to the box edge."""
    if not cfg.perturbations:
        raise ConfigError("WalkConfig.perturbations is empty")
    dims = 1
    if min(cfg.max_dims, len(cfg.perturbations)) > 1 and rng.random() < cfg.combine_prob:
        dims = int(rng.integers(2, min(cfg.max_dims, len(cfg.perturbations)) + 1))
    names = [str(n) for n in rng.choice(list(cfg.perturbations), size=dims, replace=False)]
    for _ in range(100):
        start = np.where(rng.random(dims) < cfg.ref_perturbed_prob, rng.uniform(0, cfg.start_max, dims), 0.0)
        v = rng.standard_normal(dims)
        if dims == 1:
            v = np.abs(v)
        v /= np.linalg.norm(v) + 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            exits = np.where(v > 0, (1 - start) / v, np.where(v < 0, -start / v, np.inf))
        length = float(exits.min())
        if length >= cfg.min_length:
            break
    else:  # pragma: no cover - needs 100 unlucky draws in a row
        start, v, length = np.zeros(dims), np.ones(dims) / np.sqrt(dims), 1.0
    end = np.clip(start + length * v, 0.0, 1.0)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, dims)]
    return Walk(names, [float(x) for x in start], [float(x) for x in end], seeds, cfg.n_levels)


def render(clean: torch.Tensor, sample_rate: int, names: list[str], params: list[dict], perts: dict) -> torch.Tensor:
    """Apply the perturbations in order to ``clean`` ``(C, T)``; returns ``(C, T)`` clipped to [-1, 1]."""
    out = clean
    n = clean.shape[-1]
    for name, p in zip(names, params):
        out = perts[name].apply(out, sample_rate, p)
        out = torch.nn.functional.pad(out, (0, max(0, n - out.shape[-1])))[..., :n]
    return out.clamp(-1.0, 1.0)


@dataclass
class Trial:
    """One simulated judgment: the level shown, the answer, and the detector's view of it."""

    level: int
    different: bool
    statistic_db: float
    p_different: float
    strengths: list[float]
    params: list[dict] = field(default_factory=list)


def run_sequence(clean: torch.Tensor, sample_rate: int, walk: Walk, listener: SimulatedListener, perts: dict, *,
                 n_trials: int = 16, seed: int = 0, detector: NMRDetector | None = None,
                 recency: float = 0.9) -> tuple[torch.Tensor, dict[int, torch.Tensor], list[Trial]]:
    """Run one adaptive sequence on ``clean`` ``(C, T)``; returns (reference, {level: test clip}, trials)."""
    detector = detector or NMRDetector(sample_rate)
    ref = render(clean, sample_rate, walk.names, walk.params(0, perts), perts)
    stair = AdaptiveStaircase(n_levels=walk.n_levels, seed=seed, recency=recency)
    rng = np.random.default_rng(seed + 1)
    tests: dict[int, torch.Tensor] = {}
    trials = []
    for _ in range(n_trials):
        level = stair.next_level()
        params = walk.params(level, perts)
        if level not in tests:
            tests[level] = ref.clone() if level == 0 else render(clean, sample_rate, walk.names, params, perts)
        stat = detector.statistic(ref, tests[level])
        answer = listener.judge(stat, rng)
        stair.update(level, answer)
        trials.append(Trial(level, answer, stat, listener.p_different(stat),
                            [float(x) for x in walk.strengths(level)], _jsonable(params)))
    return ref, tests, trials


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    return obj


def _to_int16(x: torch.Tensor) -> np.ndarray:
    return np.round(x.detach().cpu().numpy().clip(-1, 1) * 32767).astype(np.int16)


def _clip_source(source, *, split: str, kinds, seconds: float, sample_rate: int, seed: int, count: int):
    """``(1, T)`` clean clips: ``count`` excerpts of a corpus (or a folder of audio), or given tensors."""
    if isinstance(source, (str, Path)):
        from earshot.data.datasets import AudioFolderDataset, CorpusDataset

        common = dict(segment_seconds=seconds, sample_rate=sample_rate, seed=seed, items_per_epoch=count)
        if (Path(source) / "manifest.json").exists():
            return CorpusDataset(source, kind=list(kinds), split=split, **common)
        return AudioFolderDataset(source, **common)
    return list(source)


def make_jnd_pairs(out_dir, *, source, split: str = "train", kinds=("speech",), n_walks: int = 100,
                   n_trials: int = 16, seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0,
                   n_listeners: int = 8, walk_config: WalkConfig | None = None, shard_walks: int = 50,
                   progress: bool = True) -> Path:
    """Generate simulated JND judgments along DPAM walks; write shards to ``out_dir``.

    ``source`` is a corpus folder (one excerpt per walk drawn with `CorpusDataset` from
    ``split`` and ``kinds``; its noise feeds ``environment``), a folder of audio files, or a
    sequence of ``(1, T)`` clean tensors at ``sample_rate``. Each walk takes the next clean
    clip (cycling), a walk drawn with ``walk_config``, one listener of a seeded panel of
    ``n_listeners``, and ``n_trials`` adaptive trials. Returns the path of ``manifest.json``.
    All labels come from the SIMULATED listener and the manifest says so.
    """
    out = Path(out_dir)
    if (out / "manifest.json").exists():
        raise ConfigError(f"{out} already holds JND pairs (manifest.json); choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    cfg = walk_config or WalkConfig()
    corpus = source if isinstance(source, (str, Path)) and (Path(source) / "manifest.json").exists() else None
    perts = perturbations(cfg.perturbations, corpus=corpus, split=split)
    clips = _clip_source(source, split=split, kinds=kinds, seconds=seconds, sample_rate=sample_rate, seed=seed,
                         count=n_walks)
    if len(clips) == 0:
        raise DataError(f"no clean clips in {source!r} (split={split}, kinds={kinds})")
    panel = listener_panel(n_listeners, seed=seed)
    detector = NMRDetector(sample_rate)
    rng = np.random.default_rng(seed)
    shards, buf, n_judgments = [], [], 0
    for w in tqdm(range(n_walks), desc="jnd walks", unit="walk", disable=not progress, file=sys.stderr):
        clean = clips[w % len(clips)]
        clean = clean[0] if isinstance(clean, (tuple, list)) else clean
        walk = draw_walk(rng, cfg)
        listener = panel[int(rng.integers(len(panel)))]
        ref, tests, trials = run_sequence(clean.float(), sample_rate, walk, listener, perts, n_trials=n_trials,
                                          seed=int(rng.integers(2**31 - 1)), detector=detector)
        buf.append((walk, listener, ref, tests, trials))
        n_judgments += len(trials)
        if len(buf) == shard_walks or w == n_walks - 1:
            shards.append(_write_shard(out, len(shards), buf))
            buf = []
    manifest = {
        "format": "earshot-jnd-pairs/1", "judgments": JUDGMENTS,
        "note": "Labels are answers of earshot's simulated listener (NMR detector + psychometric "
                "function), a stand-in for human judgments, not human data.",
        "sample_rate": sample_rate, "seconds": seconds, "split": split, "kinds": list(kinds),
        "seed": seed, "n_walks": n_walks, "n_trials": n_trials, "n_judgments": n_judgments,
        "walk_config": _jsonable(asdict(cfg)), "listeners": [p.to_dict() for p in panel],
        "source": str(source) if isinstance(source, (str, Path)) else "tensors", "shards": shards,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return out / "manifest.json"


def _write_shard(out: Path, index: int, walks: list) -> str:
    name = f"shard-{index:05d}"
    refs, tests, meta = [], [], []
    for walk, listener, ref, level_clips, trials in walks:
        index_of = {}
        for level, clip in sorted(level_clips.items()):
            index_of[level] = len(tests)
            tests.append(_to_int16(clip.mean(0)))
        meta.append({"walk": asdict(walk), "listener": listener.to_dict(), "reference": len(refs),
                     "test_index": {str(k): v for k, v in index_of.items()},
                     "trials": [asdict(t) for t in trials]})
        refs.append(_to_int16(ref.mean(0)))
    np.save(out / f"{name}.references.npy", np.stack(refs))
    np.save(out / f"{name}.tests.npy", np.stack(tests))
    (out / f"{name}.json").write_text(json.dumps({"judgments": JUDGMENTS, "walks": _jsonable(meta)}) + "\n")
    return name


class JNDPairDataset(torch.utils.data.Dataset):
    """Judgments written by `make_jnd_pairs`: one item per trial.

    Items are dicts: ``reference`` and ``test`` ``(1, T)`` float32 at the manifest's sample
    rate, ``label`` (1.0 = "different", 0.0 = "exactly identical"), ``p_listener`` (the simulated
    listener's probability), ``level`` and ``strength`` (Euclidean distance of the two strength
    vectors). ``names`` lists the perturbations of each item's walk, ``groups`` its walk id.
    """

    def __init__(self, root, *, mmap: bool = True):
        self.root = Path(root)
        try:
            self.manifest = json.loads((self.root / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{self.root}: not a JND pair folder ({exc})") from exc
        self.sample_rate = int(self.manifest["sample_rate"])
        self._refs, self._tests, self.items, self.names, self.groups = [], [], [], [], []
        for s, shard in enumerate(self.manifest["shards"]):
            mode = "r" if mmap else None
            self._refs.append(np.load(self.root / f"{shard}.references.npy", mmap_mode=mode))
            self._tests.append(np.load(self.root / f"{shard}.tests.npy", mmap_mode=mode))
            for walk in json.loads((self.root / f"{shard}.json").read_text())["walks"]:
                start = np.asarray(walk["walk"]["start"])
                for t in walk["trials"]:
                    strength = float(np.linalg.norm(np.asarray(t["strengths"]) - start))
                    self.items.append((s, walk["reference"], walk["test_index"][str(t["level"])],
                                       float(t["different"]), float(t["p_different"]), t["level"], strength))
                    self.names.append(list(walk["walk"]["names"]))
                    self.groups.append((s, walk["reference"]))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        s, r, t, label, p, level, strength = self.items[i]
        def audio(a):
            return torch.from_numpy(np.asarray(a, dtype=np.float32) / 32767.0)[None]
        return {"reference": audio(self._refs[s][r]), "test": audio(self._tests[s][t]),
                "label": torch.tensor(label), "p_listener": torch.tensor(p), "level": torch.tensor(level),
                "strength": torch.tensor(strength)}
