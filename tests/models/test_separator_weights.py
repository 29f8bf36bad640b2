"""The shipped separator weights (separator-speech-music): manifest, regression values, CLI."""

import soundfile as sf
import torch

from earshot.cli.main import main
from earshot.metrics import si_sdr
from earshot.models.separator import Separator, UNetSeparator
from earshot.weights import load_pretrained, pretrained_info

NAME = "separator-speech-music"


def voice_and_chord():
    """One second at 8192 Hz: a gated 150 Hz 'voice' and a square-wave A-major chord."""
    t = torch.arange(8192) / 8192
    voice = 0.3 * torch.sin(2 * torch.pi * 150 * t) * (torch.sin(2 * torch.pi * 3 * t) > 0)
    chord = 0.1 * sum(torch.sign(torch.sin(2 * torch.pi * f * t)) for f in (220.0, 277.2, 329.6))
    return voice.reshape(1, 1, -1), chord.reshape(1, 1, -1)


def test_manifest_describes_the_model_and_its_data():
    info = pretrained_info(NAME)
    assert info["class"] == "earshot.models.separator:UNetSeparator" and info["sample_rate"] == 8192
    assert info["kwargs"]["channels"] == 16 and info["kwargs"]["depth"] == 4 and info["kwargs"]["kind"] == "mask"
    assert "speech as vocals" in info["data"] and "music as accompaniment" in info["data"]
    assert info["recipe"] == "separator" and info["config"]["recipe"]["mode"] == "supervised"
    assert info["bytes"] < 5_000_000 and "float16" in info["notes"]
    # validation mixtures include real recordings (voice prompts over game music) since the CPU
    # retraining of 2026-12-04: harder than the synthetic-only set of earlier weights
    assert info["metrics"]["sdr_vocals"] > 6 and info["metrics"]["sdr_accompaniment"] > 6
    assert "real" in info["data"]


def test_regression_values():
    model = load_pretrained(NAME)
    assert isinstance(model, UNetSeparator) and not model.training
    assert next(model.parameters()).dtype == torch.float32
    voice, chord = voice_and_chord()
    with torch.no_grad():
        out = Separator(model)(voice + chord)[0, :, 0]
    torch.testing.assert_close(out.pow(2).mean(-1).sqrt(), torch.tensor([0.147751, 0.166105]), atol=2e-5, rtol=0)
    torch.testing.assert_close(out[:, 4000:4004], torch.tensor([[0.300653, 0.299684, 0.293812, 0.269289],
                                                                [0.093083, 0.096110, 0.302227, 0.108763]]),
                               atol=2e-5, rtol=0)
    # and it separates: both estimates are much closer to their source than the mixture is
    mix = voice + chord
    assert si_sdr(out[0].reshape(1, 1, -1), voice) > si_sdr(mix, voice) + 5
    assert si_sdr(out[1].reshape(1, 1, -1), chord) > si_sdr(mix, chord) + 5


def test_separate_command_with_the_shipped_model(tmp_path):
    voice, chord = voice_and_chord()
    sf.write(tmp_path / "mix.wav", (voice + chord)[0, 0].numpy(), 8192, subtype="FLOAT")
    assert main(["separate", str(tmp_path / "mix.wav"), "--out", str(tmp_path / "out")]) == 0
    vocals, rate = sf.read(tmp_path / "out" / "mix" / "vocals.wav")
    assert rate == 8192 and vocals.shape == (8192,)
    est = torch.from_numpy(vocals).float().reshape(1, 1, -1)
    assert si_sdr(est, voice) > si_sdr(voice + chord, voice) + 5
