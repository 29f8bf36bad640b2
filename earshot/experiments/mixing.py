"""Noisy test inputs: clean clips with corpus noise mixed in at a drawn SNR (seeded, deterministic);
the mixing itself is `earshot.data.mixing.mix_at_snr`."""

from __future__ import annotations

import numpy as np
import torch

from earshot.errors import DataError


def fit_and_mix(clean: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """``earshot.data.mixing.mix_at_snr`` of ``clean`` and ``noise`` cut or zero-padded to its length,
    then scaled down (never up) so the peak stays within [-1, 1]. Tensors ``(..., samples)``."""
    from earshot.data.mixing import mix_at_snr as mix

    n = clean.shape[-1]
    noise = torch.nn.functional.pad(noise[..., :n], (0, max(0, n - noise.shape[-1]))).expand_as(clean)
    out = mix(clean, noise, snr_db)
    return out / out.abs().max().clamp(min=1.0)


def corpus_noises(corpus, split: str, sample_rate: int) -> list[torch.Tensor]:
    """Every noise file of ``split`` as ``(1, samples)`` (DataError when there is none)."""
    from earshot.audio.io import load
    from earshot.data.corpus import load_manifest

    items = load_manifest(corpus, kind="noise", split=split)
    if not items:
        raise DataError(f"{corpus}: no noise items in split {split!r}")
    return [load(i.path, sample_rate=sample_rate, mono=True)[0] for i in items]


def noisy_versions(clips: list[torch.Tensor], noises: list[torch.Tensor], *, seed, snr_db=(-5.0, 15.0)) -> list:
    """``[(noisy clip, drawn {"noise", "snr_db"})]``: clip ``i`` gets noise and SNR drawn from
    ``default_rng([*seed, i])`` (``snr_db``: a fixed value or a ``(low, high)`` range)."""
    seed = list(seed) if isinstance(seed, (list, tuple)) else [seed]
    out = []
    for i, clip in enumerate(clips):
        rng = np.random.default_rng([*seed, i])
        k = int(rng.integers(len(noises)))
        snr = float(rng.uniform(*snr_db)) if isinstance(snr_db, (list, tuple)) else float(snr_db)
        out.append((fit_and_mix(clip, noises[k], snr), {"noise": k, "snr_db": snr}))
    return out


__all__ = ["corpus_noises", "fit_and_mix", "noisy_versions"]
