"""Aten operations per forward + backward of each loss, earshot vs auraloss's MR-STFT, on the CPU.

    python benchmarks/loss_ops.py                       # mrstft, mrmel, msspec and the peer
    python benchmarks/loss_ops.py --cases mrstft jnd --top 8

On CUDA the eager spectral losses are bound by the host issuing kernels, not by the GPU: on one
H200 (session of 2026-12-04) their forward + backward times were about 20 us per aten operation
counted here, whatever the batch. The count does not depend on the batch size or the device, so
it can be measured and cut on a CPU; ``vs aura`` is auraloss's count / this case's (> 1: fewer
operations than the peer). Not a test: nothing here asserts a count.
"""

from __future__ import annotations

import argparse
import collections

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class CountOps(TorchDispatchMode):
    """Counts every aten operation dispatched inside the ``with`` block, by name."""

    def __init__(self):
        super().__init__()
        self.counts: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def count(loss, x: torch.Tensor, y: torch.Tensor) -> collections.Counter:
    """Operations of one forward + backward of ``loss(x, y)`` (after one warm-up call)."""
    loss(x.clone().requires_grad_(), y).backward()
    with CountOps() as ops:
        loss(x.clone().requires_grad_(), y).backward()
    return ops.counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", default=["mrstft", "mrmel", "msspec"], help="earshot loss names")
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--top", type=int, default=0, help="also list the N most frequent operations per case")
    args = p.parse_args()
    import auraloss

    from earshot.losses import build_loss

    x, y = torch.randn(4, 1, args.rate), torch.randn(4, 1, args.rate)
    peer = count(auraloss.freq.MultiResolutionSTFTLoss(), x, y)
    rows = [("auraloss MR-STFT (peer)", peer)] + [(c, count(build_loss(c, sample_rate=args.rate), x, y)) for c in args.cases]
    base = sum(peer.values())
    print(f"{'case':28s} {'ops':>6s} {'vs aura':>8s}")
    for name, ops in rows:
        total = sum(ops.values())
        print(f"{name:28s} {total:6d} {base / total:8.2f}" + (f"   {ops.most_common(args.top)}" if args.top else ""))


if __name__ == "__main__":
    main()
