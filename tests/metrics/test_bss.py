"""BSS-eval v4 against museval (the reference, test-only) and fast_bss_eval, plus analytic values."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import fast_bss_eval
import numpy as np
import pytest
import torch

from earshot.errors import ShapeError
from earshot.metrics import bss_eval, isr, sar, sdr, snr
from earshot.metrics.bss import nanmedian

SR = 8000


@pytest.fixture(scope="module")
def museval_metrics():
    """museval.metrics, loaded from its file: ``import museval`` pulls in stempeg, which
    insists on an ffmpeg binary that BSS-eval itself never uses."""
    spec = importlib.util.find_spec("museval")
    path = Path(spec.submodule_search_locations[0]) / "metrics.py"
    module_spec = importlib.util.spec_from_file_location("museval_metrics_only", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _sources(seed=0, n_src=2, n_ch=2, seconds=1.6):
    g = torch.Generator().manual_seed(seed)
    t = int(seconds * SR)
    ref = 0.3 * torch.randn(1, n_src, n_ch, t, generator=g)
    mix = 0.2 * torch.randn(n_src, n_src, generator=g) + torch.eye(n_src)
    est = torch.einsum("ij,bjct->bict", mix, ref) + 0.05 * torch.randn(1, n_src, n_ch, t, generator=g)
    # a short filter on one estimate (spatial/filtering distortion) and a silent stretch
    est[0, 0] = torch.nn.functional.conv1d(est[0, 0][:, None], torch.tensor([[[0.3, 0.5, 0.2]]]), padding=1)[:, 0]
    ref[0, 1, :, 4000:8000] = 0
    return est.double(), ref.double()


def test_framewise_values_match_museval(museval_metrics):
    est, ref = _sources()
    ours = bss_eval(est, ref, SR, window=0.5, hop=0.5)
    theirs = museval_metrics.bss_eval(ref[0].permute(0, 2, 1).numpy(), est[0].permute(0, 2, 1).numpy(),
                                      window=4000, hop=4000)
    for i, name in enumerate(("sdr", "isr", "sir", "sar")):
        np.testing.assert_allclose(ours.frames[0, i].numpy(), theirs[i], atol=1e-6, err_msg=name)
        # track score: museval's aggregate takes the median over frames, skipping NaN frames
        np.testing.assert_allclose(getattr(ours, name)[0].numpy(), np.nanmedian(theirs[i], axis=1), atol=1e-6)
    assert torch.isnan(ours.frames[0, :, :, 1]).all()  # the frame where source 1 is silent


def test_whole_signal_sir_sar_match_fast_bss_eval_for_mono_sources():
    """Where v4 images and v3 sources definitions agree (mono, one frame): SIR and SAR."""
    est, ref = _sources(seed=1, n_ch=1, seconds=1.0)
    ours = bss_eval(est, ref, SR, window=None)
    # fast_bss_eval's numpy backend breaks on numpy 2, and its batched torch solve trips a
    # oneMKL bug (DLASWP, then a hang) with more than one torch thread: run it on one thread
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        f_sdr, f_sir, f_sar = fast_bss_eval.bss_eval_sources(ref[0, :, 0], est[0, :, 0], compute_permutation=False)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(ours.sir[0].numpy(), f_sir.numpy(), atol=1e-3)
    np.testing.assert_allclose(ours.sar[0].numpy(), f_sar.numpy(), atol=1e-3)
    # where they differ: the images SDR is the plain SNR (filtering counts as distortion)
    plain = 10 * torch.log10(ref[0].square().sum((1, 2)) / (est[0] - ref[0]).square().sum((1, 2)))
    np.testing.assert_allclose(ours.sdr[0].numpy(), plain.numpy(), atol=1e-9)
    assert not np.allclose(ours.sdr[0].numpy(), f_sdr.numpy(), atol=0.1)


def test_single_source_sdr_is_frame_snr_median_and_sir_is_infinite():
    g = torch.Generator().manual_seed(2)
    x = 0.2 * torch.randn(2, 1, 3 * SR, generator=g)
    noise = torch.randn(2, 1, 3 * SR, generator=g)
    # scale the noise frame by frame to SNRs 5, 12 and 30 dB -> median 12 dB
    frames = []
    for k, target_db in enumerate((5.0, 12.0, 30.0)):
        seg = slice(k * SR, (k + 1) * SR)
        gain = (x[..., seg].square().sum(-1, keepdim=True) / noise[..., seg].square().sum(-1, keepdim=True)
                / 10 ** (target_db / 10)).sqrt()
        frames.append(x[..., seg] + gain * noise[..., seg])
    y = torch.cat(frames, dim=-1)
    assert torch.allclose(sdr(y, x, SR), torch.full((2,), 12.0), atol=1e-4)
    assert torch.allclose(sdr(y, x, SR, window=None), snr(y, x), atol=1e-4)
    full = bss_eval(y[:, None], x[:, None], SR)
    assert torch.allclose(full.sdr[:, 0].float(), torch.full((2,), 12.0), atol=1e-4)
    assert torch.isinf(full.sir).all() and (full.sir > 0).all()
    # white noise is not explained by a 512-tap filter of x: the artifacts ratio is near the SNR
    assert torch.allclose(sar(y, x, SR), torch.full((2,), 12.0), atol=0.5)


def test_sar_falls_with_noise_and_a_gain_is_filtering_not_artifacts():
    g = torch.Generator().manual_seed(4)
    x = 0.2 * torch.randn(1, 1, 2 * SR, generator=g)
    noise = torch.randn(1, 1, 2 * SR, generator=g)
    values = [sar(0.5 * x + s * noise, x, SR).item() for s in (0.001, 0.01, 0.1)]
    assert values[0] > values[1] > values[2]
    # a pure gain is a (one-tap) filter: no artifacts, but the v4 SDR (plain SNR) punishes it
    assert sar(0.5 * x, x, SR).item() > 60
    assert sdr(0.5 * x, x, SR).item() == pytest.approx(20 * math.log10(2), abs=1e-4)
    # ...and ISR sees it as spatial/filtering distortion: |s|^2 / |0.5 s - s|^2
    assert isr(0.5 * x, x, SR).item() == pytest.approx(20 * math.log10(2), abs=1e-3)


def test_nanmedian_follows_numpy():
    x = torch.tensor([[1.0, math.nan, 3.0, 10.0], [math.nan] * 4, [2.0, math.inf, math.nan, 1.0],
                      [4.0, 1.0, 3.0, 2.0]])
    expected = [np.nanmedian(row) if not np.isnan(row).all() else np.nan for row in x.numpy()]
    np.testing.assert_array_equal(nanmedian(x).numpy(), np.array(expected, dtype=np.float32))


def test_silent_item_scores_nan_and_shapes_are_checked():
    x = torch.zeros(1, 1, SR)
    y = 0.1 * torch.randn(1, 1, SR)
    assert torch.isnan(sdr(y, x, SR)).all()
    with pytest.raises(ShapeError):
        bss_eval(y, x, SR)  # needs (batch, sources, channels, samples)
