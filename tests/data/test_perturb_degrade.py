"""`degrade`: graded real-codec and perturbation degradations, cut to the input's length."""

import pytest
import torch

from earshot.data.perturb import degrade


@pytest.mark.parametrize("kind,amount", [("mp3", 32), ("opus", 12), ("lowpass", 0.8), ("white", 0.5)])
def test_same_shape_and_audibly_changed(kind, amount):
    t = torch.arange(16000) / 16000
    audio = (0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.1 * torch.sin(2 * torch.pi * 6000 * t))[None]
    out = degrade(audio, 16000, kind, amount, seed=1)
    assert out.shape == audio.shape
    assert 0 < float((out - audio).square().mean()) < float(audio.square().mean())
    torch.testing.assert_close(out, degrade(audio, 16000, kind, amount, seed=1))   # seeded
