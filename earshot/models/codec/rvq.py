"""Residual vector quantization with EMA codebooks (SoundStream Sec. III-C, Algorithm 1).

Each stage quantizes the residual the previous stages left. Codebooks are learned by
exponential moving averages (no codebook loss), initialised by k-means on the first training
batch, and a code whose EMA usage falls below ``dead_threshold`` is replaced by a random frame
of the current batch. The encoder gets gradients by the straight-through estimator and a
commitment loss. Quantizer dropout draws, per example, how many stages are active, so one
model serves every bitrate.

EMA bookkeeping keeps only ``embed`` and ``cluster_size`` (the running sum of assigned
vectors is ``embed * cluster_size``), so an unused code keeps its value exactly:
``N' = decay N + (1 - decay) n``, ``m' = decay (embed N) + (1 - decay) s``, ``embed = m' / N'``.

Codebooks learn from every example's residual at every stage (quantizer dropout only decides
which stages reach the output and the commitment loss), so each stage sees the whole batch.

Shapes: embeddings ``(B, dim, N)`` (N frames); codes ``(B, n_q, N)`` int64, ``-1`` = stage unused.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from earshot.errors import ConfigError, ShapeError


@dataclass
class QuantizerOutput:
    """What :class:`ResidualVectorQuantizer` returns.

    Attributes:
        quantized: ``(B, dim, N)`` sum of the active stages (straight-through in training).
        codes: ``(B, n_q, N)`` int64 indices; ``-1`` where a stage is inactive for that example.
        commit_loss: scalar commitment loss, mean over active stages.
        n_quantizers: ``(B,)`` int64, active stages per example.
    """

    quantized: torch.Tensor
    codes: torch.Tensor
    commit_loss: torch.Tensor
    n_quantizers: torch.Tensor


class VectorQuantizer(nn.Module):
    """One EMA codebook of ``codebook_size`` vectors of size ``dim``.

    Args:
        dim: vector size.
        codebook_size: number of codes (1024 = 10 bits in the paper).
        decay: EMA decay of codebook statistics.
        eps: floor of the EMA count in the division (stability epsilon).
        dead_threshold: a code whose EMA count (frames per batch) is below this is replaced.
        kmeans_iters: Lloyd iterations of the first-batch k-means initialisation.
    """

    def __init__(self, dim: int, codebook_size: int = 1024, *, decay: float = 0.99, eps: float = 1e-5,
                 dead_threshold: float = 0.01, kmeans_iters: int = 10):
        super().__init__()
        self.dim, self.codebook_size = dim, codebook_size
        self.decay, self.eps = decay, eps
        self.dead_threshold, self.kmeans_iters = dead_threshold, kmeans_iters
        self.register_buffer("embed", torch.randn(codebook_size, dim))
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("initialized", torch.tensor(False))

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``x`` ``(M, dim)`` -> ``(M,)``."""
        embed = self.embed  # argmin of |e|^2 - 2 x.e (|x|^2 is the same for every code)
        return torch.addmm(embed.pow(2).sum(1)[None], x, embed.t(), alpha=-2).argmin(dim=1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``(...)`` -> vectors ``(..., dim)``."""
        return F.embedding(codes, self.embed)

    @torch.no_grad()
    def init_kmeans(self, x: torch.Tensor) -> None:
        """Set the codebook to k-means centres of the frames ``x`` ``(M, dim)``.

        Seeds by k-means++ when there are more frames than codes; otherwise every frame is a
        centre and the remaining codes repeat random frames (dead-code replacement refreshes them).
        """
        centres = self._seed_centres(x)
        counts = torch.zeros(self.codebook_size, device=x.device)
        for _ in range(max(self.kmeans_iters, 1)):
            self.embed.copy_(centres)
            codes = self.nearest(x)
            counts = torch.bincount(codes, minlength=self.codebook_size).to(x.dtype)
            sums = torch.zeros_like(centres).index_add_(0, codes, x)
            used = counts > 0
            centres[used] = sums[used] / counts[used, None]
        self.embed.copy_(centres)
        self.cluster_size.copy_(counts)
        self.initialized.fill_(True)

    def _seed_centres(self, x: torch.Tensor) -> torch.Tensor:
        k, m = self.codebook_size, x.shape[0]
        if m <= k:
            extra = torch.randint(0, m, (k - m,), device=x.device)
            return torch.cat([x, x[extra]]).clone()
        centres = torch.empty(k, x.shape[1], dtype=x.dtype, device=x.device)
        centres[0] = x[torch.randint(0, m, (1,))]
        nearest = (x - centres[0]).pow(2).sum(1)
        for i in range(1, k):
            pick = torch.multinomial(nearest + 1e-12, 1) if nearest.sum() > 0 else torch.randint(0, m, (1,))
            centres[i] = x[pick]
            nearest = torch.minimum(nearest, (x - centres[i]).pow(2).sum(1))
        return centres

    @torch.no_grad()
    def replace_dead(self, x: torch.Tensor) -> int:
        """Replace codes used less than ``dead_threshold`` by random frames of ``x``; return how many."""
        dead = self.cluster_size < self.dead_threshold
        n_dead = int(dead.sum())
        if n_dead:
            pick = torch.randint(0, x.shape[0], (n_dead,), device=x.device)
            self.embed[dead] = x[pick]
            self.cluster_size[dead] = self.dead_threshold
        return n_dead

    @torch.no_grad()
    def ema_update(self, x: torch.Tensor, codes: torch.Tensor) -> None:
        """One EMA step with frames ``x`` ``(M, dim)`` assigned to ``codes`` ``(M,)``."""
        counts = torch.bincount(codes, minlength=self.codebook_size).to(x.dtype)
        sums = torch.zeros_like(self.embed).index_add_(0, codes, x)
        running_sum = self.embed * self.cluster_size[:, None]
        new_size = self.decay * self.cluster_size + (1 - self.decay) * counts
        new_sum = self.decay * running_sum + (1 - self.decay) * sums
        self.embed.copy_(new_sum / new_size.clamp(min=self.eps)[:, None])
        self.cluster_size.copy_(new_size)

    def quantize(self, x: torch.Tensor, learn: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``x`` ``(M, dim)`` -> (codes ``(M,)``, vectors ``(M, dim)``); ``learn`` updates the codebook."""
        if learn:
            if not bool(self.initialized):
                self.init_kmeans(x.detach())
            self.replace_dead(x.detach())
        codes = self.nearest(x.detach())
        vectors = self.lookup(codes)
        if learn:
            self.ema_update(x.detach(), codes)
        return codes, vectors


class ResidualVectorQuantizer(nn.Module):
    """``n_quantizers`` stages of :class:`VectorQuantizer` on successive residuals.

    Args:
        dim: embedding size.
        n_quantizers: maximum number of stages.
        codebook_size: codes per stage.
        dropout: probability that an example in a training batch gets a random number of stages
            (uniform in ``[min_quantizers, n_quantizers]``) instead of all of them (1.0 = paper).
        min_quantizers: fewest stages quantizer dropout draws.
        **vq_kwargs: passed to every :class:`VectorQuantizer` (decay, eps, dead_threshold, ...).
    """

    def __init__(self, dim: int, n_quantizers: int = 24, codebook_size: int = 1024, *,
                 dropout: float = 1.0, min_quantizers: int = 1, **vq_kwargs):
        super().__init__()
        if not 1 <= min_quantizers <= n_quantizers:
            raise ConfigError(f"min_quantizers must be in [1, {n_quantizers}], got {min_quantizers}")
        self.dim, self.n_quantizers, self.codebook_size = dim, n_quantizers, codebook_size
        self.dropout, self.min_quantizers = dropout, min_quantizers
        self.layers = nn.ModuleList(VectorQuantizer(dim, codebook_size, **vq_kwargs) for _ in range(n_quantizers))

    def sample_n_quantizers(self, batch: int, device=None) -> torch.Tensor:
        """Quantizer dropout: ``(batch,)`` active stages, drawn from torch's global generator."""
        n = torch.full((batch,), self.n_quantizers, dtype=torch.long)
        drop = torch.rand(batch) < self.dropout
        drawn = torch.randint(self.min_quantizers, self.n_quantizers + 1, (batch,))
        return torch.where(drop, drawn, n).to(device)

    def _active(self, x: torch.Tensor, n_quantizers) -> torch.Tensor:
        batch = x.shape[0]
        if n_quantizers is None:
            if self.training:
                return self.sample_n_quantizers(batch, x.device)
            n_quantizers = self.n_quantizers
        n = torch.as_tensor(n_quantizers, dtype=torch.long, device=x.device).expand(batch)
        if (n < 1).any() or (n > self.n_quantizers).any():
            raise ConfigError(f"n_quantizers must be in [1, {self.n_quantizers}], got {n_quantizers}")
        return n

    def forward(self, x: torch.Tensor, n_quantizers=None, *, learn: bool | None = None) -> QuantizerOutput:
        """Quantize embeddings ``x`` ``(B, dim, N)``.

        ``n_quantizers``: int or ``(B,)`` tensor of active stages; ``None`` = quantizer dropout
        in training, all stages in eval. Codebooks learn (k-means, EMA, dead codes) when
        ``learn`` (default: in training mode).
        """
        learn = self.training if learn is None else learn
        if x.dim() != 3 or x.shape[1] != self.dim:
            raise ShapeError(f"embeddings must be (batch, {self.dim}, frames), got {tuple(x.shape)}")
        active = self._active(x, n_quantizers)
        batch, _, frames = x.shape
        flat = x.transpose(1, 2).reshape(-1, self.dim)
        residual = flat.detach()
        total = torch.zeros_like(residual)
        codes, commits = [], []
        for i in range(int(active.max())):
            mask = (active > i).repeat_interleave(frames)
            code, vec = self.layers[i].quantize(residual, learn=learn)
            total = total + vec * mask[:, None].to(vec.dtype)
            err = (flat - (flat.detach() - residual) - vec.detach()).pow(2).mean(1)
            commits.append((err * mask).sum() / mask.sum().clamp(min=1))
            codes.append(torch.where(mask, code, torch.full_like(code, -1)))
            residual = residual - vec
        quantized = flat + (total - flat).detach() if self.training else total
        return QuantizerOutput(
            quantized=quantized.reshape(batch, frames, self.dim).transpose(1, 2),
            codes=torch.stack(codes, 1).reshape(batch, frames, -1).transpose(1, 2),
            commit_loss=torch.stack(commits).mean(),
            n_quantizers=active,
        )

    @torch.no_grad()
    def encode(self, x: torch.Tensor, n_quantizers: int) -> torch.Tensor:
        """Inference: embeddings ``(B, dim, N)`` -> codes ``(B, n_quantizers, N)``; never learns.

        The same codes as ``forward(x, n_quantizers, learn=False).codes``, with less work.
        """
        if x.dim() != 3 or x.shape[1] != self.dim:
            raise ShapeError(f"embeddings must be (batch, {self.dim}, frames), got {tuple(x.shape)}")
        if not 1 <= n_quantizers <= self.n_quantizers:
            raise ConfigError(f"n_quantizers must be in [1, {self.n_quantizers}], got {n_quantizers}")
        batch, _, frames = x.shape
        residual = x.transpose(1, 2).reshape(-1, self.dim)
        codes = []
        for layer in self.layers[:n_quantizers]:
            code = layer.nearest(residual)
            residual = residual - layer.lookup(code)
            codes.append(code)
        return torch.stack(codes, 1).reshape(batch, frames, -1).transpose(1, 2)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, n_q, N)`` (``-1`` = unused stage) -> embeddings ``(B, dim, N)``.

        In eval mode ``decode(forward(x).codes)`` equals ``forward(x).quantized`` exactly.
        """
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= self.n_quantizers:
            raise ShapeError(f"codes must be (batch, 1..{self.n_quantizers}, frames), got {tuple(codes.shape)}")
        batch, n_q, frames = codes.shape
        flat = codes.transpose(1, 2).reshape(-1, n_q)
        total = torch.zeros(flat.shape[0], self.dim, device=codes.device, dtype=self.layers[0].embed.dtype)
        for i in range(n_q):
            mask = flat[:, i] >= 0
            vec = self.layers[i].lookup(flat[:, i].clamp(min=0))
            total = total + vec * mask[:, None].to(vec.dtype)
        return total.reshape(batch, frames, self.dim).transpose(1, 2)
