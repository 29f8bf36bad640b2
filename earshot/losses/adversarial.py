"""Adversarial losses: hinge (SoundStream, MelGAN) or least-squares GAN, and feature matching.

They take the outputs of discriminators (:class:`earshot.models.discriminators.DiscriminatorOutput`,
or lists of them, one per discriminator/scale). Each discriminator's logits are averaged over
their non-batch axes, then over discriminators, so ``reduction="none"`` gives one value per
batch item. SoundStream (Zeghidour et al. 2021, Eq. 1-3):

- discriminator: ``mean_k [ max(0, 1 - D_k(x)) + max(0, 1 + D_k(G(x))) ]``
- generator:     ``mean_k max(0, 1 - D_k(G(x)))``
- features:      ``mean_{k,l} mean |D_k^l(x) - D_k^l(G(x))|`` (the real features detached)

LSGAN (Mao et al. 2017): discriminator ``(D(x) - 1)^2 + D(G(x))^2``, generator ``(D(G(x)) - 1)^2``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_reduction, reduce

KINDS = ("hinge", "lsgan")


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _per_item(x: torch.Tensor) -> torch.Tensor:
    """Mean over every axis but the batch: ``(B, ...)`` -> ``(B,)``."""
    return x.reshape(x.shape[0], -1).mean(dim=1)


def _mean_over(terms: list[torch.Tensor]) -> torch.Tensor:
    if not terms:
        raise ShapeError("no discriminator outputs given")
    return torch.stack(terms).mean(dim=0)


class AdversarialLoss(nn.Module):
    """Generator and discriminator GAN losses on discriminator outputs.

    Args:
        kind: ``"hinge"`` (SoundStream) or ``"lsgan"``.
        reduction: ``"mean" | "sum" | "none"`` over the batch (``"none"``: ``(B,)``).

    ``forward(fake)`` is the generator loss; :meth:`discriminator` the discriminator's.
    """

    def __init__(self, kind: str = "hinge", *, reduction: str = "mean"):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind, self.reduction = kind, check_reduction(reduction)

    def forward(self, fake) -> torch.Tensor:
        """Generator loss from the discriminators' outputs on generated audio."""
        terms = []
        for out in _as_list(fake):
            logits = out.logits
            terms.append(_per_item(F.relu(1 - logits) if self.kind == "hinge" else (logits - 1) ** 2))
        return reduce(_mean_over(terms), self.reduction)

    def discriminator(self, real, fake) -> torch.Tensor:
        """Discriminator loss from its outputs on real and on (detached) generated audio."""
        real, fake = _as_list(real), _as_list(fake)
        if len(real) != len(fake):
            raise ShapeError(f"{len(real)} real outputs but {len(fake)} fake outputs")
        terms = []
        for r, f in zip(real, fake):
            if self.kind == "hinge":
                terms.append(_per_item(F.relu(1 - r.logits)) + _per_item(F.relu(1 + f.logits)))
            else:
                terms.append(_per_item((r.logits - 1) ** 2) + _per_item(f.logits ** 2))
        return reduce(_mean_over(terms), self.reduction)


class FeatureMatchingLoss(nn.Module):
    """L1 distance between discriminator features of generated and real audio.

    ``forward(fake, real)``: discriminator outputs (or lists of them); the real features are
    detached. Mean absolute difference per layer, averaged over layers and discriminators.

    Args:
        reduction: ``"mean" | "sum" | "none"`` over the batch.
    """

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)

    def forward(self, fake, real) -> torch.Tensor:
        fake, real = _as_list(fake), _as_list(real)
        if len(real) != len(fake):
            raise ShapeError(f"{len(fake)} fake outputs but {len(real)} real outputs")
        terms = []
        for f, r in zip(fake, real):
            if len(f.features) != len(r.features):
                raise ShapeError("fake and real outputs have different numbers of feature maps")
            for ff, rf in zip(f.features, r.features):
                if ff.shape != rf.shape:
                    raise ShapeError(f"feature shapes differ: {tuple(ff.shape)} vs {tuple(rf.shape)}")
                terms.append(_per_item((ff - rf.detach()).abs()))
        return reduce(_mean_over(terms), self.reduction)
