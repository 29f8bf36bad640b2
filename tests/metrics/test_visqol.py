"""ViSQOL through visqol-python: the package's own score, monotone in the degradation."""

import numpy as np
import pytest
import torch

pytest.importorskip("visqol")

from earshot.errors import ConfigError  # noqa: E402
from earshot.metrics import registry  # noqa: E402
from earshot.metrics.visqol import lattice_available, visqol  # noqa: E402


def _speechlike(seconds=2.0, rate=16000, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * rate)) / rate
    f0 = 140 + 30 * torch.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * torch.cumsum(f0, 0) / rate
    voiced = sum(torch.sin(k * phase) / k for k in range(1, 12))
    envelope = (torch.sin(2 * np.pi * 3 * t).clamp_min(0) + 0.05)
    x = 0.2 * voiced * envelope + 0.002 * torch.randn(t.shape, generator=g)
    return x[None, None].float()


def test_matches_the_package_and_falls_with_noise():
    from visqol import VisqolApi

    x = _speechlike()
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    degraded = [x + a * noise for a in (0.0003, 0.001, 0.003)]
    scores = [float(visqol(d, x, 16000, mode="speech")) for d in degraded]
    assert scores[0] > scores[1] > scores[2]
    api = VisqolApi()
    api.create(mode="speech", use_lattice_model=lattice_available())
    direct = api.measure_from_arrays(x[0, 0].double().numpy(), degraded[1][0, 0].double().numpy(), 16000).moslqo
    assert scores[1] == pytest.approx(direct, abs=1e-5)


def test_audio_mode_resamples_and_scores_a_batch():
    x = torch.cat([_speechlike(seed=0), _speechlike(seed=2)])
    noisy = x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    clean_scores = visqol(x, x, 16000, mode="audio")
    noisy_scores = visqol(noisy, x, 16000, mode="audio")
    assert clean_scores.shape == (2,) and (clean_scores > noisy_scores).all()
    assert registry.get_metric("visqol_audio")(noisy, x, 16000).tolist() == pytest.approx(noisy_scores.tolist())


def test_bad_input():
    x = _speechlike()
    with pytest.raises(ConfigError, match="mode"):
        visqol(x, x, 16000, mode="music")
    with pytest.raises(ConfigError, match="0.5 s"):
        visqol(x[..., :4000], x[..., :4000], 16000)
    silent = torch.zeros_like(x)
    assert torch.isnan(visqol(x, silent, 16000)).all()
