"""Fuzzing `earshot.metrics.score`: random shapes, dtypes, values, sample rates and metric lists
give an earshot error, or a (batch,) value per metric where NaN always comes with its warning."""

from __future__ import annotations

import warnings

import torch
from fuzz_helpers import attempt, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from earshot.errors import UndefinedMetricWarning
from earshot.metrics import score

NAMES = ["si_sdr", "snr", "sdr", "pesq", "stoi", "estoi", "mel_distance", "stft_distance", "lsd"]


def scored(estimate, reference, sample_rate, metrics):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = score(estimate, reference, sample_rate, metrics)
    warned = [w for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    for name, value in out.items():
        assert value.shape == (estimate.shape[0],), name
        assert not torch.isnan(value).any() or any(str(w.message).lower().startswith(name.split("_")[0])
                                                   for w in warned), (name, value)
    return out


@fuzz_settings(80)
@given(st.one_of(st.tuples(st.integers(1, 2), st.integers(1, 2)).map(list), st.lists(st.integers(0, 2), max_size=3)),
       st.one_of(st.integers(1, 600), st.integers(4000, 9000), st.just(0)),
       st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int16]),
       st.sampled_from(["noise", "zeros", "dc", "nan", "scaled"]),
       st.one_of(st.just(16000), st.sampled_from([8000, 1, 0, -5, 44100.5, None])),
       st.one_of(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
                 st.sampled_from([None, "", "snr,bogus", "snr, si_sdr"])),
       st.integers(0, 1000))
def test_score(lead, samples, dtype, kind, sample_rate, metrics, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (*lead, samples)
    ref = 0.3 * torch.randn(shape, generator=g)
    est = {"noise": lambda: ref + 0.1 * torch.randn(shape, generator=g), "zeros": lambda: torch.zeros(shape),
           "dc": lambda: torch.full(shape, 0.5), "nan": lambda: ref.clone().fill_(float("nan")),
           "scaled": lambda: 0.5 * ref}[kind]()
    if metrics is None or (isinstance(metrics, list) and {"pesq", "stoi", "estoi", "sdr"} & set(metrics)):
        shape_ok = len(shape) == 3 and samples <= 9000
        if not shape_ok:
            metrics = ["snr"]  # keep the slow metrics to short 3-D inputs
    attempt("metrics: score", scored, est.to(dtype), ref.to(dtype), sample_rate, metrics)
