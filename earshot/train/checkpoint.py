"""Atomic training checkpoints: write a temporary file, fsync, then ``os.replace``.

A checkpoint ``RUN/checkpoints/step-00001000.pt`` holds plain state (tensors, numbers,
strings, lists, dicts) that ``torch.load(..., weights_only=True)`` accepts: model, EMA,
optimiser, scheduler and precision states, every process's RNG states, the data position
and the last validation metrics. A process killed at any moment (even ``kill -9`` in the
middle of a save) leaves only complete checkpoints under their final names; a leftover
``.tmp`` file is ignored and removed by the next save.

Each checkpoint has a sidecar ``step-00001000.pt.sha256`` holding the sha256 of its bytes,
written (atomically) before the checkpoint is renamed into place. Loading checks it: a
checkpoint whose bytes changed is refused, and :func:`latest_checkpoint` falls back to the
previous good one with a warning. A checkpoint without a sidecar (an older run) loads with a
warning.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from earshot.errors import ConfigError

log = logging.getLogger("earshot.train")

_NAME = re.compile(r"^step-(\d+)\.pt$")
#: test hook: seconds to sleep after the temporary file is written, before the rename
DELAY_ENV = "EARSHOT_CHECKPOINT_TEST_DELAY"


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step-{step:08d}.pt"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the complete checkpoints of a run, oldest first."""
    return _list(checkpoint_dir(run_dir))


def _list(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def checksum_path(path: str | Path) -> Path:
    """The sidecar holding the sha256 of checkpoint ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def _write_atomic(path: Path, data: bytes, *, delay: float = 0.0) -> None:
    """Write ``data`` to a temporary file, fsync it, then rename it over ``path``; ``delay``
    seconds pass before the rename (the kill-during-save tests use it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if delay > 0:
        print(f"checkpoint: {tmp.name} written, sleeping {delay}s before the rename", flush=True)
        time.sleep(delay)
    os.replace(tmp, path)


def save_checkpoint(state: dict, path: str | Path, *, keep_last: int | None = None) -> Path:
    """Write ``state`` to ``path`` atomically, with its checksum sidecar; then keep only the
    newest ``keep_last`` checkpoints of the run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    _write_atomic(checksum_path(path), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n".encode())
    _write_atomic(path, data, delay=float(os.environ.get(DELAY_ENV, "0") or 0))
    _fsync_dir(path.parent)
    if keep_last:
        for _, old in _list(path.parent)[:-keep_last]:
            old.unlink(missing_ok=True)
            checksum_path(old).unlink(missing_ok=True)
    return path


def verify_checkpoint(path: str | Path) -> bytes:
    """The bytes of checkpoint ``path`` after checking them against its sha256 sidecar.

    Raises ConfigError if they differ; warns (and returns the bytes) if there is no sidecar.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the checkpoint: {exc}") from exc
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        log.warning("%s has no checksum file %s (an older checkpoint?): loading it unverified", path, sidecar.name)
        return data
    words = sidecar.read_text().split()
    expected = words[0] if words else ""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ConfigError(f"{path}: checksum mismatch (sha256 {actual}, {sidecar.name} says {expected or 'nothing'}): "
                          "the file is corrupt")
    return data


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, verified against its checksum
    (weights_only: no arbitrary code)."""
    data = verify_checkpoint(path)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign files surface as many exception types
        raise ConfigError(f"{path}: not a loadable checkpoint: {exc}") from exc


def latest_checkpoint(run_dir: str | Path) -> tuple[Path, dict] | None:
    """The newest checkpoint of a run that loads, with its state; older ones are tried next."""
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except ConfigError as exc:
            log.warning("skipping a bad checkpoint, trying the previous one: %s", exc)
    return None


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rng_state() -> dict[str, Any]:
    """This process's torch (CPU and CUDA), numpy and Python RNG states, as plain data."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
