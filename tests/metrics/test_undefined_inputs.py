"""Every metric on hostile inputs: a value, NaN with an UndefinedMetricWarning, or a clear
earshot error; never a raw exception (issue 18 item 1, issue 17 items 2 and 3)."""

from __future__ import annotations

import sys
import warnings

import pytest
import torch

from earshot.errors import DTypeError, EarshotError, MissingExtraError, ShapeError, UndefinedMetricWarning
from earshot.metrics import METRICS, default_metrics, estoi, missing_metrics, pesq, score, stoi
from earshot.metrics.registry import installed

from metric_signals import add_noise, speechlike

SR = 16000
BUILT_IN = [n for n, spec in METRICS.items() if callable(spec.fn)]


def _call(name: str, est: torch.Tensor, ref: torch.Tensor):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = METRICS[name](est, ref, SR)
    return value, [w for w in caught if issubclass(w.category, UndefinedMetricWarning)]


@pytest.mark.parametrize("n", [1, 10, 300, 512, 3200])
def test_stoi_on_short_identical_clips_is_nan_with_a_warning(n):
    # pystoi crashed (AxisError) at <= 300 samples and returned 1e-5 (printed 0.000) up to 3200
    x = speechlike(seconds=0.5)[..., :n]
    for fn in (stoi, estoi):
        with pytest.warns(UndefinedMetricWarning, match=r"item 0 channel 0: needs at least 0.410 s"):
            v = fn(x, x, SR)
        assert v.shape == (1,) and torch.isnan(v).all()


def test_stoi_keeps_real_values_next_to_undefined_items():
    x = speechlike(seconds=1.5)
    batch_ref = torch.cat([x, torch.zeros_like(x)])
    batch_est = torch.cat([add_noise(x, 5.0), torch.zeros_like(x)])
    with pytest.warns(UndefinedMetricWarning, match="item 1 channel 0: the reference is digital silence"):
        v = stoi(batch_est, batch_ref, SR)
    assert 0.5 < v[0] < 1.0 and torch.isnan(v[1])


def test_a_pause_too_long_for_stoi_is_nan_not_1e5():
    # long enough in samples, but after pystoi drops the frames 40 dB below the loudest only a
    # few remain: pystoi returns 1e-5 with its own warning; we give NaN
    x = torch.zeros(1, 1, SR)
    x[..., :800] = speechlike(seconds=0.05)[..., :800]
    with pytest.warns(UndefinedMetricWarning, match="fewer than 30 frames"):
        assert torch.isnan(stoi(x, x, SR)).all()


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("n", [1, 2, 300, 4000])
def test_every_metric_on_short_and_silent_clips_gives_a_value_or_nan_with_a_warning(name, n):
    for x in (speechlike(seconds=0.5)[..., :n], torch.zeros(1, 1, n)):
        value, warned = _call(name, x.clone(), x)
        assert value.shape == (1,)
        if torch.isnan(value).any():
            assert warned, (name, n)  # NaN only ever comes with its warning
        else:
            assert not warned, (name, n)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_metric_rejects_bad_dtypes_shapes_and_lengths_with_earshot_errors(name):
    x = speechlike(seconds=0.5)
    bad = {
        "int16": ((x * 32767).to(torch.int16), DTypeError, "x.float\\(\\) / 32768"),
        "bool": (x > 0, DTypeError, "torch.bool"),
        "1-D": (x[0, 0], ShapeError, r"x\[None, None\]"),
        "2-D": (x[0], ShapeError, r"x\[None\]"),
        "length": (x[..., :-1], ShapeError, "does not match reference shape"),
        "empty": (x[..., :0], ShapeError, "no samples"),
        "nan": (x.clone().index_fill_(-1, torch.tensor([3]), float("nan")), EarshotError, "NaN"),
        "list": (x.tolist(), ShapeError, "torch.Tensor"),
    }
    for label, (est, error, message) in bad.items():
        with pytest.raises(error, match=message):
            METRICS[name](est, x if label != "length" else x, SR)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_half_and_double_inputs_are_scored_like_float32(dtype):
    x = speechlike(seconds=0.5)
    y = add_noise(x, 10.0)
    names = ["si_sdr", "snr", "mel_distance", "stft_distance", "lsd"]
    ref = score(y.to(dtype).float(), x.to(dtype).float(), SR, names)
    got = score(y.to(dtype), x.to(dtype), SR, names)
    for n in names:
        assert torch.isfinite(got[n]).all()
        assert got[n].double().item() == pytest.approx(ref[n].double().item(), rel=1e-4, abs=1e-4), n


def test_score_takes_the_estimate_first():
    x = speechlike(seconds=0.5)
    y = 0.5 * add_noise(x, 10.0)
    by_position = score(y, x, SR, "snr")["snr"]
    by_keyword = score(reference=x, estimate=y, sample_rate=SR, metrics="snr")["snr"]
    direct = METRICS["snr"](y, x)
    assert torch.equal(by_position, direct) and torch.equal(by_keyword, direct)
    assert not torch.allclose(score(x, y, SR, "snr")["snr"], direct)  # snr is not symmetric


def test_a_missing_package_names_the_extra_and_leaves_the_defaults(monkeypatch):
    monkeypatch.setitem(sys.modules, "pesq", None)  # import pesq now raises ImportError
    assert not installed("pesq")
    x = speechlike(seconds=0.5)
    with pytest.raises(MissingExtraError, match=r"pip install 'earshot\[metrics\]'"):
        pesq(x, x, SR)
    with pytest.raises(MissingExtraError, match="'pesq' is not installed"):
        score(x, x, SR, metrics="pesq")
    assert "pesq" not in default_metrics() and "pesq_nb" not in default_metrics()
    assert "stoi" in default_metrics()
    assert set(missing_metrics()) == {"pesq", "pesq_nb"}
    assert "earshot[metrics]" in missing_metrics()["pesq"]
    assert not METRICS["pesq"].available and METRICS["stoi"].available


def test_pesq_refuses_long_inputs_that_crash_the_pesq_library():
    # found by tests/fuzz/test_fuzz_metrics.py: 362 samples "at 1 Hz", resampled to 362 s at
    # 16 kHz, made the pesq C library write past its 50-utterance arrays (segmentation fault)
    g = torch.Generator().manual_seed(362)
    x = 0.3 * torch.randn(1, 1, 362, generator=g)
    with pytest.warns(UndefinedMetricWarning, match="PESQ of item 0 channel 0: takes at most 30 s of audio, got 362.0 s"):
        assert torch.isnan(pesq(x + 0.01, x, 1)).all()
    ok = speechlike(seconds=2.0)
    assert 1.0 < pesq(add_noise(ok, 20.0), ok, SR).item() < pesq(add_noise(ok, 40.0), ok, SR).item() < 4.7
