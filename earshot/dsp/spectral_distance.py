"""A fused, memory-light distance between the (mel) magnitude spectrograms of two signals.

This is the engine under every spectral loss. One autograd node computes, for a pair of
signals, ``STFT -> |.| (floored) -> optional mel projection -> distance terms`` and writes its
own backward pass, so that

- input and target share one framing and one batched FFT call;
- no intermediate (power, sqrt, log, phase) is kept alive for autograd: the node saves the
  complex spectrum and the magnitudes only, and the backward pass is a handful of fused
  element-wise passes, one inverse FFT and one overlap-add;
- the inverse FFT of the backward pass runs only for the signals that need a gradient.

Distance terms, each per item (an item is ``rows // items`` consecutive rows, e.g. the
channels of one batch element), for spectrograms ``S = |X|`` or ``S = fb @ |X|``:

- ``sc``:     spectral convergence ``||S_y - S_x||_F / ||S_y||_F``;
- ``log_l1``: mean ``|log S_x - log S_y|`` (natural log, ``S`` floored at ``log_floor``);
- ``lin_l1``: mean ``|S_x - S_y|``;
- ``log_mse`` / ``lin_mse``: mean squared difference of log / linear spectrograms;
- ``log_l2``: mean over frames of the L2 norm over frequency of ``log S_x - log S_y``
  (``sqrt(sum + l2_eps) - sqrt(l2_eps)``: zero for equal inputs, finite gradient).

Precision, compile, higher derivatives: bf16 and fp16 inputs are computed in float32 (float64
stays float64), with autocast off, and the result has the computing dtype. Under
``torch.compile`` the same distance is built from plain differentiable ops (:func:`_eager_distance`),
which the compiler fuses; the hand-written backward pass is for eager mode. A backward pass
run with ``create_graph=True`` (gradient penalties, ``gradgradcheck``) recomputes the
gradient with plain autograd, so second derivatives are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from earshot.dsp.stft import center_pad, pad_window
from earshot.errors import ConfigError


@dataclass(frozen=True)
class DistanceTerms:
    """Weights of the distance terms and their stability epsilons (see module docstring)."""

    sc: float = 0.0
    log_l1: float = 0.0
    lin_l1: float = 0.0
    log_l2: float = 0.0
    log_mse: float = 0.0
    lin_mse: float = 0.0
    power_eps: float = 1e-8   # |X|^2 floor before the square root
    log_floor: float = 0.0    # floor on S before the log (after the mel projection)
    sc_eps: float = 1e-12     # floor on ||S_y|| in the spectral convergence
    l2_eps: float = 1e-8      # added under the square root of the per-frame L2 norm

    def __post_init__(self):
        if min(self.sc, self.log_l1, self.lin_l1, self.log_l2, self.log_mse, self.lin_mse) < 0:
            raise ConfigError("distance term weights must be >= 0")
        if min(self.power_eps, self.log_floor, self.sc_eps, self.l2_eps) < 0:
            raise ConfigError("epsilons must be >= 0")
        if self.uses_log and self.power_eps == 0 and self.log_floor == 0:
            raise ConfigError("log terms need power_eps > 0 or log_floor > 0 (log of zero)")

    @property
    def uses_log(self) -> bool:
        return bool(self.log_l1 or self.log_l2 or self.log_mse)


def _spectrum(sig: torch.Tensor, window: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Frames of padded ``sig`` (rows, L) times the ``n_fft``-long ``window`` -> rfft ``(rows, frames, F)``."""
    frames = 1 + (sig.shape[-1] - n_fft) // hop
    return torch.fft.rfft(sig.unfold(-1, n_fft, hop)[:, :frames] * window)


def _overlap_add(grad_spec: torch.Tensor, half_window: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Adjoint of :func:`_spectrum`: complex grad ``(rows, frames, F)`` -> grad of the padded signal.

    ``grad_spec`` is modified in place. The adjoint of a real FFT is ``Re(sum_k G_k e^{+i..})``:
    an inverse real FFT (without the 1/n) of ``G`` with all bins but DC and Nyquist halved;
    the halving is folded into ``half_window`` (= window / 2) by doubling DC and Nyquist instead.
    """
    rows, frames, _ = grad_spec.shape
    grad_spec[..., 0] *= 2.0
    if n_fft % 2 == 0:
        grad_spec[..., -1] *= 2.0
    seg = torch.fft.irfft(grad_spec, n=n_fft, norm="forward").mul_(half_window)
    return torch.ops.aten.unfold_backward(seg, [rows, (frames - 1) * hop + n_fft], 1, n_fft, hop)


def _per_item(t: torch.Tensor, items: int) -> torch.Tensor:
    return t.reshape(items, -1)


def _magnitude(spec: torch.Tensor, power_eps: float) -> torch.Tensor:
    """``sqrt(max(re^2 + im^2, power_eps))`` in three passes (cheaper than ``abs`` of a complex tensor)."""
    re, im = spec.real, spec.imag
    mag = (re * re).addcmul_(im, im)
    if power_eps > 0:
        mag.clamp_min_(power_eps)
    return mag.sqrt_()


def _distance(sx: torch.Tensor, sy: torch.Tensor, terms: DistanceTerms, items: int):
    """Per-item distance ``(items,)`` and the small tensors its gradient needs."""
    loss = sx.new_zeros(items)
    extra = {}
    if terms.sc or terms.lin_l1 or terms.lin_mse:
        diff = _per_item(sx - sy, items)
        if terms.sc:
            nd = torch.linalg.vector_norm(diff, dim=1)
            ny_raw = torch.linalg.vector_norm(_per_item(sy, items), dim=1)
            ny = ny_raw.clamp_min(terms.sc_eps)
            loss += terms.sc * nd / ny
            extra.update(nd=nd, ny=ny, ny_clamped=ny_raw < terms.sc_eps)
        if terms.lin_l1:
            loss += terms.lin_l1 / diff.shape[1] * torch.linalg.vector_norm(diff, ord=1, dim=1)
        if terms.lin_mse:
            loss += terms.lin_mse * diff.square().mean(1)
    if terms.uses_log:
        f = terms.log_floor
        e = torch.log(sx.clamp_min(f) / sy.clamp_min(f)) if f > 0 else torch.log(sx / sy)
        if terms.log_l1:
            ei = _per_item(e, items)
            loss += terms.log_l1 / ei.shape[1] * torch.linalg.vector_norm(ei, ord=1, dim=1)
        if terms.log_mse:
            loss += terms.log_mse * _per_item(e, items).square().mean(1)
            extra.update(e=e)
        if terms.log_l2:
            r = torch.sqrt(e.square().sum(-1, keepdim=True) + terms.l2_eps)
            loss += terms.log_l2 * _per_item(r - r.new_full((), terms.l2_eps).sqrt(), items).mean(1)
            extra.update(e=e, r=r)
    return loss, extra


def _floor(power_eps: float, dtype: torch.dtype) -> float:
    """``sqrt(power_eps)`` rounded as ``dtype`` computes it (the magnitude floor), as a Python float."""
    kind = np.float64 if dtype == torch.float64 else np.float32
    return float(np.sqrt(kind(power_eps)))


def _keeps_spectrum(x: torch.Tensor) -> bool:
    """Whether the forward pass saves x's complex spectrum for the backward pass (on CUDA)."""
    return x.is_cuda


class _SpectralDistance(torch.autograd.Function):
    """Saves the padded signals and the magnitudes (on CUDA also the complex spectrum of ``x``);
    the backward pass recomputes the spectrum of the signals that need a gradient (one extra FFT
    each) unless it was saved. With ``create_graph=True`` it differentiates :func:`_eager_distance`
    instead, so that second derivatives are exact."""

    @staticmethod
    def forward(ctx, xp, yp, window, fb, n_fft, hop, terms, items):
        rows = xp.shape[0]
        spec = _spectrum(torch.cat([xp, yp]), window, n_fft, hop)
        mag = _magnitude(spec, terms.power_eps)
        # On CUDA an FFT costs more than memory: keep x's spectrum (a copy, so the target's half
        # of the batched spectrum is freed) instead of recomputing it in the backward pass.
        keep = spec[:rows].clone() if _keeps_spectrum(xp) else None
        del spec
        s = mag if fb is None else torch.matmul(mag, fb.t())
        loss, extra = _distance(s[:rows], s[rows:], terms, items)
        ctx.cfg = (n_fft, hop, terms, items, extra, keep)
        ctx.save_for_backward(xp, yp, window, fb, mag, s if fb is not None else None)
        return loss

    @staticmethod
    def backward(ctx, grad):
        n_fft, hop, terms, items, extra, keep = ctx.cfg
        xp, yp, window, fb, mag, s = ctx.saved_tensors
        with torch.autocast(xp.device.type, enabled=False):
            if torch.is_grad_enabled():                   # create_graph: differentiable recomputation
                return _eager_backward(ctx, grad, xp, yp, window, fb, n_fft, hop, terms, items)
            grads = _fast_backward(ctx, grad, xp, yp, window, fb, mag, s, n_fft, hop, terms, items, extra, keep)
        return grads[0], grads[1], None, None, None, None, None, None


def _fast_backward(ctx, grad, xp, yp, window, fb, mag, s, n_fft, hop, terms, items, extra, keep):
    rows = xp.shape[0]
    s = mag if s is None else s
    d_sx, d_sy = _grad_spectrogram(grad, s[:rows], s[rows:], terms, items, extra, ctx.needs_input_grad[:2])
    floor = _floor(terms.power_eps, xp.dtype)
    half_window = window * 0.5
    grads = [None, None]
    for k, (d_s, sig) in enumerate(((d_sx, xp), (d_sy, yp))):
        if d_s is None:
            continue
        m = mag[:rows] if k == 0 else mag[rows:]
        scale = (d_s if fb is None else torch.matmul(d_s, fb)).div_(m)
        scale.masked_fill_(m <= floor, 0.0)
        # complex * real promotes element by element (slow); a complex copy of scale is 6x faster
        if k == 0 and keep is not None:
            spec = keep * scale.to(keep.dtype)          # out of place: a second backward still has keep
        else:
            spec = _spectrum(sig, window, n_fft, hop)
            spec.mul_(scale.to(spec.dtype))
        g = _overlap_add(spec, half_window, n_fft, hop)
        grads[k] = torch.nn.functional.pad(g, (0, sig.shape[-1] - g.shape[-1]))
    return grads


def _eager_backward(ctx, grad, xp, yp, window, fb, n_fft, hop, terms, items):
    """Gradients of ``sum(grad * distance)`` by autograd through :func:`_eager_distance` (graph kept)."""
    want = [t for t, w in zip((xp, yp), ctx.needs_input_grad[:2]) if w]
    loss = _eager_distance(xp, yp, window, fb, n_fft, hop, terms, items)
    got = iter(torch.autograd.grad(loss, want, grad, create_graph=True))
    return tuple(next(got) if w else None for w in ctx.needs_input_grad[:2]) + (None,) * 6


def _eager_distance(xp, yp, window, fb, n_fft, hop, terms, items):
    """The same distance from plain differentiable ops (for ``torch.compile`` and higher derivatives).

    The target's spectrogram is computed without a graph when it needs no gradient.
    """
    def spectrogram(sig):
        spec = _spectrum(sig, window, n_fft, hop)
        power = torch.view_as_real(spec).square().sum(-1)          # real ops: the compiler fuses them
        mag = (power.clamp_min(terms.power_eps) if terms.power_eps > 0 else power).sqrt()
        return mag if fb is None else torch.matmul(mag, fb.t())

    sx = spectrogram(xp)
    with torch.set_grad_enabled(torch.is_grad_enabled() and yp.requires_grad):
        sy = spectrogram(yp)
    return _distance(sx, sy, terms, items)[0]


def _grad_spectrogram(grad, sx, sy, terms, items, extra, want):
    """Gradients of ``sum_b grad_b * distance_b`` w.r.t. ``S_x`` and ``S_y`` (None where not wanted).

    Terms odd in ``S_x - S_y`` share one buffer (``odd``); the y gradient is its negative.
    """
    shape = sx.shape
    sxi, syi = _per_item(sx, items), _per_item(sy, items)
    count = sxi.shape[1]
    tiny = torch.finfo(sx.dtype).tiny
    diff = sxi - syi
    odd = None

    def add(buf, t, c):
        return t * c[:, None] if buf is None else buf.addcmul_(t, c[:, None])

    if terms.sc:
        nd, ny = extra["nd"], extra["ny"]
        c_sc = torch.where(nd > 0, terms.sc * grad / (nd * ny).clamp_min(tiny), 0.0)
        odd = add(odd, diff, c_sc)
    sign = torch.sign(diff) if (terms.lin_l1 or terms.log_l1) else None
    if terms.lin_l1:
        odd = add(odd, sign, terms.lin_l1 * grad / count)
    if terms.lin_mse:
        odd = add(odd, diff, 2.0 * terms.lin_mse * grad / count)
    d_log = None                                  # gradient w.r.t. log S_x (= minus w.r.t. log S_y)
    if terms.log_l1:
        d_log = sign.mul_((terms.log_l1 * grad / count)[:, None])
    if terms.log_mse:
        d_log = add(d_log, _per_item(extra["e"], items), 2.0 * terms.log_mse * grad / count)
    if terms.log_l2:
        frames = extra["r"].numel() // items
        d_log = add(d_log, _per_item(extra["e"] / extra["r"], items), terms.log_l2 * grad / frames)
    d_x = d_y = None
    if want[0]:
        d_x = _with_log(odd.clone() if (want[1] and odd is not None) else odd, d_log, sxi, terms.log_floor, 1.0)
    if want[1]:
        d_y = _with_log(None if odd is None else odd.neg_(), d_log, syi, terms.log_floor, -1.0)
        if terms.sc:
            c2 = torch.where(extra["ny_clamped"], 0.0, terms.sc * grad * extra["nd"] / extra["ny"] ** 3)
            d_y.addcmul_(syi, c2[:, None], value=-1.0)
    return tuple(None if d is None else d.reshape(shape) for d in (d_x, d_y))


def _with_log(buf, d_log, s, floor, sign):
    """``buf + sign * d_log / s`` (zero where ``s`` is at or below the log floor); zeros if both are None."""
    if d_log is None:
        return torch.zeros_like(s) if buf is None else buf
    if floor > 0:
        term = torch.where(s > floor, d_log / s, 0.0)
        return term.mul_(sign) if buf is None else buf.add_(term, alpha=sign)
    if buf is None:
        return (d_log / s).mul_(sign)
    return buf.addcdiv_(d_log, s, value=sign)


def spectral_distance(x: torch.Tensor, y: torch.Tensor, *, n_fft: int, hop_length: int,
                      window: torch.Tensor, terms: DistanceTerms, items: int,
                      filterbank: torch.Tensor | None = None, pad_mode: str = "reflect") -> torch.Tensor:
    """Per-item spectral distance between ``x`` and ``y``, both ``(rows, samples)``.

    ``rows`` must be a multiple of ``items``; row groups of ``rows // items`` form one item.
    The STFT is centred (``n_fft // 2`` padding, reflection when the signal is long enough,
    zeros otherwise). ``filterbank`` ``(n_bins, n_fft // 2 + 1)`` projects magnitudes (mel).
    Returns ``(items,)`` in float32 for half-precision inputs (computed in float32 with autocast
    off), else in the inputs' dtype. Differentiable twice and more (see the module docstring).
    """
    if x.shape != y.shape or x.dim() != 2 or x.shape[0] % items:
        raise ConfigError(f"spectral_distance needs equal (rows, samples) shapes with rows % items == 0, "
                          f"got {tuple(x.shape)}, {tuple(y.shape)}, items={items}")
    dtype = torch.promote_types(x.dtype, y.dtype)
    dtype = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    with torch.autocast(x.device.type, enabled=False):
        xp, yp = center_pad(x.to(dtype), n_fft, pad_mode), center_pad(y.to(dtype), n_fft, pad_mode)
        window = pad_window(window.to(dtype), n_fft)
        if filterbank is not None:
            filterbank = filterbank.to(dtype)
        if torch.compiler.is_compiling():
            return _eager_distance(xp, yp, window, filterbank, n_fft, hop_length, terms, items)
        return _SpectralDistance.apply(xp, yp, window, filterbank, n_fft, hop_length, terms, items)
