"""Shipped weights: ``NAME.safetensors`` plus a ``NAME.json`` manifest, checked by sha256.

A manifest records the model class (import path, restricted to ``earshot.models``), its
constructor kwargs, sample rate, training data, the recipe and resolved config that made it,
its measured quality, and the sha256 of the weights file. Loading never unpickles anything:
the weights are safetensors, the manifest is JSON, the class is imported by name and built
with the recorded kwargs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from earshot.errors import ConfigError, WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parent
ALLOWED_MODULE_PREFIX = "earshot.models."
FORMAT = "earshot-weights/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    manifest = {
        "name": name,
        "format": FORMAT,
        "class": path,
        "kwargs": kwargs,
        "sample_rate": int(sample_rate),
        "data": data,
        "recipe": recipe,
        "config": config,
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "notes": notes,
        "parameters": int(sum(p.numel() for p in module.parameters())),
        "file": weights.name,
        "bytes": weights.stat().st_size,
        "sha256": sha256_file(weights),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    tmp = manifest_path.with_name(f".{manifest_path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
    return manifest_path


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


def verify_pretrained(name: str, root: str | Path | None = None) -> dict:
    """Check the weights file of ``name`` against its sha256; return the manifest or raise."""
    manifest = pretrained_info(name, root)
    weights = Path(manifest["_manifest_path"]).parent / manifest["file"]
    if not weights.is_file():
        raise WeightsError(f"{weights}: weights file of {manifest['name'] if 'name' in manifest else name} is missing")
    digest = sha256_file(weights)
    if digest != manifest["sha256"]:
        raise WeightsError(
            f"{weights}: sha256 {digest} does not match the manifest's {manifest['sha256']}; "
            "the file is corrupt or was replaced, refusing to load it"
        )
    _check_class_path(manifest["class"])
    return manifest


def load_pretrained(name: str, *, root: str | Path | None = None, map_location: str | torch.device = "cpu") -> nn.Module:
    """Load shipped weights ``name`` as a module in eval mode.

    Looks in ``root`` (default: the ``earshot/weights`` folder; ``name`` may also be a path to a
    manifest). Raises WeightsError if the name is unknown, the sha256 does not match, or the
    manifest names a class outside ``earshot.models``. The manifest is attached to the module
    as ``module.pretrained_manifest``.
    """
    manifest = verify_pretrained(name, root)
    weights = Path(manifest["_manifest_path"]).parent / manifest["file"]
    module = _build(manifest["class"], manifest["kwargs"])
    try:
        state = load_file(str(weights), device=str(map_location))
        module.load_state_dict(state, strict=True)
    except (RuntimeError, OSError) as exc:
        raise WeightsError(f"{weights}: does not fit {manifest['class']}: {exc}") from exc
    module.to(map_location).eval()
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
