"""`--device` on the commands that run a network, on the CPU here (CI); tests/gpu/test_cli_device.py
runs the same checks with ``--device cuda`` (scripts/device_check.sh runs tests/gpu)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from earshot.cli.main import main

DEVICES = ["cpu"]


@pytest.fixture
def clips(tmp_path):
    t = np.arange(16000) / 16000
    clean = 0.2 * np.sin(2 * math.pi * 200 * t) * (0.5 + 0.5 * np.sin(2 * math.pi * 3 * t))
    noisy = clean + 0.02 * np.random.default_rng(0).standard_normal(16000)
    sf.write(tmp_path / "clean.wav", clean, 16000, subtype="FLOAT")
    sf.write(tmp_path / "noisy.wav", noisy, 16000, subtype="FLOAT")
    return tmp_path


@pytest.mark.parametrize("device", DEVICES)
def test_codec_on_device_equals_cpu_coding(clips, device):
    from earshot.weights import load_pretrained

    out = clips / device
    assert main(["codec", "encode", str(clips / "noisy.wav"), "--out", str(out), "--device", device, "-q"]) == 0
    assert main(["codec", "decode", str(out / "noisy.esc"), "--out", str(out), "--subtype", "FLOAT",
                 "--device", device, "-q"]) == 0
    x = torch.from_numpy(sf.read(clips / "noisy.wav", dtype="float32")[0]).reshape(1, 1, -1)
    with torch.no_grad():
        expected = load_pretrained("codec-16k")(x, 12).audio[0].clamp(-1, 1)
    decoded = torch.from_numpy(sf.read(out / "noisy.wav", dtype="float32")[0])[None]
    assert decoded.shape == expected.shape
    # the same codes almost everywhere; a flipped nearest code changes a frame, not the whole clip
    assert (decoded - expected).abs().mean() < 0.05 * expected.abs().mean()


@pytest.mark.parametrize("device", DEVICES)
def test_separate_on_device(clips, device):
    out = clips / f"sep-{device}"
    assert main(["separate", str(clips / "noisy.wav"), "--out", str(out), "--device", device, "-q"]) == 0
    vocals, rate = sf.read(out / "noisy" / "vocals.wav")
    accompaniment, _ = sf.read(out / "noisy" / "accompaniment.wav")
    assert rate == 16000 and vocals.shape == accompaniment.shape == (16000,)
    assert np.abs(vocals).max() > 0 and np.isfinite(vocals).all()


@pytest.mark.parametrize("device", DEVICES)
def test_explain_and_style_on_device(clips, device, capsys):
    png = clips / f"explain-{device}.png"
    assert main(["explain", str(clips / "noisy.wav"), str(clips / "clean.wav"), "--losses", "l1", "mrstft",
                 "--out", str(png), "--device", device]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["l1", "mrstft"]
    out = clips / f"style-{device}.wav"
    assert main(["style", str(clips / "clean.wav"), str(clips / "noisy.wav"), str(out), "--steps", "2",
                 "--device", device, "-q"]) == 0
    audio, rate = sf.read(out)
    assert rate == 16000 and audio.shape == (16000,) and np.isfinite(audio).all()
