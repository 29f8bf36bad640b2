"""Noisy test inputs: clean clips with corpus noise mixed in at a drawn SNR (seeded, deterministic)."""

from __future__ import annotations

import numpy as np
import torch

from earshot.errors import DataError


def mix_at_snr(clean: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """``clean + g * noise`` with ``g`` setting the clean-to-noise power ratio to ``snr_db``, scaled
    down (never up) so the peak stays within [-1, 1]. Tensors ``(..., samples)``; the noise is cut or
    zero-padded to the clean clip's length."""
    n = clean.shape[-1]
    noise = torch.nn.functional.pad(noise[..., :n], (0, max(0, n - noise.shape[-1])))
    gain = clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt().clamp(min=1e-8) * 10 ** (-snr_db / 20)
    mix = clean + gain * noise
    return mix / mix.abs().max().clamp(min=1.0)


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
        out.append((mix_at_snr(clip, noises[k], snr), {"noise": k, "snr_db": snr}))
    return out


__all__ = ["corpus_noises", "mix_at_snr", "noisy_versions"]
