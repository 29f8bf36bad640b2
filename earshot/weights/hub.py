"""Shipped weights: ``NAME.safetensors`` plus a ``NAME.json`` manifest, checked by sha256.

A manifest records the model class (import path, restricted to ``earshot.models``), its
constructor kwargs, sample rate, training data, the recipe and resolved config that made it,
its measured quality, ``weights_sha256`` (the weights file's sha256) and ``sha256``, the
signature: the sha256 of the weights' sha256 together with the canonical JSON of the fields
that decide what the loaded model does (``class``, ``kwargs``, ``sample_rate``). Editing
either file alone fails verification with an error saying which. Loading never unpickles
anything: the weights are safetensors, the manifest is JSON, the class is imported by name and
built with the recorded kwargs. Paths in a manifest's config are relative to the directory the
export ran in, never absolute.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from earshot.errors import ConfigError, WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parent
ALLOWED_MODULE_PREFIX = "earshot.models."
FORMAT = "earshot-weights/2"
#: the manifest fields the signature covers (with the weights file's sha256)
SIGNED_FIELDS = ("class", "kwargs", "sample_rate")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_signature(manifest: dict, weights_sha256: str) -> str:
    """The sha256 signing a manifest: over the weights' sha256 and the canonical JSON of
    :data:`SIGNED_FIELDS` (sorted keys, no whitespace), so that neither can change alone."""
    meaning = json.dumps({k: manifest[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{FORMAT}\n{weights_sha256}\n{meaning}".encode()).hexdigest()


def portable_paths(value: Any, base: str | Path | None = None) -> Any:
    """``value`` (nested dicts/lists) with absolute path strings made relative to ``base`` (cwd)."""
    if isinstance(value, dict):
        return {k: portable_paths(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [portable_paths(v, base) for v in value]
    if isinstance(value, str) and os.path.isabs(value) and "\n" not in value:
        return os.path.relpath(value, base if base is not None else os.getcwd())
    return value


def _portable_text(text: str, config: Any, portable: Any) -> str:
    """``text`` with each absolute path of ``config`` replaced by its ``portable`` form."""
    if isinstance(config, dict):
        for k, v in config.items():
            text = _portable_text(text, v, portable[k])
    elif isinstance(config, list):
        for v, w in zip(config, portable):
            text = _portable_text(text, v, w)
    elif isinstance(config, str) and config != portable and config:
        text = text.replace(config, portable)
    return text


def class_path(module: nn.Module) -> str:
    """``"earshot.models.x:Class"`` for ``module``; WeightsError if not in earshot.models."""
    cls = type(module)
    path = f"{cls.__module__}:{cls.__qualname__}"
    _check_class_path(path)
    return path


def save_pretrained(
    module: nn.Module,
    name: str,
    *,
    kwargs: dict[str, Any],
    sample_rate: int,
    data: str = "",
    out_dir: str | Path | None = None,
    recipe: str | None = None,
    config: dict | None = None,
    metrics: dict[str, float] | None = None,
    notes: str = "",
    overwrite: bool = False,
) -> Path:
    """Write ``out_dir/NAME.safetensors`` and ``out_dir/NAME.json``; return the manifest path.

    ``module`` must be rebuildable as ``type(module)(**kwargs)`` (checked here by loading the
    saved tensors into a fresh instance). ``out_dir`` defaults to the package's weights folder.
    """
    if not _NAME.match(name):
        raise ConfigError(f"weights name {name!r} may only hold letters, digits, '.', '_' and '-'")
    out_dir = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    weights, manifest_path = out_dir / f"{name}.safetensors", out_dir / f"{name}.json"
    if not overwrite and (weights.exists() or manifest_path.exists()):
        raise ConfigError(f"{manifest_path} already exists; pass overwrite=True (--overwrite) to replace it")
    try:
        json.dumps(kwargs)
    except TypeError as exc:
        raise ConfigError(f"constructor kwargs of {name} are not JSON-serialisable: {exc}") from exc
    path = class_path(module)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    _build(path, kwargs).load_state_dict(tensors, strict=True)  # the manifest can rebuild it
    tmp = weights.with_name(f".{weights.name}.tmp")
    save_file(tensors, str(tmp), metadata={"format": FORMAT, "class": path})
    os.chmod(tmp, 0o644)
    os.replace(tmp, weights)
    portable = portable_paths(config)
    manifest = {
        "name": name,
        "format": FORMAT,
        "class": path,
        "kwargs": kwargs,
        "sample_rate": int(sample_rate),
        "data": _portable_text(data, config, portable),
        "recipe": recipe,
        "config": portable,
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "notes": notes,
        "parameters": int(sum(p.numel() for p in module.parameters())),
        "file": weights.name,
        "bytes": weights.stat().st_size,
        "weights_sha256": sha256_file(weights),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    manifest["sha256"] = manifest_signature(manifest, manifest["weights_sha256"])
    return _write_manifest(manifest_path, manifest)


def list_pretrained(root: str | Path | None = None) -> list[str]:
    """Names of the weights whose manifests are in ``root`` (default: the package folder)."""
    root = Path(root) if root is not None else WEIGHTS_DIR
    return sorted(p.stem for p in root.glob("*.json") if not p.name.startswith("."))


def pretrained_info(name: str, root: str | Path | None = None) -> dict:
    """The manifest of ``name`` as a dict (``name`` may also be a path to the .json)."""
    manifest_path = _manifest_path(name, root)
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{manifest_path}: unreadable manifest: {exc}") from exc
    for key in ("class", "kwargs", "sha256", "file", "sample_rate"):
        if key not in manifest:
            raise WeightsError(f"{manifest_path}: manifest has no '{key}'")
    manifest["_manifest_path"] = str(manifest_path)
    return manifest


def sign_manifest(name: str, root: str | Path | None = None) -> Path:
    """Re-sign a manifest for its current weights file and fields (after a deliberate edit);
    an older (format 1) manifest is upgraded. Returns the manifest path."""
    manifest = pretrained_info(name, root)
    path = Path(manifest.pop("_manifest_path"))
    weights = path.parent / manifest["file"]
    if not weights.is_file():
        raise WeightsError(f"{weights}: weights file of {name} is missing")
    manifest["format"], manifest["weights_sha256"] = FORMAT, sha256_file(weights)
    manifest["sha256"] = manifest_signature(manifest, manifest["weights_sha256"])
    return _write_manifest(path, manifest)


def _write_manifest(path: Path, manifest: dict) -> Path:
    """Write ``manifest`` as JSON to ``path`` atomically (a temporary file renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def verify_pretrained(name: str, root: str | Path | None = None) -> dict:
    """Check the weights file and the manifest of ``name`` against the signature; return the
    manifest or raise WeightsError saying which of the two changed."""
    manifest = pretrained_info(name, root)
    where = manifest["_manifest_path"]
    weights = Path(where).parent / manifest["file"]
    if not weights.is_file():
        raise WeightsError(f"{weights}: weights file of {manifest['name'] if 'name' in manifest else name} is missing")
    _check_class_path(manifest["class"])
    digest = sha256_file(weights)
    legacy = manifest.get("format") == "earshot-weights/1"
    if legacy:
        warnings.warn(f"{where}: an unsigned format-1 manifest (the sha256 covers the weights file only); "
                      "re-sign it with earshot.weights.hub.sign_manifest", stacklevel=2)
        expected_file = manifest["sha256"]
    else:
        expected_file = manifest.get("weights_sha256", "")
    if digest != expected_file:
        raise WeightsError(
            f"{weights}: sha256 {digest} does not match the manifest's {expected_file}; "
            "the weights file is corrupt or was replaced, refusing to load it"
        )
    if not legacy and manifest_signature(manifest, digest) != manifest["sha256"]:
        raise WeightsError(
            f"{where}: the manifest's {', '.join(SIGNED_FIELDS)} (or its sha256) were edited: they no longer "
            "match the signature made with the weights, refusing to load it"
        )
    return manifest


def load_pretrained(name: str, *, root: str | Path | None = None, device: str | torch.device | None = None,
                    map_location: str | torch.device = "cpu") -> nn.Module:
    """Load shipped weights ``name`` as a module in eval mode, on ``device`` (default
    ``map_location``, i.e. the CPU; ``"cuda"``, ``"cuda:1"``, a ``torch.device``...).

    Looks in ``root`` (default: the ``earshot/weights`` folder; ``name`` may also be a path to a
    manifest). Raises WeightsError if the name is unknown, the sha256 does not match, or the
    manifest names a class outside ``earshot.models``. The manifest is attached to the module
    as ``module.pretrained_manifest``.
    """
    manifest = verify_pretrained(name, root)
    weights = Path(manifest["_manifest_path"]).parent / manifest["file"]
    try:
        target = torch.device(device if device is not None else map_location)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"load_pretrained({name!r}): device {device!r} is not a torch device: {exc}") from exc
    module = _build(manifest["class"], manifest["kwargs"])
    try:
        state = load_file(str(weights), device="cpu")
        module.load_state_dict(state, strict=True)
    except (RuntimeError, OSError) as exc:
        raise WeightsError(f"{weights}: does not fit {manifest['class']}: {exc}") from exc
    module.to(target).eval()
    module.pretrained_manifest = {k: v for k, v in manifest.items() if not k.startswith("_")}
    return module


def _manifest_path(name: str, root: str | Path | None) -> Path:
    p = Path(name)
    if p.suffix in (".json", ".safetensors") and p.exists():
        return p.with_suffix(".json")
    root = Path(root) if root is not None else WEIGHTS_DIR
    path = root / f"{name}.json"
    if not _NAME.match(name) or not path.is_file():
        known = ", ".join(list_pretrained(root)) or "none"
        raise WeightsError(f"no pretrained weights named {name!r} in {root}; available: {known}")
    return path


def _check_class_path(path: str) -> None:
    module_name, _, qualname = path.partition(":")
    dotted = all(part.isidentifier() for part in f"{module_name}.{qualname}".split("."))
    if not module_name.startswith(ALLOWED_MODULE_PREFIX) or not qualname or not dotted:
        raise WeightsError(f"model class {path!r} is not in {ALLOWED_MODULE_PREFIX}*; refusing to import it")


def _build(path: str, kwargs: dict) -> nn.Module:
    _check_class_path(path)
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise WeightsError(f"model class {path!r} cannot be imported: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        raise WeightsError(f"{path!r} is not an nn.Module class")
    try:
        return obj(**kwargs)
    except TypeError as exc:
        raise WeightsError(f"{path}(**{kwargs!r}) failed: {exc}") from exc
