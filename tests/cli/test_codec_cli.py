"""`earshot codec encode/decode/info` and `earshot eval codec` end to end."""

import math

import pytest
import torch

from earshot.audio.io import load, save
from earshot.cli.main import main
from earshot.models.codec import SoundStream
from earshot.weights import load_pretrained, save_pretrained


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Two tiny codecs saved as weights (a manifest path works as a model name)."""
    root = tmp_path_factory.mktemp("weights")
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        kwargs = {"sample_rate": 16000, "channels": 2, "dim": 4, "n_quantizers": 24}
        model = SoundStream(**kwargs)
        model(0.1 * torch.randn(2, 1, 16000))  # k-means init of the codebooks
        paths.append(str(save_pretrained(model.eval(), f"tiny{seed}", kwargs=kwargs, sample_rate=16000,
                                         out_dir=root)))
    return paths


@pytest.fixture
def wav(tmp_path):
    t = torch.arange(8000) / 16000
    audio = (0.3 * torch.sin(2 * math.pi * 220 * t) + 0.05 * torch.randn(8000, generator=torch.Generator().manual_seed(0)))
    return save(tmp_path / "in.wav", audio[None], 16000, subtype="FLOAT")


def test_encode_decode_equals_model_in_eval(weights, wav, tmp_path, capsys):
    esc, out = tmp_path / "a.esc", tmp_path / "out.wav"
    assert main(["codec", "encode", str(wav), str(esc), "--kbps", "6", "--model", weights[0]]) == 0
    # header 29 bytes + model name, 25 frames x 12 codes x 10 bits, CRC-32
    assert esc.stat().st_size == 29 + len(weights[0]) + math.ceil(25 * 12 * 10 / 8) + 4
    assert main(["codec", "decode", str(esc), str(out), "--subtype", "FLOAT"]) == 0
    decoded, rate = load(out)
    model = load_pretrained(weights[0])
    x, _ = load(wav)
    with torch.no_grad():
        expected = model(x[None], 12).audio[0].clamp(-1, 1)
    assert rate == 16000 and decoded.shape == x.shape
    assert torch.equal(decoded, expected)
    assert main(["codec", "info", str(esc)]) == 0
    assert "12 quantizers x 10 bits, 25 frames, 8000 samples" in capsys.readouterr().out


def test_denoise_flag_is_stored(weights, wav, tmp_path, capsys):
    esc = tmp_path / "d.esc"
    assert main(["codec", "encode", str(wav), str(esc), "--kbps", "3", "--denoise", "--model", weights[0]]) == 0
    assert main(["codec", "info", str(esc)]) == 0
    assert "denoise on" in capsys.readouterr().out


def test_clear_errors(weights, wav, tmp_path, capsys):
    esc = tmp_path / "a.esc"
    assert main(["codec", "encode", str(wav), str(wav), "--model", weights[0]]) == 2
    assert "refusing to write over it" in capsys.readouterr().err
    assert main(["codec", "encode", str(wav), str(esc), "--kbps", "40", "--model", weights[0]]) == 2
    assert "outside this model's range" in capsys.readouterr().err
    assert main(["codec", "encode", str(wav), str(esc), "--model", weights[0]]) == 0
    assert main(["codec", "encode", str(wav), str(esc), "--model", weights[0]]) == 2
    assert "already exists" in capsys.readouterr().err
    out = tmp_path / "o.wav"
    assert main(["codec", "decode", str(esc), str(out), "--model", weights[1]]) == 2
    assert "another model" in capsys.readouterr().err and not out.exists()
    data = esc.read_bytes()
    (tmp_path / "cut.esc").write_bytes(data[:-7])
    assert main(["codec", "decode", str(tmp_path / "cut.esc"), str(out)]) == 2
    assert "truncated" in capsys.readouterr().err
    bad = bytearray(data)
    bad[-20] ^= 1
    (tmp_path / "bad.esc").write_bytes(bytes(bad))
    assert main(["codec", "decode", str(tmp_path / "bad.esc"), str(out)]) == 2
    assert "corrupted" in capsys.readouterr().err
    assert main(["codec", "decode", str(wav), str(out)]) == 2
    assert "not an earshot codec file" in capsys.readouterr().err
