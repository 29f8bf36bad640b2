"""build_loss: names, sums, arguments, lazy entries, and clear errors."""

from __future__ import annotations

import pytest
import torch

from earshot.errors import ConfigError, SampleRateError
from earshot.losses import L1Loss, MultiResolutionMelLoss, MultiResolutionSTFTLoss, WeightedLoss, build_loss
from earshot.losses import registry


def test_parse():
    assert registry.parse("l1 + 0.5*mrstft") == [("l1", 1.0, {}, False), ("mrstft", 0.5, {}, True)]
    assert registry.parse(" 2e-1 * sisdr(eps=1e-6, zero_mean=False)+mel(n_mels=[5, 10]) ") == [
        ("sisdr", 0.2, {"eps": 1e-6, "zero_mean": False}, True), ("mel", 1.0, {"n_mels": [5, 10]}, False)]
    assert registry.parse("1e+2*l1")[0][1] == 100.0


@pytest.mark.parametrize("bad", ["", "l1 +", "0.5*", "l1(3)", "l1(eps=)", "l1 + l1", "a b"])
def test_parse_errors(bad):
    with pytest.raises(ConfigError):
        registry.parse(bad)


def test_build_single_and_sum():
    assert isinstance(build_loss("l1"), L1Loss)
    mr = build_loss("mrstft", w_sc=0.0, reduction="none")
    assert isinstance(mr, MultiResolutionSTFTLoss) and mr.reduction == "none" and mr.terms[0].sc == 0.0
    mel = build_loss("mrmel(n_mels=[8, 16], window_lengths=[64, 128])", sample_rate=16000)
    assert isinstance(mel, MultiResolutionMelLoss) and [r.n_mels for r in mel.resolutions] == [8, 16]
    combo = build_loss({"l1": 1.0, "msspec": 0.1}, sample_rate=16000)
    assert isinstance(combo, WeightedLoss) and combo.weights == {"l1": 1.0, "msspec": 0.1}
    x = torch.zeros(1, 1, 800)
    assert float(build_loss("0.5*l1 + sisdr")(x, x).components["l1"]) == 0.0


def test_every_classic_name_builds_and_runs(rng):
    x, y = torch.randn(2, 1, 2000, generator=rng), torch.randn(2, 1, 2000, generator=rng)
    for name in registry.names():
        if isinstance(registry.LOSSES[name], str):
            continue
        value = build_loss(name, sample_rate=16000, reduction="none")(x, y)
        assert value.shape == (2,) and torch.isfinite(value).all(), name


def test_lazy_entries():
    assert registry.LOSSES["codec"] == "earshot.losses.codec:CodecLoss"
    assert registry.LOSSES["jnd"] == "earshot.losses.jnd:JNDLoss"
    assert registry.LOSSES["style"] == "earshot.losses.style:StyleLoss"
    assert registry.LOSSES["content"] == "earshot.losses.style:ContentLoss"
    registry.register_loss("lazy_l1_test", "earshot.losses.waveform:L1Loss")
    registry.register_loss("missing_test", "earshot.losses.no_such_module:Nothing")
    try:
        assert isinstance(build_loss("lazy_l1_test"), L1Loss)
        with pytest.raises(ConfigError, match="not available"):
            build_loss("missing_test")
    finally:
        del registry.LOSSES["lazy_l1_test"], registry.LOSSES["missing_test"]


def test_errors():
    with pytest.raises(ConfigError, match="unknown loss"):
        build_loss("nope")
    with pytest.raises(SampleRateError, match="mrmel"):
        build_loss("l1 + mrmel")
    with pytest.raises(ConfigError, match="bad arguments"):
        build_loss("l1(window=3)")
    with pytest.raises(ConfigError):
        build_loss("l1 + sisdr", eps=1.0)
    with pytest.raises(ConfigError):
        registry.register_loss("bad name", L1Loss)
