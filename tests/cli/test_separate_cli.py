"""`earshot separate` on files the test writes, with a tiny separator saved as shipped weights."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from earshot.audio.io import load
from earshot.audio.resample import resample
from earshot.cli.main import main
from earshot.models.separator import Separator, UNetSeparator
from earshot.weights.hub import save_pretrained


@pytest.fixture
def model_manifest(tmp_path):
    torch.manual_seed(0)
    kwargs = {"channels": 2, "depth": 2, "kind": "mask"}
    model = UNetSeparator(**kwargs)
    return model.eval(), save_pretrained(model, "tiny-sep", kwargs=kwargs, sample_rate=8192, out_dir=tmp_path / "w")


def write_inputs(root):
    rng = np.random.default_rng(0)
    root.mkdir()
    sf.write(root / "stereo.wav", 0.2 * rng.standard_normal((16000, 2)), 16000)   # 1 s, 2 channels, 16 kHz
    sf.write(root / "mono.flac", 0.2 * rng.standard_normal(9000), 8192)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wave file")
    return [root / "stereo.wav", root / "mono.flac", root / "broken.wav"]


def test_separates_good_files_and_reports_the_bad_one(tmp_path, model_manifest, capsys):
    model, manifest = model_manifest
    inputs = write_inputs(tmp_path / "in")
    before = [p.read_bytes() for p in inputs]
    out = tmp_path / "out"
    rc = main(["separate", *map(str, inputs), "--out", str(out), "--model", str(manifest),
               "--chunk-seconds", "0.5", "--format", "flac"])
    assert rc == 1
    err = capsys.readouterr().err
    assert [line.split(": ")[0] for line in err.splitlines() if "broken.wav" in line] == [f"skipped {inputs[2]}"]
    assert "2 done, 1 skipped" in err
    assert [p.read_bytes() for p in inputs] == before
    assert not (out / "broken").exists()
    for name, src in (("stereo", inputs[0]), ("mono", inputs[1])):
        audio, sr = load(src, sample_rate=8192)
        with torch.no_grad():
            expected = Separator(model, chunk_frames=None)(audio[None])[0]
        for k, source in enumerate(("vocals", "accompaniment")):
            got, rate = load(out / name / f"{source}.flac")
            want = resample(expected[k], 8192, sf.info(src).samplerate)          # written at the input's rate
            assert rate == sf.info(src).samplerate and got.shape == want.shape
            torch.testing.assert_close(got, want.clamp(-1, 1), atol=2e-4, rtol=0)  # 16-bit FLAC


def test_existing_outputs_need_overwrite_and_inputs_are_never_replaced(tmp_path, model_manifest):
    _, manifest = model_manifest
    src = tmp_path / "vocals"
    src.mkdir()
    sf.write(src / "vocals.wav", 0.1 * np.ones(4000), 8192)   # would be written as <out>/vocals/vocals.wav
    other = tmp_path / "mix.wav"
    sf.write(other, 0.1 * np.ones(4000), 8192)
    args = ["separate", str(other), "--out", str(tmp_path / "out"), "--model", str(manifest)]
    assert main(args) == 0
    assert main(args) == 1                              # outputs exist: skipped
    assert main(args + ["--overwrite", "--rate", "model"]) == 0
    before = (src / "vocals.wav").read_bytes()
    assert main(["separate", str(src / "vocals.wav"), "--out", str(tmp_path), "--model", str(manifest),
                 "--overwrite"]) == 1
    assert (src / "vocals.wav").read_bytes() == before


def test_folders_and_the_default_output_folder(tmp_path, model_manifest, monkeypatch, capsys):
    _, manifest = model_manifest
    inputs = write_inputs(tmp_path / "in")
    (tmp_path / "in" / "sub").mkdir()
    sf.write(tmp_path / "in" / "sub" / "mono.wav", 0.1 * np.ones(3000), 8192)   # same stem as in/mono.flac
    monkeypatch.chdir(tmp_path)
    assert main(["separate", "in", "--model", str(manifest), "-q", "--device", "cpu"]) == 1   # broken.wav skipped
    written = sorted(str(p.relative_to(tmp_path / "separated")) for p in (tmp_path / "separated").rglob("*.wav"))
    assert written == [f"{d}/{s}.wav" for d in ("mono", "stereo", "sub/mono") for s in ("accompaniment", "vocals")]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"skipped {Path('in') / 'broken.wav'}") and err[1] == "3 done, 1 skipped"
    vocals, rate = load(tmp_path / "separated" / "stereo" / "vocals.wav")
    assert rate == 16000 and vocals.shape == (2, 16000)                          # the input's rate and length
    assert inputs[0].exists()


def test_unknown_model_is_an_error(tmp_path, capsys):
    inputs = write_inputs(tmp_path / "in")
    assert main(["separate", str(inputs[0]), "--out", str(tmp_path / "o"), "--model", "no-such-model"]) == 2
    assert "no pretrained weights" in capsys.readouterr().err
