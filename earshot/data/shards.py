"""Pair shards: (clean, processed) excerpts with the parameters that made them, on disk.

Layout of a pairs folder::

    index.json                  {"format": "earshot-pairs", "version", "kind", "sample_rate",
                                 "channels", "samples", "seed", "count", "shards": [{"file", "count"}], ...}
    pairs-00000.safetensors     tensors "clean" and "processed" (N, C, T) float32; metadata
                                "params" = JSON list of N parameter dicts (type, strength, kbps, ...)

``ShardWriter`` writes a folder (``earshot.data.pairs.make_codec_pairs`` fills one with real
codec pairs); ``ShardReader`` (and ``earshot.data.datasets.PairedDataset.from_shards``) reads it.
This module knows the format only: it imports no dataset and no perturbation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from earshot.errors import ConfigError, DataError

INDEX = "index.json"


class ShardWriter:
    """Accumulates pairs and writes a shard every ``shard_size`` pairs; ``close()`` writes the index."""

    def __init__(self, folder, *, sample_rate: int, kind: str, shard_size: int = 256, meta: dict | None = None,
                 overwrite: bool = False):
        self.folder = Path(folder)
        if (self.folder / INDEX).exists() and not overwrite:
            raise ConfigError(f"{self.folder} already holds pairs ({INDEX}); choose another folder or overwrite")
        if shard_size < 1:
            raise ConfigError(f"shard_size must be >= 1, got {shard_size}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sample_rate, self.kind, self.shard_size, self.meta = sample_rate, kind, shard_size, meta or {}
        self.shards, self._buf, self.shape = [], [], None

    def add(self, clean: torch.Tensor, processed: torch.Tensor, params: dict) -> None:
        """Add one pair ``(C, T)``, ``(C, T)`` (all pairs of a folder share one shape)."""
        if clean.shape != processed.shape or clean.dim() != 2:
            raise ConfigError(f"pair shapes must be equal (C, T), got {tuple(clean.shape)} and {tuple(processed.shape)}")
        if self.shape is None:
            self.shape = tuple(clean.shape)
        elif tuple(clean.shape) != self.shape:
            raise ConfigError(f"every pair must be {self.shape}, got {tuple(clean.shape)}")
        self._buf.append((clean.float().cpu(), processed.float().cpu(), params))
        if len(self._buf) == self.shard_size:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        name = f"pairs-{len(self.shards):05d}.safetensors"
        tensors = {"clean": torch.stack([b[0] for b in self._buf]).contiguous(),
                   "processed": torch.stack([b[1] for b in self._buf]).contiguous()}
        tmp = self.folder / f".{name}.tmp"
        save_file(tensors, str(tmp), metadata={"params": json.dumps([b[2] for b in self._buf], sort_keys=True)})
        os.replace(tmp, self.folder / name)
        self.shards.append({"file": name, "count": len(self._buf)})
        self._buf = []

    def close(self) -> Path:
        self._flush()
        channels, samples = self.shape or (0, 0)
        index = {"format": "earshot-pairs", "version": 1, "kind": self.kind, "sample_rate": self.sample_rate,
                 "channels": channels, "samples": samples, "count": sum(s["count"] for s in self.shards),
                 "shards": self.shards, **self.meta}
        path = self.folder / INDEX
        tmp = self.folder / f".{INDEX}.tmp"
        tmp.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path


class ShardReader:
    """Random access to a pairs folder: ``reader[i] -> (clean (C, T), processed (C, T), params)``."""

    def __init__(self, folder):
        self.folder = Path(folder)
        path = self.folder / INDEX
        try:
            self.index = json.loads(path.read_text(encoding="utf-8"))
            self.sample_rate = int(self.index["sample_rate"])
            counts = [int(s["count"]) for s in self.index["shards"]]
        except FileNotFoundError:
            raise DataError(f"{path}: no pairs index here (make one with `earshot pairs make`)") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: not a pairs index ({exc})") from None
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        self._params: dict[int, list] = {}

    def __len__(self) -> int:
        return int(self._starts[-1])

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        shard = int(np.searchsorted(self._starts, index, side="right") - 1)
        return shard, index - int(self._starts[shard])

    def __getitem__(self, index: int):
        shard, row = self._locate(index)
        file = self.folder / self.index["shards"][shard]["file"]
        try:
            with safe_open(str(file), framework="pt") as f:
                clean = f.get_slice("clean")[row]
                processed = f.get_slice("processed")[row]
                if shard not in self._params:
                    self._params[shard] = json.loads(f.metadata()["params"])
        except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
            raise DataError(f"{file}: unreadable pairs shard ({exc})") from None
        return clean, processed, self._params[shard][row]
