"""A-weighting FIR follows the IEC curve at each sample rate; pre-emphasis is exact."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from earshot.dsp import FIRFilter, a_weighting, fir_filter, preemphasis
from earshot.dsp.weighting import a_weighting_response
from earshot.errors import ConfigError, SampleRateError


def test_analog_curve_reference_values():
    # IEC 61672 table values (dB): 100 Hz -19.1, 1 kHz 0.0, 4 kHz +1.0, 10 kHz -2.5
    got = a_weighting_response([100.0, 1000.0, 4000.0, 10000.0], db=True)
    np.testing.assert_allclose(got, [-19.1, 0.0, 1.0, -2.5], atol=0.1)


@pytest.mark.parametrize("sr", [16000, 44100, 48000])
def test_fir_follows_curve(sr):
    taps = a_weighting(sr, num_taps=201).double().numpy()
    freqs = np.array([250.0, 500.0, 1000.0, 2000.0, 4000.0, 0.3 * sr])
    _, h = scipy.signal.freqz(taps, worN=freqs, fs=sr)
    got = 20 * np.log10(np.abs(h))
    np.testing.assert_allclose(got, a_weighting_response(freqs, db=True), atol=0.5)
    _, h = scipy.signal.freqz(taps, worN=[50.0], fs=sr)
    assert 20 * np.log10(np.abs(h[0])) < -20


def test_preemphasis_is_exact_and_filter_keeps_shape(rng):
    x = torch.randn(2, 3, 50, generator=rng)
    y = fir_filter(x, preemphasis(0.9))
    expected = x.clone()
    expected[..., 1:] -= 0.9 * x[..., :-1]
    torch.testing.assert_close(y, expected)
    module = FIRFilter.a_weighting(16000)
    assert module(x).shape == x.shape and module.state_dict() == {}


def test_centred_fir_delay_is_zero():
    impulse = torch.zeros(1, 1, 301)
    impulse[..., 150] = 1.0
    taps = a_weighting(16000)
    out = fir_filter(impulse, taps)[0, 0]
    torch.testing.assert_close(out[100:201], taps)


def test_errors():
    with pytest.raises(ConfigError):
        a_weighting(16000, num_taps=100)
    with pytest.raises(SampleRateError):
        a_weighting(0)
    with pytest.raises(ConfigError):
        preemphasis(kind="other")
