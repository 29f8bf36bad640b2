"""Real recordings for the corpus: a catalogue of Debian packages, splits by recording, planning.

``scan(sources, cache)`` fetches and unpacks each package (see ``debian.py``) and lists its
recordings with their durations and licence; each recording's split is fixed by a hash of its
package and path (``assign_splits``), never by the seed or the corpus size, so rebuilding with
other minutes keeps every recording in its split. ``plan_real(recordings, minutes, rng)`` draws
the items: short clips (voice prompts, sound effects) joined into utterances of one split, and
excerpts of long tracks (all excerpts of a track in the track's split). ``render_real`` makes
one item deterministically.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from earshot.data.sources import debian
from earshot.data.sources.levels import fade, set_level, to_rate, trim_silence
from earshot.errors import AudioFileError, ConfigError, DataError

SPLITS = ("train", "valid", "test")
FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}
SHARES = {"speech": 0.55, "music": 0.40, "noise": 0.05}  # of the real minutes (real noise is scarce)
LEVELS_DB = {"speech": (-30, -18), "music": (-26, -16), "noise": (-34, -20)}  # as the synthetic items
JOIN_SECONDS = {"speech": (8.0, 15.0), "noise": (4.0, 8.0)}  # length of an item of joined clips
EXCERPT_SECONDS = (15.0, 25.0)  # length of an excerpt of a long track
EDGE_SECONDS = 2.0  # skipped at both ends of a long track


@dataclass(frozen=True)
class RealSource:
    """Files of one kind in one Debian package.

    ``pattern``: glob of the files inside the package; ``exclude``: globs to leave out;
    ``join``: the files are short clips, joined into longer items (each clip in one split);
    ``licence_files``: the DEP-5 ``Files:`` entry whose ``License:`` covers these files.
    """

    package: str
    kind: str
    pattern: str
    language: str | None = None
    speaker: str | None = None
    join: bool = False
    licence_files: str = "*"
    exclude: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return f"{self.package}:{self.kind}:{self.pattern}"


def _asterisk(lang: str, voice: str, stanza: str) -> RealSource:
    return RealSource(f"asterisk-core-sounds-{lang}-g722", "speech", "usr/share/asterisk/sounds/**/*.g722",
                      language=lang, speaker=voice, join=True, licence_files=stanza, exclude=("*/silence/*",))


# The default catalogue: about 75 MB of .deb files. Never any package in debian.RESERVED.
SOURCES = (
    _asterisk("es", "es_MX_f_Allison", "*"),
    _asterisk("fr", "fr_CA_f_June", "fr-*"),
    _asterisk("it", "it_IT_m_Carlo", "it-*"),
    _asterisk("ru", "ru_RU_f_IvrvoiceRU", "ru-*"),
    RealSource("asterisk-moh-opsound-g722", "music", "usr/share/asterisk/moh/*.g722"),
    RealSource("asc-music", "music", "usr/share/**/*.mp3"),
    RealSource("tumiki-fighters-data", "music", "usr/share/**/*.ogg"),
    RealSource("torus-trooper-data", "music", "usr/share/**/*.ogg"),
    RealSource("bucklespring-data", "noise", "usr/share/**/*.wav", join=True),
    RealSource("tumiki-fighters-data", "noise", "usr/share/**/*.wav", join=True),
    RealSource("torus-trooper-data", "noise", "usr/share/**/*.wav", join=True),
)


@dataclass(frozen=True)
class Recording:
    """One file of a package: ``path`` inside it, ``seconds`` long, in ``split``."""

    source: RealSource
    package: debian.Package
    licence: str
    path: str
    seconds: float
    split: str = "train"


def packages(sources=SOURCES) -> list[str]:
    """The distinct package names of ``sources``, in order (each checked against the deny-list)."""
    names = list(dict.fromkeys(s.package for s in sources))
    return [debian.check_allowed(n) for n in names]


def select(names, sources=None) -> tuple[RealSource, ...]:
    """The sources of ``sources`` (default ``SOURCES``) from the packages ``names``.

    Raises:
        ConfigError: a name is not in the catalogue (the message lists those that are).
    """
    sources = SOURCES if sources is None else sources
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in {s.package for s in sources}]
    if unknown:
        raise ConfigError(f"not in the catalogue: {', '.join(unknown)}; known: {', '.join(packages(sources))}")
    return tuple(s for s in sources if s.package in names)


def scan(sources=SOURCES, cache=None, *, download: bool = True) -> list[Recording]:
    """Fetch (if ``download``) and unpack every package of ``sources``; list their recordings
    with durations, licences and splits. ``cache``: where ``.deb`` files (or unpacked package
    folders named after the package) are kept; default ``debian.default_cache()``."""
    cache = Path(cache) if cache is not None else debian.default_cache()
    unpacked: dict[str, debian.Package] = {}
    found: list[Recording] = []
    for source in sources:
        if source.kind not in SHARES:
            raise ConfigError(f"{source.package}: kind must be one of {tuple(SHARES)}, got {source.kind!r}")
        if source.package not in unpacked:
            unpacked[source.package] = debian.unpack(_locate(source.package, cache, download), cache / "unpacked")
        package = unpacked[source.package]
        licence = debian.licence(package.copyright_text(), files=source.licence_files)
        files = sorted(p for p in package.root.glob(source.pattern) if p.is_file() and not _excluded(p, package, source))
        if not files:
            raise DataError(f"{package.name}: no files match {source.pattern!r}")
        found += [Recording(source, package, licence, str(p.relative_to(package.root)), debian.duration(p))
                  for p in files]
    return assign_splits(found)


def _locate(package: str, cache: Path, download: bool) -> Path:
    debian.check_allowed(package)
    folder = cache / package
    if (folder / "DEBIAN" / "control").is_file():
        return folder
    deb = debian.cached_deb(package, cache)
    if deb is not None:
        return deb
    if not download:
        raise DataError(f"{package}: no {package}_*.deb in {cache} and downloads are off")
    return debian.fetch(package, cache)


def _excluded(path: Path, package: debian.Package, source: RealSource) -> bool:
    rel = str(path.relative_to(package.root))
    return any(fnmatch.fnmatch(rel, pattern) for pattern in source.exclude)


def assign_splits(recordings: list[Recording]) -> list[Recording]:
    """Give each recording its split: within a source, recordings are ranked by a hash of
    ``package/path``; the first 10 % (at least one, given two or more) go to test, the next
    10 % (at least one, given three or more) to valid, the rest to train."""
    by_group: dict[str, list[Recording]] = {}
    for rec in recordings:
        by_group.setdefault(rec.source.group, []).append(rec)
    split_of: dict[tuple[str, str], str] = {}
    for group, recs in by_group.items():
        ranked = sorted(recs, key=lambda r: hashlib.sha256(f"{r.package.name}/{r.path}".encode()).hexdigest())
        n = len(ranked)
        n_test = max(1, round(n * FRACTIONS["test"])) if n >= 2 else 0
        n_valid = max(1, round(n * FRACTIONS["valid"])) if n >= 3 else 0
        for rank, rec in enumerate(ranked):
            split_of[(group, rec.path)] = "test" if rank < n_test else "valid" if rank < n_test + n_valid else "train"
    return [Recording(r.source, r.package, r.licence, r.path, r.seconds, split_of[(r.source.group, r.path)])
            for r in recordings]


def plan_real(recordings: list[Recording], minutes: float, rng: np.random.Generator) -> list[dict]:
    """Draw the real items: each kind gets its share of ``minutes`` (``SHARES``), split evenly
    between its sources and 80/10/10 between splits (at least one item per source and split
    that has recordings). Returns item dicts ``{kind, split, origin, source, params}``."""
    if not minutes > 0:
        raise ConfigError(f"real minutes must be positive, got {minutes!r}")
    items: list[dict] = []
    for kind, share in SHARES.items():
        groups = list(dict.fromkeys(r.source.group for r in recordings if r.source.kind == kind))
        for group in groups:
            for split in SPLITS:
                pool = [r for r in recordings if r.source.group == group and r.split == split]
                if not pool:
                    continue
                target = minutes * 60 * share / len(groups) * FRACTIONS[split]
                pool = [pool[i] for i in rng.permutation(len(pool))]
                pieces = _joined(pool, target, rng) if pool[0].source.join else _excerpts(pool, target, rng)
                items += [_item(kind, split, piece, rng) for piece in pieces]
    return items


def _joined(pool: list[Recording], target: float, rng) -> list[list[tuple[Recording, float, float]]]:
    """Consecutive clips of the shuffled pool, joined into items of a drawn length."""
    pieces, total, i = [], 0.0, 0
    lo, hi = JOIN_SECONDS[pool[0].source.kind]
    while i < len(pool) and (total < target or not pieces):
        want, piece, seconds = rng.uniform(lo, hi), [], 0.0
        while i < len(pool) and seconds < want:
            piece.append((pool[i], 0.0, pool[i].seconds))
            seconds += pool[i].seconds
            i += 1
        pieces.append(piece)
        total += seconds
    return pieces


def _excerpts(pool: list[Recording], target: float, rng) -> list[list[tuple[Recording, float, float]]]:
    """Non-overlapping excerpts of the shuffled tracks, one track after another in turn."""
    slots = []
    for rec in pool:
        length = float(np.round(rng.uniform(*EXCERPT_SECONDS), 2))
        usable = rec.seconds - 2 * EDGE_SECONDS
        if usable < length:
            starts = [0.0]
            length = rec.seconds
        else:
            phase = rng.uniform(0, usable - length * int(usable // length) + 1e-9)
            starts = [EDGE_SECONDS + phase + k * length for k in range(int(usable // length))]
            starts = [float(np.round(starts[k], 3)) for k in rng.permutation(len(starts))]
        slots.append([(rec, s, length) for s in starts])
    pieces, total, turn = [], 0.0, 0
    while (total < target or not pieces) and any(slots):
        queue = slots[turn % len(slots)]
        if queue:
            rec, start, length = queue.pop(0)
            pieces.append([(rec, start, length)])
            total += length
        turn += 1
    return pieces


def _item(kind: str, split: str, piece, rng) -> dict:
    first: Recording = piece[0][0]
    params = {
        "package": first.package.name, "version": first.package.version, "licence": first.licence,
        "files": [rec.path for rec, _, _ in piece],
        "level_db": float(np.round(rng.uniform(*LEVELS_DB[kind]), 2)),
    }
    if not first.source.join:
        params.update(start=piece[0][1], seconds=piece[0][2], recording_seconds=round(first.seconds, 3))
    for key in ("language", "speaker"):
        if getattr(first.source, key):
            params[key] = getattr(first.source, key)
    return {"kind": kind, "split": split, "origin": "real", "source": f"debian:{first.package.name}", "params": params}


def render_real(item: dict, roots: dict[str, Path], sample_rate: int) -> np.ndarray:
    """Make a planned real item: decode its file(s) (the excerpt only, for a long track),
    trim silence, resample to ``sample_rate``, join, fade the ends and set the level.
    A joined clip that decodes to silence is left out (and off ``item["params"]["files"]``).

    Raises:
        AudioFileError: nothing but silence (or an unreadable file) in the item.
    """
    params = item["params"]
    root = roots[params["package"]]
    parts, kept = [], []
    for rel in params["files"]:
        try:
            audio, rate = debian.decode(root / rel, start=params.get("start", 0.0), seconds=params.get("seconds"))
        except AudioFileError:
            if len(params["files"]) == 1:
                raise
            continue
        parts.append(to_rate(trim_silence(audio, rate), rate, sample_rate))
        kept.append(rel)
    if not parts:
        raise AudioFileError(root / params["files"][0], "every clip of this item decodes to silence")
    params["files"] = kept
    audio = fade(np.concatenate(parts), sample_rate)
    return set_level(audio, params["level_db"])
