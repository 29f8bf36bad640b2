"""Real recordings from Debian packages: fetch a ``.deb``, unpack it, read its licence, decode audio.

Packages are fetched with ``apt-get download`` into a cache folder (no root needed; after that
everything works offline) and unpacked with ``dpkg-deb -R`` next to it, so the package's name
and version come from its own ``DEBIAN/control``. A folder laid out like an unpacked package
(``DEBIAN/control`` plus ``usr/...``) works in place of a ``.deb``.

Some packages are reserved for independent evaluation and are refused everywhere here, by name
pattern (``RESERVED``): a model must never see them during training or model selection.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from earshot.errors import AudioFileError, ConfigError, DataError, ToolMissingError

# Reserved for independent evaluation: never fetched, unpacked, scanned or decoded here.
RESERVED = ("pocketsphinx-testdata", "asterisk-core-sounds-en*", "*wesnoth*")
G722_BYTES_PER_SECOND = 8000  # 64 kbit/s, 16 kHz wideband
G722_RATE = 16000
SILENCE_PEAK = 1e-3  # -60 dBFS: a G.722 decoder idles a few LSBs above zero


class ReservedPackageError(ConfigError):
    """A package reserved for independent evaluation was asked for."""


@dataclass(frozen=True)
class Package:
    """An unpacked Debian package: its ``name``, ``version`` and the folder ``root`` it lies in."""

    name: str
    version: str
    root: Path

    def copyright_text(self) -> str:
        path = self.root / "usr/share/doc" / self.name / "copyright"
        if not path.is_file():
            raise DataError(f"{self.name}: no usr/share/doc/{self.name}/copyright in the package")
        return path.read_text(encoding="utf-8", errors="replace")


def check_allowed(package: str) -> str:
    """Return ``package``, or raise ReservedPackageError if it is reserved for evaluation."""
    name = str(package).strip().lower()
    for pattern in RESERVED:
        if fnmatch.fnmatchcase(name, pattern):
            raise ReservedPackageError(
                f"{package}: reserved for independent evaluation (matches {pattern!r}); "
                "earshot never trains or selects models on it")
    return package


def default_cache() -> Path:
    """Where ``.deb`` files are kept: ``$EARSHOT_DEB_CACHE``, else ``~/.cache/earshot/debs``."""
    env = os.environ.get("EARSHOT_DEB_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "earshot" / "debs"


def cached_deb(package: str, cache) -> Path | None:
    """The newest-named ``PKG_*.deb`` in ``cache`` (or None)."""
    check_allowed(package)
    found = sorted(Path(cache).glob(f"{package}_*.deb"))
    return found[-1] if found else None


def fetch(package: str, cache=None) -> Path:
    """The ``.deb`` of ``package`` in ``cache``, downloaded with ``apt-get download`` if missing.

    As root, a failed download is retried once after ``apt-get update`` (a fresh machine has
    no package lists).

    Raises:
        ReservedPackageError: the package is reserved for evaluation.
        ToolMissingError: no ``apt-get`` (not a Debian system).
        DataError: apt could not download it (offline, or unknown to apt: run ``apt-get update``).
    """
    check_allowed(package)
    cache = Path(cache) if cache is not None else default_cache()
    deb = cached_deb(package, cache)
    if deb is not None:
        return deb
    apt = shutil.which("apt-get")
    if apt is None:
        raise ToolMissingError("apt-get", "apt (a Debian system), or put the .deb files in the cache folder")
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([apt, "download", "-q", package], cwd=cache, capture_output=True, timeout=600)
    if proc.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        # a fresh machine has no package lists yet: as root, read them once and try again
        subprocess.run([apt, "update", "-qq"], capture_output=True, timeout=600)
        proc = subprocess.run([apt, "download", "-q", package], cwd=cache, capture_output=True, timeout=600)
    deb = cached_deb(package, cache)
    if proc.returncode != 0 or deb is None:
        tail = proc.stderr.decode(errors="replace").strip()[-400:]
        raise DataError(f"{package}: apt-get download failed in {cache} (offline? run apt-get update): {tail}")
    return deb


def unpack(source, dest) -> Package:
    """Unpack a ``.deb`` (``dpkg-deb -R``) into ``dest/NAME_VERSION`` once, or take a folder
    that already holds an unpacked package (``DEBIAN/control``) as it is.

    Raises:
        ReservedPackageError: the package (by its control file's name) is reserved.
        DataError: not a package, or ``dpkg-deb`` failed.
    """
    source = Path(source)
    if source.is_dir():
        return _read_control(source)
    dpkg = shutil.which("dpkg-deb")
    if dpkg is None:
        raise ToolMissingError("dpkg-deb", "dpkg")
    check_allowed(source.name.split("_")[0])
    root = Path(dest) / source.name.removesuffix(".deb")
    if not (root / "DEBIAN" / "control").is_file():
        tmp = root.with_name(f".{root.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([dpkg, "-R", str(source), str(tmp)], capture_output=True, timeout=600)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DataError(f"{source}: dpkg-deb could not unpack it: {proc.stderr.decode(errors='replace')[-300:]}")
        shutil.rmtree(root, ignore_errors=True)
        os.replace(tmp, root)
    return _read_control(root)


def _read_control(root: Path) -> Package:
    control = root / "DEBIAN" / "control"
    if not control.is_file():
        raise DataError(f"{root}: not an unpacked Debian package (no DEBIAN/control)")
    fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", control.read_text(encoding="utf-8", errors="replace"), re.M))
    if "Package" not in fields or "Version" not in fields:
        raise DataError(f"{control}: no Package or Version field")
    check_allowed(fields["Package"])
    return Package(fields["Package"], fields["Version"], root)


# ------------------------------------------------------------------------------------ licences

_LICENCE_TEXTS = (  # (pattern in a free-form copyright file, short name); first match wins
    (r"Creative\s+Commons\s+Attribution-?\s*ShareAlike\s+3\.0", "CC-BY-SA-3.0"),
    (r"Creative\s+Commons\s+Attribution\s+3\.0", "CC-BY-3.0"),
    (r"Redistribution and use in source and binary forms", "BSD"),
    (r"GNU\s+Lesser\s+General\s+Public\s+License", "LGPL"),
    (r"GNU\s+General\s+Public\s+License", "GPL"),
)


def licence(text: str, *, files: str = "*") -> str:
    """The licence of a Debian ``copyright`` file, as a short name.

    A machine-readable (DEP-5) file gives the ``License:`` of the stanza whose ``Files:`` field
    lists ``files`` (default ``*``, the package as a whole); a free-form one is matched
    against well-known licence texts. Raises DataError when none is found.
    """
    stanzas = [s for s in re.split(r"\n\s*\n", text) if s.strip()]
    if stanzas and re.match(r"^Format:", stanzas[0]):
        for stanza in stanzas:
            listed = re.search(r"^Files:[ \t]*(.*(?:\n[ \t]+.*)*)", stanza, re.M)
            named = re.search(r"^License:[ \t]*(\S.*)$", stanza, re.M)
            if listed and named and files in listed.group(1).replace(",", " ").split():
                return named.group(1).strip()
        raise DataError(f"DEP-5 copyright file has no 'Files: {files}' stanza with a License")
    for pattern, name in _LICENCE_TEXTS:
        if re.search(pattern, text, re.I):
            return name
    raise DataError("copyright file names no licence earshot recognises")


# ------------------------------------------------------------------------------------ decoding

def duration(path) -> float:
    """Length of an audio file in seconds (G.722 from its size; others from their header)."""
    path = Path(path)
    if path.suffix.lower() == ".g722":
        return path.stat().st_size / G722_BYTES_PER_SECOND
    if path.suffix.lower() == ".gsm":
        return path.stat().st_size / 33 * 160 / 8000  # 33-byte frames of 160 samples at 8 kHz
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except (RuntimeError, ValueError, OSError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({exc})") from None


def decode(path, *, start: float = 0.0, seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode ``seconds`` (default: all) of a recording from ``start`` to mono float32
    ``(samples,)``; returns it with its sample rate.

    G.722 (Asterisk's ``.g722``: raw 64 kbit/s, 16 kHz) through the ``g722`` package (an
    excerpt is decoded from its own first byte); GSM through sox; WAV/FLAC/Ogg/MP3 through
    libsndfile. Channels are averaged.

    Raises:
        AudioFileError: unreadable, or nothing but silence in the part asked for.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".g722":
        data = path.read_bytes()
        first = int(round(start * G722_BYTES_PER_SECOND))
        last = len(data) if seconds is None else first + int(round(seconds * G722_BYTES_PER_SECOND))
        audio, rate = _g722(data[first:last]), G722_RATE
    elif ext == ".gsm":
        audio, rate = _sox(path), 8000
        audio = audio[int(start * rate):None if seconds is None else int((start + seconds) * rate)]
    else:
        audio, rate = _soundfile(path, start, seconds)
    if audio.size == 0 or np.abs(audio).max() < SILENCE_PEAK:
        raise AudioFileError(path, f"decodes to silence (peak below -60 dBFS) from {start} s")
    return np.ascontiguousarray(audio, dtype=np.float32), rate


def _soundfile(path: Path, start: float, seconds: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            f.seek(int(round(start * rate)))
            frames = -1 if seconds is None else int(round(seconds * rate))
            data = f.read(frames, dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({exc})") from None
    return data.mean(axis=1), rate


def _g722(data: bytes) -> np.ndarray:
    try:
        import G722
    except ImportError:
        raise ToolMissingError("G722 decoder (Python)", "g722", "pip install") from None
    pcm = G722.G722(G722_RATE, 64000).decode(data)
    return np.asarray(pcm, dtype=np.float32) / 32768.0


def _sox(path: Path) -> np.ndarray:
    sox = shutil.which("sox")
    if sox is None:
        raise ToolMissingError("sox", "sox")
    proc = subprocess.run([sox, str(path), "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-"],
                          capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise AudioFileError(path, f"sox could not decode it: {proc.stderr.decode(errors='replace')[-200:]}")
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
