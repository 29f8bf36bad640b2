"""The metric registry and score(): every entry callable, directions right, lazy entries safe."""

from __future__ import annotations

import pytest
import torch

from earshot.errors import ConfigError
from earshot.metrics import METRICS, MetricSpec, available_metrics, default_metrics, get_metric, score

from metric_signals import add_noise, speechlike

SR = 16000


def test_every_default_metric_scores_a_batch_with_the_right_direction():
    x = speechlike(seconds=1.0).repeat(2, 1, 1)
    degraded = torch.cat([add_noise(x[:1], 30.0), add_noise(x[:1], 5.0)])
    values = score(degraded, x, SR)
    assert list(values) == default_metrics()
    assert "jnd" not in values  # lazy entries only when named
    for name, v in values.items():
        assert v.shape == (2,), name
        assert torch.isfinite(v).all(), name
        better_first = v[0] > v[1] if METRICS[name].higher_is_better else v[0] < v[1]
        assert better_first, (name, v)


def test_flags_describe_the_functions():
    x = speechlike(seconds=0.5)
    for name in default_metrics():
        spec = METRICS[name]
        assert spec.description and spec.reference
        est = add_noise(x, 10.0).requires_grad_(True)
        value = spec(est, x, SR if spec.needs_sample_rate else None)
        if spec.differentiable:
            value.sum().backward()
            assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0, name
        else:
            assert not value.requires_grad, name
    with pytest.raises(Exception, match="sample_rate"):
        METRICS["pesq"](x, x, None)


def test_names_as_string_or_list_and_unknown_names():
    x = speechlike(seconds=0.5)
    y = add_noise(x, 20.0)
    a = score(y, x, metrics="si_sdr, snr")
    b = score(estimate=y, reference=x, metrics=["si_sdr", "snr"])
    assert list(a) == ["si_sdr", "snr"] and all(torch.equal(a[k], b[k]) for k in a)
    assert a["snr"].item() == pytest.approx(20.0, abs=1e-3)
    with pytest.raises(ConfigError, match="unknown metric 'nope'"):
        score(y, x, SR, metrics="si_sdr,nope")
    with pytest.raises(ConfigError, match="sample_rate is required by pesq"):
        score(y, x, metrics="pesq")
    with pytest.raises(ConfigError):
        get_metric("")


def test_a_missing_lazy_metric_is_listed_as_unavailable(monkeypatch):
    ghost = MetricSpec("ghost", "earshot.metrics.does_not_exist:ghost_distance", False, False, True,
                       "a metric whose module is not installed", "none")
    monkeypatch.setitem(METRICS, "ghost", ghost)
    assert not ghost.available
    assert "earshot.metrics.does_not_exist" in ghost.unavailable_reason
    assert "ghost" not in available_metrics() and "ghost" not in default_metrics()
    x = speechlike(seconds=0.5)
    with pytest.raises(ConfigError, match="'ghost' is unavailable"):
        score(x, x, SR, metrics="ghost")
    missing_attr = MetricSpec("ghost2", "earshot.metrics.objective:no_such_fn", False, False, False, "-", "-")
    assert "no_such_fn" in missing_attr.unavailable_reason


def test_jnd_entry_is_lazy():
    spec = METRICS["jnd"]
    assert spec.fn == "earshot.metrics.jnd:jnd_distance"
    assert not spec.higher_is_better and spec.needs_sample_rate
    assert isinstance(spec.available, bool)  # listing never raises, present or not
