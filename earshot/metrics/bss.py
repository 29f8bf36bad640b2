"""BSS-eval version 4 (SiSEC 2018; Liutkus, Stöter & Ito, LVA/ICA 2018), as museval computes it.

Semantics (museval's ``evaluate(..., mode="v4")``, the "images" variant):

* the distortion filters (``filter_length`` taps, 512 by default) are fitted once on the whole
  signals by least squares, multichannel-to-multichannel, and used in every frame;
* metrics are computed on frames of ``window`` seconds every ``hop`` seconds (1 s and 1 s, as
  museval's 44100-sample defaults at 44.1 kHz); trailing samples that do not fill a frame are
  not scored, as in museval;
* a frame where any reference or any estimate source is digital silence scores NaN;
* the score of an item is the median over frames, ignoring NaN frames (museval's aggregate);
* in the images variant ``SDR = 10 log10(|s|^2 / |s_hat - s|^2)`` with ``s`` the unfiltered
  reference: the v4 SDR of a frame is its plain SNR (gain or filter errors count as
  distortion), ``ISR`` measures the spatial/filtering error, ``SIR`` and ``SAR`` use the
  projections on delayed references (``SIR`` and ``SAR`` agree with BSS-eval v3 /
  ``fast_bss_eval`` for single-channel sources when the window is the whole signal).

With a single source (a reference/estimate pair) there is no interference: SIR is +inf.
:func:`bss_eval`, :func:`sar` and :func:`isr` run in float64 on the input's device and are not
differentiable; :func:`sdr` (no filters needed) is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from earshot.errors import ConfigError, ShapeError
from earshot.metrics.checks import check_inputs, warn_nan_items
from earshot.validate import check_finite, check_floating, check_sample_rate

SILENT_FRAMES = "every frame has a silent reference or estimate"

METRIC_NAMES = ("sdr", "isr", "sir", "sar")


@dataclass
class BSSEvalResult:
    """BSS-eval v4 scores (in the estimates' dtype): each of ``sdr, isr, sir, sar`` is
    ``(batch, sources)`` in dB, the median over frames; ``frames`` is ``(batch, 4, sources, n_frames)`` in the order
    ``METRIC_NAMES`` (NaN for silent frames)."""

    sdr: torch.Tensor
    isr: torch.Tensor
    sir: torch.Tensor
    sar: torch.Tensor
    frames: torch.Tensor


def bss_eval(estimates: torch.Tensor, references: torch.Tensor, sample_rate: int, *,
             window: float | None = 1.0, hop: float | None = 1.0,
             filter_length: int = 512) -> BSSEvalResult:
    """BSS-eval v4 SDR, ISR, SIR and SAR of estimated sources against their references.

    Args:
        estimates, references: ``(batch, sources, channels, samples)`` at ``sample_rate``;
            estimate ``j`` is scored against reference ``j`` (no permutation search).
        window, hop: frame length and hop in seconds; ``window=None`` scores the whole signal
            as one frame.
        filter_length: taps of the distortion filters (512 in BSS-eval).

    Returns:
        :class:`BSSEvalResult`. Higher is better for every metric.
    """
    if estimates.dim() != 4 or estimates.shape != references.shape:
        raise ShapeError("estimates and references must both be (batch, sources, channels, samples) "
                         f"of one shape, got {tuple(estimates.shape)} and {tuple(references.shape)}")
    for name, x in (("estimates", estimates), ("references", references)):
        check_floating(x, name)
        check_finite(x, name)
    win, hop_n = _frame_sizes(estimates.shape[-1], sample_rate, window, hop)
    if filter_length < 1:
        raise ConfigError(f"filter_length must be >= 1, got {filter_length}")
    with torch.no_grad():
        frames = torch.stack([
            _bss_item(e.double(), r.double(), win, hop_n, filter_length)
            for e, r in zip(estimates, references)
        ])
    frames = frames.to(estimates.dtype if estimates.is_floating_point() else torch.float32)
    med = nanmedian(frames, dim=-1)
    return BSSEvalResult(*(med[:, i] for i in range(4)), frames=frames)


def sdr(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
        window: float | None = 1.0, hop: float | None = 1.0) -> torch.Tensor:
    """BSS-eval v4 SDR of one source: the median over frames of the frame SNR, in dB.

    Args:
        estimate, reference: ``(batch, channels, samples)`` at ``sample_rate``.
        window, hop: frames in seconds (museval's 1 s / 1 s by default; ``None``: whole signal).

    Returns:
        ``(batch,)`` SDR in dB (higher is better); NaN when every frame is silent.
        Equals :func:`bss_eval`'s ``sdr`` for a single source; needs no filter fitting.
        Differentiable (the gradient flows through the median frame(s)).
    """
    estimate, reference = check_inputs(estimate, reference)
    win, hop_n = _frame_sizes(estimate.shape[-1], sample_rate, window, hop)
    est = _frames(estimate.double(), win, hop_n)  # (batch, channels, n, win)
    ref = _frames(reference.double(), win, hop_n)
    num = ref.square().sum(dim=(1, 3))
    den = (est - ref).square().sum(dim=(1, 3))
    values = _safe_db(num, den)
    silent = _silent(ref, channel_dim=1) | _silent(est, channel_dim=1)
    values = values.masked_fill(silent, math.nan)
    return warn_nan_items("SDR", nanmedian(values, dim=-1).to(estimate.dtype), SILENT_FRAMES)


def sar(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
        window: float | None = 1.0, hop: float | None = 1.0, filter_length: int = 512) -> torch.Tensor:
    """BSS-eval v4 SAR of one source (artifacts not explained by filtering the reference).

    Args:
        estimate, reference: ``(batch, channels, samples)`` at ``sample_rate``.

    Returns:
        ``(batch,)`` SAR in dB (higher is better).
    """
    estimate, reference = check_inputs(estimate, reference)
    res = bss_eval(estimate[:, None], reference[:, None], sample_rate, window=window, hop=hop,
                   filter_length=filter_length)
    return warn_nan_items("SAR", res.sar[:, 0].to(estimate.dtype), SILENT_FRAMES)


def isr(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
        window: float | None = 1.0, hop: float | None = 1.0, filter_length: int = 512) -> torch.Tensor:
    """BSS-eval v4 ISR of one source (image-to-spatial/filtering distortion), ``(batch,)`` dB."""
    estimate, reference = check_inputs(estimate, reference)
    res = bss_eval(estimate[:, None], reference[:, None], sample_rate, window=window, hop=hop,
                   filter_length=filter_length)
    return warn_nan_items("ISR", res.isr[:, 0].to(estimate.dtype), SILENT_FRAMES)


def nanmedian(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Median along ``dim`` ignoring NaN, averaging the two middle values for an even count
    (numpy/pandas convention; ``torch.nanmedian`` takes the lower one). All-NaN gives NaN."""
    x = x.movedim(dim, -1)
    valid = (~torch.isnan(x)).sum(-1, keepdim=True)
    # NaN -> +inf sorts them last; the first `valid` entries are then the real values
    ordered = torch.sort(torch.where(torch.isnan(x), math.inf, x), dim=-1).values
    last = (valid - 1).clamp(min=0)
    med = (ordered.gather(-1, last // 2) + ordered.gather(-1, (last + 1) // 2)) / 2
    return med.squeeze(-1).masked_fill(valid.squeeze(-1) == 0, math.nan)


# --------------------------------------------------------------------------- internals


def _frame_sizes(length: int, sample_rate: int, window: float | None, hop: float | None) -> tuple[int, int]:
    sample_rate = check_sample_rate(sample_rate)
    if window is None:
        return length, length
    win = int(round(window * sample_rate))
    hop_n = int(round((hop if hop is not None else window) * sample_rate))
    if win < 1 or hop_n < 1:
        raise ConfigError(f"window and hop must be positive, got window={window}, hop={hop}")
    return min(win, length), hop_n


def _frames(x: torch.Tensor, win: int, hop: int) -> torch.Tensor:
    """``(..., samples)`` -> ``(..., n_frames, win)`` with museval's framing (full frames only)."""
    if win >= x.shape[-1]:
        return x[..., None, :]
    return x.unfold(-1, win, hop)


def _silent(frames: torch.Tensor, channel_dim: int) -> torch.Tensor:
    """museval's test: a source is silent when its channel sum is zero at every sample."""
    return (frames.sum(dim=channel_dim) == 0).all(dim=-1)


def _safe_db(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den == 0, math.inf, 10 * torch.log10(num / den.clamp_min(1e-300)))


def _bss_item(est: torch.Tensor, ref: torch.Tensor, win: int, hop: int, flen: int) -> torch.Tensor:
    """One item: ``(sources, channels, samples)`` float64 -> ``(4, sources, n_frames)``."""
    n_src, n_ch, length = ref.shape
    h_all, h_own = _projection_filters(est, ref, flen)
    ref_f, est_f = _frames(ref, win, hop), _frames(est, win, hop)  # (S, C, N, W)
    n_fft = 1 << (win + flen - 2).bit_length()
    ref_spec = torch.fft.rfft(ref_f, n_fft)
    proj_all = torch.fft.irfft(torch.einsum("kanf,jkadf->jdnf", ref_spec, torch.fft.rfft(h_all, n_fft)), n_fft)
    proj_own = torch.fft.irfft(torch.einsum("janf,jadf->jdnf", ref_spec, torch.fft.rfft(h_own, n_fft)), n_fft)
    size = win + flen - 1
    proj_all, proj_own = proj_all[..., :size], proj_own[..., :size]
    s_true = torch.nn.functional.pad(ref_f, (0, flen - 1))
    s_est = torch.nn.functional.pad(est_f, (0, flen - 1))
    e_spat, e_interf, e_artif = proj_own - s_true, proj_all - proj_own, s_est - proj_all

    def energy(x):
        return x.square().sum(dim=(1, 3))  # (S, N)

    out = torch.stack([
        _safe_db(energy(s_true), energy(s_est - s_true)),
        _safe_db(energy(s_true), energy(e_spat)),
        _safe_db(energy(proj_own), energy(e_interf)),
        _safe_db(energy(proj_all), energy(e_artif)),
    ])
    silent = _silent(ref_f, channel_dim=1).any(0) | _silent(est_f, channel_dim=1).any(0)  # (N,)
    return out.masked_fill(silent[None, None, :], math.nan)


def _projection_filters(est: torch.Tensor, ref: torch.Tensor, flen: int):
    """Least-squares filters projecting each estimate on delayed references (lags 0..flen-1).

    Returns ``h_all`` ``(S_est, S_ref, C_in, C_out, flen)`` (all references) and ``h_own``
    ``(S, C_in, C_out, flen)`` (each estimate on its own reference only).
    """
    n_src, n_ch, length = ref.shape
    n_fft = 1 << (length + flen - 2).bit_length()
    ref_spec = torch.fft.rfft(ref, n_fft).reshape(n_src * n_ch, -1)
    est_spec = torch.fft.rfft(est, n_fft).reshape(n_src * n_ch, -1)
    k = n_src * n_ch
    # correlations one pair at a time (memory ~ one signal, even for full-length tracks):
    # corr[i, j] = r_ij(m) = sum_t ref_i(t) ref_j(t + m) at lags 0..flen-1 then -(flen-1)..-1;
    # cross[i, e, a] = sum_t ref_i(t - a) est_e(t)
    lag_idx = torch.cat([torch.arange(flen), torch.arange(n_fft - flen + 1, n_fft)]).to(ref.device)
    corr = ref.new_zeros(k, k, 2 * flen - 1)
    cross = ref.new_zeros(k, k, flen)
    for i in range(k):
        for j in range(k):
            corr[i, j] = torch.fft.irfft(ref_spec[i].conj() * ref_spec[j], n_fft)[lag_idx]
            cross[i, j] = torch.fft.irfft(ref_spec[i].conj() * est_spec[j], n_fft)[:flen]
    lags = torch.arange(flen, device=ref.device)
    toeplitz_idx = (lags[:, None] - lags[None, :]) % (2 * flen - 1)  # lag a - b
    # G[(i, a), (j, b)] = sum_t ref_i(t - a) ref_j(t - b) = r_ij(a - b)
    gram = corr[:, :, toeplitz_idx].permute(0, 2, 1, 3).reshape(k * flen, k * flen)
    gram = gram + torch.finfo(torch.float64).eps * torch.eye(k * flen, dtype=gram.dtype, device=gram.device)
    rhs = cross.permute(0, 2, 1).reshape(k * flen, k)  # D[(i, a), (s_est, c)]
    h_all = torch.linalg.solve(gram, rhs).reshape(n_src, n_ch, flen, n_src, n_ch)
    h_all = h_all.permute(3, 0, 1, 4, 2)  # (S_est, S_ref, C_in, C_out, flen)
    own = []
    blocks = gram.reshape(n_src, n_ch * flen, n_src, n_ch * flen)
    rhs4 = rhs.reshape(n_src, n_ch * flen, n_src, n_ch)
    for j in range(n_src):
        sol = torch.linalg.solve(blocks[j, :, j], rhs4[j, :, j]).reshape(n_ch, flen, n_ch)
        own.append(sol.permute(0, 2, 1))
    return h_all, torch.stack(own)
