"""mix_at_snr and draw_nonsilent: the one SNR mixer and the one non-silent excerpt drawer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from earshot.data.excerpts import draw_nonsilent, excerpt_start
from earshot.data.mixing import mix_at_snr, rms
from earshot.errors import ShapeError


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 12.5, 40.0])
def test_mix_hits_its_snr_on_tensors_and_arrays(snr_db):
    gen = torch.Generator().manual_seed(0)
    signal = 0.3 * torch.randn(2, 4000, generator=gen)
    noise = 5.0 * torch.rand(2, 4000, generator=gen)  # any level, not zero-mean
    mix = mix_at_snr(signal, noise, snr_db)
    assert isinstance(mix, torch.Tensor) and mix.shape == signal.shape
    assert 20 * np.log10(rms(signal) / rms(mix - signal)) == pytest.approx(snr_db, abs=1e-4)
    as_array = mix_at_snr(signal.double().numpy(), noise.double().numpy(), snr_db)
    assert isinstance(as_array, np.ndarray) and np.allclose(as_array, mix.double().numpy(), atol=1e-6)


def test_mix_floor_silence_and_shapes():
    silence, noise = torch.zeros(1, 1000), torch.ones(1, 1000)
    assert torch.equal(mix_at_snr(silence, noise, 10.0), silence)  # no floor: silence stays silent
    floored = mix_at_snr(silence, noise, 20.0, floor_rms=1e-3)
    assert rms(floored) == pytest.approx(1e-4, rel=1e-6)  # 20 dB below the floor
    assert torch.equal(mix_at_snr(noise, silence, 0.0), noise)  # silent noise adds nothing, no NaN
    assert rms(torch.zeros(0)) == 0.0
    with pytest.raises(ShapeError, match="one shape"):
        mix_at_snr(torch.zeros(1, 10), torch.zeros(1, 11), 0.0)


def test_draw_nonsilent_takes_the_first_loud_candidate_else_the_loudest():
    audio = torch.zeros(1, 1000)
    audio[0, 600:700] = 0.5  # only starts near 600 give a loud excerpt
    seen = []

    def draw(rng):
        seen.append(int(rng.integers(0, 901)))
        return seen[-1]

    start, piece = draw_nonsilent(np.random.default_rng(1), draw, lambda s: audio[:, s:s + 100],
                                  silence_db=-20.0, tries=500)
    assert 500 < start < 700 and start == seen[-1] and rms(piece) > 0.1  # stopped at the first loud one
    assert all(not 500 < s < 700 for s in seen[:-1])
    quiet, _ = draw_nonsilent(np.random.default_rng(1), lambda r: int(r.integers(0, 901)),
                              lambda s: audio[:, s:s + 100], silence_db=0.0, tries=50)  # nothing is loud enough
    starts = np.random.default_rng(1).integers(0, 901, 50)
    assert quiet == int(starts[np.argmax([rms(audio[:, s:s + 100]) for s in starts])])
    assert excerpt_start(np.random.default_rng(1), audio, 100, silence_db=-20.0, tries=500) == start
    assert excerpt_start(np.random.default_rng(0), audio, 5000, silence_db=-20.0, tries=3) == 0  # longer than audio
