"""The shipped codec-16k weights: manifest, regression values, and the CLI round trip with them."""

import math

import pytest
import torch

from earshot.audio.io import load, save
from earshot.cli.main import main
from earshot.metrics import mel_distance
from earshot.models.codec import SoundStream
from earshot.weights import load_pretrained, pretrained_info


@pytest.fixture(scope="module")
def model():
    return load_pretrained("codec-16k")


def signal():
    """0.5 s at 16 kHz: a 200 Hz tone with a 3 Hz envelope plus a little noise, (1, 1, 8000)."""
    t = torch.arange(8000) / 16000
    noise = torch.randn(8000, generator=torch.Generator().manual_seed(0))
    x = 0.2 * torch.sin(2 * math.pi * 200 * t) * (0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t)) + 0.02 * noise
    return x.reshape(1, 1, -1)


def test_manifest(model):
    info = pretrained_info("codec-16k")
    assert isinstance(model, SoundStream) and not model.training and not model.weight_norm
    assert info["sample_rate"] == 16000 and info["kwargs"]["channels"] == 8 and info["recipe"] == "codec"
    assert model.quantizers_for_kbps(6) == 12 and model.bitrate(24) == 12.0
    assert info["bytes"] < 8_000_000 and "test_speech_6kbps_pesq" in info["metrics"]
    assert all(bool(layer.initialized) for layer in model.quantizer.layers)


def test_regression_values(model):
    x = signal()
    with torch.no_grad():
        codes = model.encode(x, 12)
        y = model.decode(codes, length=8000)
    assert codes.shape == (1, 12, 25)
    assert codes[0, :3, :6].tolist() == [[105, 105, 452, 158, 936, 803], [521, 583, 551, 499, 981, 88],
                                         [770, 641, 147, 194, 877, 3]]
    expected = torch.tensor([-0.002259443048387766, 0.004675909411162138, -0.016869934275746346, 0.004497092682868242])
    assert torch.allclose(y[0, 0, 4000:4004], expected, atol=1e-5)
    assert y.abs().mean().item() == pytest.approx(0.033150278, rel=1e-4)
    assert mel_distance(y, x, 16000).item() == pytest.approx(1.7862532, rel=1e-3)
    assert mel_distance(torch.zeros_like(x), x, 16000).item() > 5 * mel_distance(y, x, 16000).item()


def test_cli_round_trip_with_shipped_weights(model, tmp_path):
    wav, esc, out = tmp_path / "x.wav", tmp_path / "x.esc", tmp_path / "y.wav"
    x = signal()
    save(wav, x[0], 16000, subtype="FLOAT")
    assert main(["codec", "encode", str(wav), str(esc), "--kbps", "6"]) == 0
    assert esc.stat().st_size == 29 + len("codec-16k") + 25 * 12 * 10 // 8 + 4
    assert main(["codec", "decode", str(esc), str(out), "--subtype", "FLOAT"]) == 0
    decoded, rate = load(out)
    with torch.no_grad():
        expected = model(x, 12).audio[0].clamp(-1, 1)
    assert rate == 16000 and torch.equal(decoded, expected)


def test_denoise_flag_brings_noisy_input_closer_to_the_clean_signal(model):
    """The shipped FiLM flag was trained on corpus noise; white noise at 5 dB SNR is not among it."""
    t = torch.arange(16000) / 16000
    clean = (0.2 * torch.sin(2 * math.pi * 200 * t) * (0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t))).reshape(1, 1, -1)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    noisy = clean + noise * clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt() * 10 ** (-5 / 20)
    with torch.no_grad():
        off, on = model(noisy, 12, denoise=False).audio, model(noisy, 12, denoise=True).audio
    assert mel_distance(on, clean, 16000).item() < 0.85 * mel_distance(off, clean, 16000).item()
