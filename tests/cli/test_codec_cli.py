"""`earshot codec encode/decode/info` and `earshot eval codec` end to end."""

import math
from pathlib import Path

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
    assert main(["codec", "encode", str(wav), "--out", str(wav), "--model", weights[0]]) == 2
    assert "--out" in capsys.readouterr().err                            # an audio file is not an .esc output
    assert main(["codec", "encode", str(wav), str(esc), "--kbps", "40", "--model", weights[0]]) == 2
    assert "outside this model's range" in capsys.readouterr().err
    assert main(["codec", "encode", str(wav), str(esc), "--model", weights[0]]) == 0
    assert main(["codec", "encode", str(wav), str(esc), "--model", weights[0]]) == 1
    assert capsys.readouterr().err.count("already exists; pass --overwrite") == 1
    out = tmp_path / "o.wav"
    assert main(["codec", "decode", str(esc), str(out), "--model", weights[1]]) == 1
    assert "another model" in capsys.readouterr().err and not out.exists()
    data = esc.read_bytes()
    (tmp_path / "cut.esc").write_bytes(data[:-7])
    assert main(["codec", "decode", str(tmp_path / "cut.esc"), str(out)]) == 1
    assert "truncated" in capsys.readouterr().err
    bad = bytearray(data)
    bad[-20] ^= 1
    (tmp_path / "bad.esc").write_bytes(bytes(bad))
    assert main(["codec", "decode", str(tmp_path / "bad.esc"), str(out)]) == 1
    assert "corrupted" in capsys.readouterr().err
    assert main(["codec", "decode", str(wav), "--out", str(out)]) == 1
    assert "not an earshot codec file" in capsys.readouterr().err
    assert main(["codec", "decode", str(esc), "--out", str(esc), "--overwrite"]) == 2   # .esc is no audio output
    assert main(["codec", "decode", str(esc), "--out", str(tmp_path), "--format", "wav"]) == 0   # beside its input
    assert esc.read_bytes() == data and load(tmp_path / "a.wav")[0].shape == (1, 8000)


def test_folders_default_output_folder_and_one_skip_message(weights, wav, tmp_path, monkeypatch, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    t = torch.arange(22050) / 44100
    save(src / "sub" / "stereo.flac", 0.2 * torch.stack([torch.sin(2 * math.pi * 300 * t), torch.sin(2 * math.pi * 500 * t)]),
         44100)
    save(src / "in.wav", load(wav)[0], 16000)
    (src / "broken.wav").write_bytes(b"RIFF\x00\x00 not a wave")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["codec", "encode", str(src), "--model", weights[0], "--no-progress"]) == 1
    err = capsys.readouterr().err
    skips = [line for line in err.splitlines() if "broken.wav" in line]
    assert len(skips) == 1 and skips[0].startswith(f"skipped {src / 'broken.wav'}: not a readable audio file")
    assert "2 done, 1 skipped" in err
    assert sorted(p.relative_to(work) for p in work.rglob("*.esc")) == [Path("encoded/in.esc"),
                                                                       Path("encoded/sub/stereo.esc")]
    assert main(["codec", "decode", "encoded", "--format", "flac", "-q"]) == 0
    assert capsys.readouterr().err.strip() == "2 done, 0 skipped"       # --quiet: the summary only
    stereo, rate = load(work / "decoded" / "sub" / "stereo.flac")
    assert rate == 16000 and stereo.shape == (1, 8000)                   # mono mix at the model's rate, 0.5 s


def test_long_files_stream_in_chunks_like_offline_coding(weights, tmp_path):
    """Chunked coding (0.1 s chunks of a 1 s file) equals one-piece coding to float rounding."""
    t = torch.arange(16000) / 16000
    x = 0.3 * torch.sin(2 * math.pi * 220 * t) * torch.sin(2 * math.pi * 3 * t)
    wav = save(tmp_path / "long.wav", x[None], 16000, subtype="FLOAT")
    for name, chunk in (("whole", "30"), ("chunked", "0.1")):
        assert main(["codec", "encode", str(wav), str(tmp_path / f"{name}.esc"), "--model", weights[0],
                     "--chunk-seconds", chunk, "--device", "cpu"]) == 0
        assert main(["codec", "decode", str(tmp_path / f"{name}.esc"), str(tmp_path / f"{name}.wav"),
                     "--subtype", "FLOAT", "--chunk-seconds", chunk, "--device", "cpu"]) == 0
    from earshot.models.codec import bitstream

    whole, chunked = bitstream.read(tmp_path / "whole.esc"), bitstream.read(tmp_path / "chunked.esc")
    assert whole.n_samples == chunked.n_samples == 16000
    assert (whole.codes != chunked.codes).float().mean() < 0.02          # rounding may flip a rare nearest code
    a, b = load(tmp_path / "whole.wav")[0], load(tmp_path / "chunked.wav")[0]
    assert a.shape == b.shape == (1, 16000)
    model = load_pretrained(weights[0])
    with torch.no_grad():
        same_codes = model.decode(chunked.codes[None], length=16000)[0].clamp(-1, 1)
    torch.testing.assert_close(b, same_codes, atol=1e-5, rtol=0)          # streaming decode = offline decode
