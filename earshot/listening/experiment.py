"""Listening-test experiments: the YAML file, its stimuli, and the registry of servable files.

An experiment is one YAML file (see docs/listening.md) naming its type and its audio:

- ``type: mushra``: ``stimuli: DIR`` with one sub-folder per item holding ``reference.<ext>``,
  at least one ``anchor*.<ext>`` and one file per condition (the condition is the file stem).
- ``type: ab``: ``stimuli: DIR`` with one sub-folder per item holding one file per condition;
  ``pairs`` lists the condition pairs to compare (default: every pair within an item).
- ``type: jnd``: ``pairs: DIR`` with one sub-folder per sequence holding ``reference.<ext>`` and
  the level ladder ``level_<k>.<ext>`` (k = 1..N-1; level 0 is the reference itself unless
  ``level_0`` exists), optionally ``params.json``; or ``pairs: FILE.jsonl`` with lines
  ``{"sequence", "level", "reference", "test", "params"}``.

Relative data paths (``stimuli``, ``pairs``, ``generate.clips``) are relative to the working
directory, like every other earshot command's paths, wherever the YAML file lives (in the
repository's ``configs/listening/``, in the installed package, or anywhere else); see
:func:`data_path`. Paths inside a ``pairs`` JSON Lines file are relative to that file. Only the files an experiment declares are ever
served (`Experiment.files`): the web app maps opaque ids to these keys and never reads a path
that came from a request.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf
import yaml

from earshot.errors import ConfigError
from earshot.typed import merge

# earshot.audio.io.AUDIO_EXTENSIONS, repeated so that the web server need not import torch
# (tests/listening/test_experiment.py checks that the two agree)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3")

TYPES = ("jnd", "ab", "mushra")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LEVEL_FILE = re.compile(r"^level_(\d+)$")


@dataclass
class RateLimit:
    """Token-bucket limits: per participant for API calls and audio, per client address for joins."""

    api_per_second: float = 10.0
    api_burst: int = 30
    audio_per_second: float = 40.0
    audio_burst: int = 80
    join_per_minute: float = 30.0


@dataclass
class Check:
    """A screening block: ``n_trials`` trials of which at least ``min_correct`` must be right."""

    n_trials: int = 2
    min_correct: int = 2


@dataclass
class Item:
    """One MUSHRA or A/B item: ``files`` maps condition name -> file key (see `Experiment.files`)."""

    name: str
    files: dict[str, str]


@dataclass
class Sequence:
    """One JND sequence: ``levels[k]`` is the file key of level k (level 0 = identical pair)."""

    name: str
    reference: str
    levels: list[str]
    params: list[dict] = field(default_factory=list)


@dataclass
class Experiment:
    """A parsed experiment. ``files`` maps every servable file key to its resolved path; a key
    is the path relative to ``root`` (the stimulus folder) or, for files outside it, absolute."""

    name: str
    type: str
    path: Path
    title: str = ""
    instructions: str = ""
    seed: int = 0
    volume_check: bool = True
    rate_limit: RateLimit = field(default_factory=RateLimit)
    root: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    # mushra / ab
    items: list[Item] = field(default_factory=list)
    items_per_participant: int | None = None
    pairs: list[tuple[str, str]] | None = None
    no_preference: bool = True
    question: str = ""
    # jnd
    sequences: list[Sequence] = field(default_factory=list)
    sequences_per_participant: int = 4
    trials_per_sequence: int = 10
    gap_ms: int = 600
    headphone_check: Check | None = field(default_factory=Check)
    pretest: Check | None = field(default_factory=lambda: Check(n_trials=4, min_correct=3))
    warmups: int = 2
    max_catch_failures: int = 0
    adaptive: dict = field(default_factory=dict)
    generate: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    def resolve(self, key: str) -> Path:
        """The path of a declared file key; raise ConfigError for anything undeclared."""
        try:
            return self.files[key]
        except KeyError:
            raise ConfigError(f"experiment {self.name!r} declares no file {key!r}") from None


@dataclass
class _CommonFile:
    """The keys every experiment file may hold and their types (checked by `earshot.typed`)."""

    name: str = ""
    type: str = ""
    title: str | None = None
    instructions: str | None = ""
    seed: int | None = 0
    volume_check: bool | None = True
    rate_limit: Any = None
    question: str | None = None
    generate: Any = None


@dataclass
class _MushraFile(_CommonFile):
    stimuli: str | None = None
    items_per_participant: int | None = None


@dataclass
class _ABFile(_MushraFile):
    pairs: Any = None
    no_preference: bool | None = True


@dataclass
class _JNDFile(_CommonFile):
    pairs: str | None = None
    sequences_per_participant: int | None = 4
    trials_per_sequence: int | None = 10
    gap_ms: int | None = 600
    headphone_check: Any = None
    pretest: Any = None
    warmups: int | None = 2
    max_catch_failures: int | None = 0
    adaptive: Any = None


# The keys of each type of file: the one typed-config reader refuses unknown keys (with a
# did-you-mean hint) and values of the wrong type; paths, ranges and nested blocks are checked below.
FILE_SCHEMAS = {"mushra": _MushraFile, "ab": _ABFile, "jnd": _JNDFile}


def load_experiment(path, *, check_audio: bool = True) -> Experiment:
    """Read an experiment YAML file and index its stimuli.

    Args:
        path: the YAML file.
        check_audio: open every declared audio file's header (catches broken files at start-up).

    Raises:
        ConfigError: unknown keys or type, bad values, missing or unreadable stimuli.
    """
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read experiment file ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: an experiment file must be a YAML mapping")
    kind = raw.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{path}: type must be one of {TYPES}, got {kind!r}")
    typed = merge(FILE_SCHEMAS[kind](), {str(k): v for k, v in raw.items()}, prefix=f"{kind} experiment",
                  source=str(path))  # defaults filled, types checked
    name = typed.name
    if not SLUG.match(name):
        raise ConfigError(f"{path}: name must match {SLUG.pattern} (it is used in URLs), got {name!r}")
    exp = Experiment(name=name, type=kind, path=path, raw=raw)
    _common(exp, typed)
    if kind == "jnd":
        _jnd(exp, typed, raw)
    else:
        _items(exp, typed)
    if check_audio:
        for key, file in exp.files.items():
            try:
                frames = sf.info(str(file)).frames
            except (sf.LibsndfileError, RuntimeError, OSError) as exc:
                raise ConfigError(f"experiment {name!r}: stimulus {key!r} ({file}) is unreadable: {exc}") from None
            if frames == 0:
                raise ConfigError(f"experiment {name!r}: stimulus {key!r} ({file}) holds no audio")
    return exp


def _common(exp: Experiment, file: _CommonFile) -> None:
    exp.title = file.title or exp.name
    exp.instructions = file.instructions or ""
    exp.seed = file.seed
    exp.volume_check = bool(file.volume_check)
    limits = file.rate_limit or {}
    try:
        exp.rate_limit = RateLimit(**limits)
    except TypeError as exc:
        raise ConfigError(f"{exp.path}: rate_limit: {exc}") from None
    for key, value in vars(exp.rate_limit).items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{exp.path}: rate_limit.{key} must be a positive number, got {value!r}")
    default_q = {"mushra": "Rate each sound against the reference.",
                 "ab": "Which of the two do you prefer?",
                 "jnd": "Are the two sounds exactly identical, or different?"}[exp.type]
    exp.question = file.question or default_q


def _at_least(file, key: str, low: int) -> int | None:
    """``file.<key>`` (an int or None, already type-checked), refused below ``low``."""
    value = getattr(file, key)
    if value is not None and value < low:
        raise ConfigError(f"{key} must be >= {low}, got {value}")
    return value


def data_path(value) -> Path:
    """A data path from an experiment file: ``~`` expanded, relative to the working directory."""
    return (Path.cwd() / Path(str(value)).expanduser()).resolve()


def _folder(exp: Experiment, value: str | None, key: str) -> Path:
    """The existing folder (or file) ``value`` of the required key ``key``."""
    if value is None:
        raise ConfigError(f"{exp.path}: a {exp.type} experiment needs '{key}'")
    folder = data_path(value)
    if not folder.exists():
        raise ConfigError(f"{exp.path}: {key} {folder} does not exist (relative paths are relative to the "
                          f"working directory, {Path.cwd()}; to make it, run `earshot listen prepare {exp.path}`)")
    return folder


def _audio_files(folder: Path) -> dict[str, Path]:
    """Audio files directly in ``folder``: stem -> path (two files with one stem is an error)."""
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS:
            if p.stem in out:
                raise ConfigError(f"{folder}: two audio files named {p.stem!r}")
            out[p.stem] = p
    return out


def _register(exp: Experiment, root: Path, file: Path) -> str:
    """Declare ``file`` servable; its key is the path relative to ``root`` (absolute if outside)."""
    file = file.resolve()
    try:
        key = file.relative_to(root).as_posix()
    except ValueError:
        key = file.as_posix()
    exp.files[key] = file
    return key


def _items(exp: Experiment, file: _MushraFile) -> None:
    root = exp.root = _folder(exp, file.stimuli, "stimuli")
    exp.items_per_participant = _at_least(file, "items_per_participant", 1)
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        files = _audio_files(sub)
        if exp.type == "mushra":
            if "reference" not in files:
                raise ConfigError(f"{sub}: a MUSHRA item needs reference.<ext>")
            if not any(s.startswith("anchor") for s in files):
                raise ConfigError(f"{sub}: a MUSHRA item needs an anchor (anchor.<ext>; "
                                  "`earshot listen prepare` writes a 3.5 kHz low-pass one)")
            if len(files) < 3:
                raise ConfigError(f"{sub}: a MUSHRA item needs at least one condition besides "
                                  "the reference and the anchor")
        elif len(files) < 2:
            raise ConfigError(f"{sub}: an A/B item needs at least two condition files")
        exp.items.append(Item(sub.name, {c: _register(exp, root, p) for c, p in files.items()}))
    if not exp.items:
        raise ConfigError(f"{root}: no item folders found")
    if exp.type == "ab":
        exp.no_preference = bool(file.no_preference)
        exp.pairs = _ab_pairs(exp, file.pairs)


def _ab_pairs(exp: Experiment, pairs) -> list[tuple[str, str]] | None:
    if pairs is None:
        return None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise ConfigError(f"{exp.path}: pairs must be a list of [condition, condition]")
    out = [(str(a), str(b)) for a, b in pairs]
    for a, b in out:
        if a == b:
            raise ConfigError(f"{exp.path}: pair [{a}, {b}] compares a condition with itself")
        if not any(a in it.files and b in it.files for it in exp.items):
            raise ConfigError(f"{exp.path}: no item has both conditions of pair [{a}, {b}]")
    return out


def ab_trials(exp: Experiment) -> list[tuple[Item, str, str]]:
    """Every (item, condition, condition) comparison an A/B experiment holds, in file order."""
    out = []
    for item in exp.items:
        if exp.pairs is None:
            out += [(item, a, b) for a, b in itertools.combinations(sorted(item.files), 2)]
        else:
            out += [(item, a, b) for a, b in exp.pairs if a in item.files and b in item.files]
    return out


def _check(raw: dict, key: str, default: Check) -> Check | None:
    value = raw.get(key, vars(default))
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping with n_trials and min_correct, or false")
    try:
        check = Check(**{**vars(default), **value})
    except TypeError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if not 1 <= check.min_correct <= check.n_trials:
        raise ConfigError(f"{key}: need 1 <= min_correct <= n_trials, got {vars(check)}")
    return check


def _jnd(exp: Experiment, file: _JNDFile, raw: dict) -> None:
    """The JND keys of ``file``; ``raw`` tells an absent check (default) from ``false`` (none)."""
    exp.sequences_per_participant = _at_least(file, "sequences_per_participant", 1)
    exp.trials_per_sequence = _at_least(file, "trials_per_sequence", 2)
    exp.gap_ms = _at_least(file, "gap_ms", 0)
    exp.warmups = _at_least(file, "warmups", 0)
    exp.max_catch_failures = _at_least(file, "max_catch_failures", 0)
    exp.headphone_check = _check(raw, "headphone_check", Check(2, 2))
    exp.pretest = _check(raw, "pretest", Check(4, 3))
    exp.adaptive = dict(file.adaptive or {})
    allowed = {"prior_mu", "prior_sigma", "recency", "prior_strength", "lapse"}
    if set(exp.adaptive) - allowed:
        raise ConfigError(f"{exp.path}: adaptive accepts only {sorted(allowed)}")
    exp.generate = dict(file.generate or {})
    source = _folder(exp, file.pairs, "pairs")
    exp.root = source if source.is_dir() else source.parent
    if source.is_dir():
        _jnd_folder(exp, source)
    else:
        _jnd_jsonl(exp, source)
    if not exp.sequences:
        raise ConfigError(f"{source}: no JND sequences found")
    for seq in exp.sequences:
        if len(seq.levels) < 3:
            raise ConfigError(f"sequence {seq.name!r}: needs at least 3 levels, has {len(seq.levels)}")


def _jnd_folder(exp: Experiment, root: Path) -> None:
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        files = _audio_files(sub)
        if "reference" not in files:
            raise ConfigError(f"{sub}: a JND sequence needs reference.<ext>")
        ladder = {int(m.group(1)): p for s, p in files.items() if (m := LEVEL_FILE.match(s))}
        ladder.setdefault(0, files["reference"])
        if sorted(ladder) != list(range(len(ladder))):
            raise ConfigError(f"{sub}: levels must be contiguous from 0, found {sorted(ladder)}")
        params: list[dict] = []
        if (sub / "params.json").exists():
            params = _read_params(sub / "params.json", len(ladder))
        ref = _register(exp, root, files["reference"])
        levels = [_register(exp, root, ladder[k]) for k in range(len(ladder))]
        exp.sequences.append(Sequence(sub.name, ref, levels, params))


def _read_params(path: Path, n_levels: int) -> list[dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from None
    levels = data.get("levels") if isinstance(data, dict) else None
    if not isinstance(levels, list) or len(levels) != n_levels:
        raise ConfigError(f"{path}: 'levels' must list one params dict per level ({n_levels})")
    common = {k: v for k, v in data.items() if k != "levels"}
    return [{**common, **(lv or {})} for lv in levels]


def _jnd_jsonl(exp: Experiment, file: Path) -> None:
    root = file.parent
    seqs: dict[str, dict] = {}
    for lineno, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name, level = str(row["sequence"]), int(row["level"])
            ref, test = root / row["reference"], root / row["test"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{file}:{lineno}: needs sequence, level, reference, test ({exc})") from None
        seq = seqs.setdefault(name, {"reference": ref, "levels": {}})
        if seq["reference"].resolve() != ref.resolve():
            raise ConfigError(f"{file}:{lineno}: sequence {name!r} changes its reference")
        for p in (ref, test):
            if not p.is_file():
                raise ConfigError(f"{file}:{lineno}: {p} does not exist")
        seq["levels"][level] = (test, dict(row.get("params") or {}))
    for name, seq in seqs.items():
        ladder = seq["levels"]
        ladder.setdefault(0, (seq["reference"], {}))
        if sorted(ladder) != list(range(len(ladder))):
            raise ConfigError(f"{file}: sequence {name!r}: levels must be contiguous from 0")
        ref = _register(exp, root, seq["reference"])
        levels = [_register(exp, root, ladder[k][0]) for k in range(len(ladder))]
        exp.sequences.append(Sequence(name, ref, levels, [ladder[k][1] for k in range(len(ladder))]))
