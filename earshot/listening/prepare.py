"""Make the audio an experiment needs: JND level ladders and MUSHRA anchors.

JND (``generate:`` in the experiment YAML, written into its ``pairs`` folder)::

    generate:
      clips: clean/             # folder of audio files (searched recursively), or an earshot corpus
      kind: speech              # corpus only: speech | music | noise (default: all)
      split: test               # corpus only
      n_sequences: 8
      n_levels: 16              # level 0 = the clean excerpt itself; n_levels - 1 = strength max_strength
      seconds: 1.0
      sample_rate: 16000
      perturbations: [white, mp3, reverb, eq]   # names in earshot.data.perturb.PERTURBATIONS
      max_strength: 1.0
      seed: 0

Sequence ``i`` takes an excerpt of a clip drawn with ``numpy.random.default_rng([seed, i])``
(the loudest of four random offsets, so not silence), normalised to -23 dBFS RMS, and the
perturbation ``perturbations[i % len]``. Level ``k`` applies it at strength
``max_strength * k / (n_levels - 1)``, with parameters drawn by ``sample(strength, rng)`` from a
generator re-seeded identically for every level, so that only the strength changes along the
ladder (the same noise, impulse response, ...). Everything drawn is written to the
sequence's ``params.json``.

MUSHRA and A/B (``generate:`` writes items into the ``stimuli`` folder)::

    generate:
      clips: corpus
      kind: music
      n_items: 4
      seconds: 4.0
      conditions:                        # name -> perturbation and strength; "clean" = unprocessed
        mp3_low: {type: mp3, strength: 0.7}
        opus_low: {type: opus, strength: 0.7}
        clean: {type: clean}             # (A/B only; MUSHRA has its hidden reference already)

Relative paths (``clips``, and the experiment's ``stimuli`` / ``pairs`` folder that is written)
are relative to the working directory (`earshot.listening.experiment.data_path`), so the
shipped examples work from the project folder wherever the YAML file is installed.

Item ``i`` is an excerpt drawn as for JND; MUSHRA items get ``reference.wav`` too. Each
condition's parameters are drawn with ``default_rng([seed, i, j])`` and written to the item's
``params.json``. Then, for MUSHRA, an item without ``anchor.<ext>`` gets ``anchor.wav``, the
reference low-passed at 3.5 kHz (the low anchor of ITU-R BS.1534-3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from scipy import signal

from earshot.audio.io import AUDIO_EXTENSIONS, load, save
from earshot.errors import ConfigError
from earshot.listening.experiment import data_path
from earshot.typed import merge


@dataclass
class _Excerpts:
    """The keys of a ``generate`` block that say where excerpts come from (checked by `earshot.typed`)."""

    clips: Any = None
    kind: Any = None
    split: Any = None
    seconds: float = 1.0
    sample_rate: int = 16000
    seed: int = 0


@dataclass
class ItemGeneration(_Excerpts):
    """``generate`` of a MUSHRA or A/B experiment."""

    n_items: int = 4
    conditions: Any = None


@dataclass
class LadderGeneration(_Excerpts):
    """``generate`` of a JND experiment."""

    n_sequences: int = 8
    n_levels: int = 16
    perturbations: list[str] = field(default_factory=lambda: ["white", "mp3", "reverb", "eq"])
    max_strength: float = 1.0


def prepare_experiment(path, *, overwrite: bool = False) -> list[Path]:
    """Write what ``path``'s experiment needs (see the module docstring); returns files written."""
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read experiment file ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: an experiment file must be a YAML mapping")
    if raw.get("type") == "jnd":
        if not raw.get("generate"):
            raise ConfigError(f"{path}: a JND experiment needs a 'generate' section to prepare its pairs")
        if "pairs" not in raw:
            raise ConfigError(f"{path}: a JND experiment needs 'pairs' (the folder to write)")
        return generate_ladders(raw["generate"], data_path(raw["pairs"]), overwrite=overwrite)
    if raw.get("type") not in ("mushra", "ab") or "stimuli" not in raw:
        raise ConfigError(f"{path}: nothing to prepare (type {raw.get('type')!r}, no 'stimuli')")
    stimuli = data_path(raw["stimuli"])
    written = []
    if raw.get("generate"):
        written += generate_items(raw["generate"], stimuli, reference=raw["type"] == "mushra", overwrite=overwrite)
    if raw["type"] == "mushra":
        written += write_anchors(stimuli)
    return written


def lowpass_anchor(audio: torch.Tensor, sample_rate: int, cutoff: float = 3500.0) -> torch.Tensor:
    """``audio`` ``(channels, samples)`` low-passed at ``cutoff`` Hz (8th-order Butterworth, zero phase)."""
    if cutoff >= sample_rate / 2:
        raise ConfigError(f"anchor cutoff {cutoff} Hz needs a sample rate above {2 * cutoff} Hz, got {sample_rate}")
    sos = signal.butter(8, cutoff, fs=sample_rate, output="sos")
    out = signal.sosfiltfilt(sos, audio.double().numpy(), axis=-1)
    return torch.from_numpy(np.clip(out, -1, 1).astype(np.float32))


def write_anchors(stimuli: Path) -> list[Path]:
    """Add ``anchor.wav`` (3.5 kHz low-pass of the reference) to every item folder without an anchor."""
    if not stimuli.is_dir():
        raise ConfigError(f"stimuli folder {stimuli} does not exist")
    written = []
    for item in sorted(p for p in stimuli.iterdir() if p.is_dir()):
        stems = {p.stem for p in item.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS}
        if any(s.startswith("anchor") for s in stems):
            continue
        refs = [p for p in item.iterdir() if p.stem == "reference" and p.suffix.lower() in AUDIO_EXTENSIONS]
        if not refs:
            raise ConfigError(f"{item}: no reference.<ext> to make an anchor from")
        audio, sr = load(refs[0])
        written.append(save(item / "anchor.wav", lowpass_anchor(audio, sr), sr))
    return written


def _clips(cfg: _Excerpts) -> list[Path]:
    root = data_path(cfg.clips)
    if not root.is_dir():
        hint = (f"; build the corpus with `earshot corpus build {cfg.clips} --minutes 5`"
                if cfg.kind or cfg.split else "")
        raise ConfigError(f"generate.clips: {root} is not a folder (relative paths are relative to the "
                          f"working directory){hint}")
    if cfg.kind or cfg.split:
        from earshot.data.corpus import load_manifest

        items = load_manifest(root, kind=cfg.kind, split=cfg.split)
        files = [Path(it.path) for it in items]
    else:
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise ConfigError(f"generate.clips: no audio found in {root}")
    return files


def _excerpt(file: Path, sample_rate: int, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, int]:
    """The loudest of four random ``n``-sample excerpts of ``file``, mono, at -23 dBFS RMS."""
    audio, _ = load(file, sample_rate=sample_rate, mono=True)
    if audio.shape[-1] < n:
        audio = torch.nn.functional.pad(audio, (0, n - audio.shape[-1]))
    starts = rng.integers(0, audio.shape[-1] - n + 1, size=4)
    best = max(starts, key=lambda s: float(audio[:, s:s + n].pow(2).mean()))
    x = audio[:, best:best + n]
    rms = float(x.pow(2).mean().sqrt())
    if rms > 0:
        x = x * (10 ** (-23 / 20) / rms)
    return x.clamp(-1, 1), int(best)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.generic, torch.Tensor, np.ndarray)):
        return _jsonable(value.tolist())
    return value


def _read(cfg: dict, schema: type):
    """A ``generate`` block as ``schema`` (keys and types checked, defaults filled); 'clips' is required."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"generate must be a mapping, got {cfg!r}")
    generation = merge(schema(), {str(k): v for k, v in cfg.items()}, prefix="generate", source="experiment file")
    if generation.clips is None:
        raise ConfigError("generate: needs 'clips' (a folder of audio files, or 'corpus')")
    return generation


def _samples(cfg: _Excerpts) -> int:
    """Samples per excerpt of a generate section."""
    n = int(round(cfg.seconds * cfg.sample_rate))
    if n < 1:
        raise ConfigError("generate.seconds must be > 0")
    return n


def generate_items(cfg: dict, out: Path, *, reference: bool, overwrite: bool = False) -> list[Path]:
    """Write ``n_items`` MUSHRA / A/B item folders (conditions, params.json) under ``out``."""
    from earshot.data.perturb import PERTURBATIONS

    cfg = _read(cfg, ItemGeneration)
    conditions = cfg.conditions
    if not isinstance(conditions, dict) or not conditions:
        raise ConfigError("generate.conditions must map condition names to {type, strength}")
    for name, spec in conditions.items():
        kind = (spec or {}).get("type")
        if kind != "clean" and kind not in PERTURBATIONS or name in ("reference", "params") or name.startswith("anchor"):
            raise ConfigError(f"generate.conditions.{name}: type must be 'clean' or one of "
                              f"{sorted(PERTURBATIONS)}; names reference/anchor*/params are reserved")
    sr, seed, n = cfg.sample_rate, cfg.seed, _samples(cfg)
    if (out / "item_000").exists() and not overwrite:
        raise ConfigError(f"{out / 'item_000'} exists; pass --overwrite to generate the items again")
    clips, written = _clips(cfg), []
    for i in range(cfg.n_items):
        rng = np.random.default_rng([seed, i])
        clip = clips[int(rng.integers(len(clips)))]
        ref, offset = _excerpt(clip, sr, n, rng)
        folder = out / f"item_{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if reference:
            written.append(save(folder / "reference.wav", ref, sr, overwrite=overwrite))
        meta = {"clip": str(clip), "offset": offset, "sample_rate": sr, "conditions": {}}
        for j, (name, spec) in enumerate(sorted(conditions.items())):
            y, params = ref, {"type": "clean"}
            if spec["type"] != "clean":
                pert = PERTURBATIONS[spec["type"]]()
                params = pert.sample(float(spec.get("strength", 0.5)), np.random.default_rng([seed, i, j]))
                y = torch.as_tensor(pert.apply(ref, sr, params), dtype=torch.float32)
                y = torch.nn.functional.pad(y, (0, max(0, n - y.shape[-1])))[..., :n].clamp(-1, 1)
            written.append(save(folder / f"{name}.wav", y, sr, overwrite=overwrite))
            meta["conditions"][name] = _jsonable(params)
        (folder / "params.json").write_text(json.dumps(meta, indent=1))
        written.append(folder / "params.json")
    return written


def generate_ladders(cfg: dict, out: Path, *, overwrite: bool = False) -> list[Path]:
    """Write ``n_sequences`` JND sequences (reference, level ladder, params.json) under ``out``."""
    from earshot.data.perturb import PERTURBATIONS

    cfg = _read(cfg, LadderGeneration)
    names = list(cfg.perturbations)
    for name in names:
        if name not in PERTURBATIONS:
            raise ConfigError(f"generate.perturbations: unknown {name!r}; known: {sorted(PERTURBATIONS)}")
    n_seq, n_levels, top = cfg.n_sequences, cfg.n_levels, cfg.max_strength
    sr, seed, n = cfg.sample_rate, cfg.seed, _samples(cfg)
    if n_levels < 3 or n_seq < 1 or not 0 < top <= 1:
        raise ConfigError("generate: need n_levels >= 3, n_sequences >= 1, 0 < max_strength <= 1")
    existing = [out / f"seq_{i:03d}" for i in range(n_seq) if (out / f"seq_{i:03d}").exists()]
    if existing and not overwrite:
        raise ConfigError(f"{existing[0]} exists; pass --overwrite to generate the ladders again")
    clips = _clips(cfg)
    written = []
    for i in range(n_seq):
        rng = np.random.default_rng([seed, i])
        clip = clips[int(rng.integers(len(clips)))]
        ref, offset = _excerpt(clip, sr, n, rng)
        name = names[i % len(names)]
        pert, draw_seed = PERTURBATIONS[name](), int(rng.integers(2**31))
        folder = out / f"seq_{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        written.append(save(folder / "reference.wav", ref, sr, overwrite=overwrite))
        levels = [{"type": name, "strength": 0.0}]  # level 0: the reference itself
        for k in range(1, n_levels):
            strength = top * k / (n_levels - 1)
            params = pert.sample(strength, np.random.default_rng(draw_seed))
            y = torch.as_tensor(pert.apply(ref, sr, params), dtype=torch.float32)
            y = torch.nn.functional.pad(y, (0, max(0, n - y.shape[-1])))[..., :n].clamp(-1, 1)
            written.append(save(folder / f"level_{k:02d}.wav", y, sr, overwrite=overwrite))
            levels.append({"strength": strength, **_jsonable(params)})
        meta = {"perturbation": name, "clip": str(clip), "offset": offset, "seconds": n / sr,
                "sample_rate": sr, "draw_seed": draw_seed, "levels": levels}
        (folder / "params.json").write_text(json.dumps(meta, indent=1))
        written.append(folder / "params.json")
    return written
