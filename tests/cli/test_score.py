"""`earshot score` end to end on files the test writes: pairs, folders, bad files, formats."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from earshot.audio import load, resample, save
from earshot.cli.main import main
from earshot.metrics import si_sdr, snr

SR = 16000


def _signal(seed: int, seconds: float = 0.5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(SR * seconds)) / SR
    return (0.4 * torch.sin(2 * math.pi * (200 + 50 * seed) * t) + 0.05 * torch.randn(t.shape, generator=g))[None]


def _noisy(x: torch.Tensor, snr_db: float, seed: int) -> torch.Tensor:
    n = torch.randn(x.shape, generator=torch.Generator().manual_seed(100 + seed))
    return x + n * (x.square().sum() / n.square().sum() / 10 ** (snr_db / 10)).sqrt()


@pytest.fixture
def folders(tmp_path):
    """ref/ and deg/ with two good pairs (one degraded as FLAC), one broken degraded file,
    one reference without a partner and one degraded file without a reference."""
    ref, deg = tmp_path / "ref", tmp_path / "deg"
    expected = {}
    for i, (name, snr_db) in enumerate([("a.wav", 10.0), ("sub/b.wav", 20.0)]):
        x = _signal(i)
        y = _noisy(x, snr_db, i)
        save(ref / name, x, SR)
        save(deg / (name if i == 0 else name.replace(".wav", ".flac")), y, SR)
        expected[name] = snr_db
    save(ref / "broken.wav", _signal(5), SR)
    (deg / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(200))
    save(ref / "lonely.wav", _signal(6), SR)
    save(deg / "extra.wav", _signal(7), SR)
    return ref, deg, expected


def test_pair_table_and_json(tmp_path, capsys):
    x = _signal(1)
    y = _noisy(x, 15.0, 1)
    r, d = save(tmp_path / "r.wav", x, SR), save(tmp_path / "d.wav", y, SR)
    assert main(["score", str(d), str(r), "--metrics", "snr,si_sdr"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["file", "snr", "si_sdr"]
    assert float(table[2].split()[1]) == pytest.approx(15.0, abs=0.01)
    assert main(["score", str(d), str(r), "-m", "snr,si_sdr,pesq", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    item = doc["items"][0]
    assert doc["failed"] == [] and item["sample_rate"] == SR
    # the file values equal the library's on the decoded (16-bit) audio
    xr, yr = load(r)[0][None], load(d)[0][None]
    assert item["metrics"]["snr"] == pytest.approx(snr(yr, xr).item(), abs=1e-4)
    assert item["metrics"]["si_sdr"] == pytest.approx(si_sdr(yr, xr).item(), abs=1e-4)
    assert 1.0 <= item["metrics"]["pesq"] <= 4.7


def test_folders_skip_bad_and_unmatched_files_and_exit_1(folders, capsys):
    ref, deg, expected = folders
    code = main(["score", str(deg), str(ref), "-m", "snr,si_sdr", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    doc = json.loads(captured.out)
    scored = {item["name"]: item for item in doc["items"]}
    assert set(scored) == set(expected)  # sub/b.wav matched deg/sub/b.flac by name
    for name, snr_db in expected.items():
        assert scored[name]["metrics"]["snr"] == pytest.approx(snr_db, abs=0.05)
    failed = {f["item"]: f["reason"] for f in doc["failed"]}
    assert set(failed) == {"broken.wav", "lonely.wav", "extra.wav"}
    assert str(deg / "broken.wav") in failed["broken.wav"]
    assert "no degraded file" in failed["lonely.wav"] and "no reference file" in failed["extra.wav"]
    assert "2 done, 3 skipped" in captured.err
    assert doc["mean"]["snr"] == pytest.approx(sum(expected.values()) / 2, abs=0.05)


def test_csv_to_file_and_never_over_an_input(folders, tmp_path, capsys):
    ref, deg, _ = folders
    out = tmp_path / "scores" / "s.csv"
    assert main(["score", str(deg), str(ref), "-m", "snr", "--csv", "--out", str(out), "--no-progress"]) == 1
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["name"] for r in rows] == ["a.wav", "sub/b.wav"]
    assert float(rows[0]["snr"]) == pytest.approx(10.0, abs=0.05)
    victim = ref / "a.wav"
    before = victim.read_bytes()
    assert main(["score", str(deg), str(ref), "-m", "snr", "--out", str(victim), "--no-progress"]) == 2
    assert victim.read_bytes() == before
    assert "refusing to write over it" in capsys.readouterr().err


def test_missing_file_mismatched_channels_and_resampling(tmp_path, capsys):
    x = _signal(2)
    r = save(tmp_path / "r.wav", x, SR)
    assert main(["score", str(tmp_path / "nope.wav"), str(r), "-m", "snr"]) == 1
    assert "no such file" in capsys.readouterr().err
    stereo = save(tmp_path / "st.wav", x.repeat(2, 1), SR)
    assert main(["score", str(stereo), str(r), "-m", "snr"]) == 1
    assert "channel" in capsys.readouterr().err
    # a degraded file at another rate is resampled to the reference's rate

    d48 = save(tmp_path / "d48.wav", resample(_noisy(x, 25.0, 2), SR, 48000), 48000)
    assert main(["score", str(d48), str(r), "-m", "snr", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["items"][0]["metrics"]["snr"]
    back = load(d48, sample_rate=SR)[0]
    assert got == pytest.approx(snr(back[None], load(r)[0][None]).item(), abs=1e-4)
    assert got == pytest.approx(25.0, abs=2.0)  # soxr's anti-alias band edge trims some noise
    assert main(["score", str(r), str(r), "-m", "snr,sdr", "--sample-rate", "8000", "--json"]) == 0
    item = json.loads(capsys.readouterr().out)["items"][0]
    assert item["sample_rate"] == 8000 and item["metrics"]["snr"] > 60


def test_list_and_usage_errors(capsys):
    assert main(["score", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["si_sdr"][1:3] == ["higher", "yes"]
    assert rows["pesq"][1:3] == ["higher", "no"]
    assert rows["mel_distance"][1:3] == ["lower", "yes"]
    assert "jnd" in rows
    assert main(["score", "a.wav"]) == 2
    assert main(["score", "a.wav", "b.wav", "-m", "bogus"]) == 2
    assert "unknown metric" in capsys.readouterr().err


def test_console_script_exit_status(folders):
    ref, deg, _ = folders
    exe = Path(sys.executable).with_name("earshot")
    proc = subprocess.run([str(exe), "score", str(deg), str(ref), "-m", "snr"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "mean (2 files)" in proc.stdout and proc.stderr.count("skipped broken.wav") == 1


def test_short_and_silent_pairs_score_nan_with_a_warning_and_the_batch_finishes(tmp_path, capsys, caplog):
    # a 200-sample clip crashed pystoi with a raw AxisError and aborted the whole folder
    ref, deg = tmp_path / "ref", tmp_path / "deg"
    x = _signal(3)
    save(ref / "good.wav", x, SR), save(deg / "good.wav", _noisy(x, 10.0, 3), SR)
    save(ref / "short.wav", x[:, :200], SR), save(deg / "short.wav", x[:, :200], SR)
    save(ref / "silent.wav", 0 * x, SR), save(deg / "silent.wav", 0 * x, SR)
    code = main(["score", str(deg), str(ref), "-m", "snr,stoi,pesq", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0
    items = {i["name"]: i["metrics"] for i in json.loads(captured.out)["items"]}
    assert items["good.wav"]["snr"] == pytest.approx(10.0, abs=0.05) and 0 < items["good.wav"]["stoi"] < 1
    assert items["short.wav"]["stoi"] is None and items["short.wav"]["pesq"] is None
    assert items["silent.wav"]["stoi"] is None
    assert "short.wav: STOI of item 0 channel 0: needs at least 0.410 s" in caplog.text
    assert "silent.wav: STOI of item 0 channel 0: the reference is digital silence" in caplog.text


def test_each_skip_is_reported_once_naming_the_file_at_fault(folders, capsys, caplog):
    ref, deg, _ = folders
    assert main(["score", str(deg), str(ref), "-m", "snr", "--no-progress"]) == 1
    err = capsys.readouterr().err + caplog.text
    assert err.count("skipped broken.wav") == 1 and err.count("skipped lonely.wav") == 1
    line = next(line for line in err.splitlines() if "skipped broken.wav" in line)
    assert str(deg / "broken.wav") in line and str(ref / "broken.wav") not in line
    assert "2 done, 3 skipped" in err


def test_estimate_first_device_option_and_missing_extras_in_list(tmp_path, capsys, monkeypatch):
    x = _signal(4)
    y = 0.5 * _noisy(x, 10.0, 4)
    r, d = save(tmp_path / "r.wav", x, SR), save(tmp_path / "d.wav", y, SR)
    assert main(["score", str(d), str(r), "-m", "snr", "--json", "--device", "cpu"]) == 0
    got = json.loads(capsys.readouterr().out)["items"][0]
    assert got["degraded"] == str(d) and got["reference"] == str(r)
    assert got["metrics"]["snr"] == pytest.approx(snr(load(d)[0][None], load(r)[0][None]).item(), abs=1e-4)
    assert main(["score", str(d), str(r), "-m", "snr", "--device", "nonsense"]) == 2
    assert "--device 'nonsense'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pystoi", None)
    assert main(["score", "--list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "no: pip install 'earshot[metrics]'" in rows["stoi"] and " yes " in rows["snr"]
    assert main(["score", str(d), str(r), "-m", "stoi"]) == 2
    assert "pip install 'earshot[metrics]'" in capsys.readouterr().err


@pytest.mark.gpu
def test_device_cuda_scores_like_cpu(tmp_path, capsys):
    x = _signal(5, seconds=1.0)
    r, d = save(tmp_path / "r.wav", x, SR), save(tmp_path / "d.wav", _noisy(x, 12.0, 5), SR)
    values = {}
    for device in ("cpu", "cuda"):
        assert main(["score", str(d), str(r), "-m", "snr,si_sdr,mel_distance,lsd,stoi", "--json", "--device", device]) == 0
        values[device] = json.loads(capsys.readouterr().out)["items"][0]["metrics"]
    for name, value in values["cpu"].items():
        assert values["cuda"][name] == pytest.approx(value, rel=1e-3, abs=1e-3), name


def test_metrics_take_space_separated_names_like_every_list_option(tmp_path, capsys):
    from earshot.audio.io import save

    t = torch.arange(16000) / 16000
    clean = (0.3 * torch.sin(2 * torch.pi * 440 * t)).reshape(1, -1)
    save(tmp_path / "ref.wav", clean, 16000)
    save(tmp_path / "est.wav", clean + 0.03 * torch.sin(2 * torch.pi * 1000 * t).reshape(1, -1), 16000)
    args = [str(tmp_path / "est.wav"), str(tmp_path / "ref.wav"), "--json", "--metrics"]
    assert main(["score", *args, "snr", "si_sdr"]) == 0
    spaced = capsys.readouterr().out
    assert main(["score", *args, "snr,si_sdr"]) == 0           # the older comma form still reads
    assert capsys.readouterr().out == spaced and '"snr"' in spaced and '"si_sdr"' in spaced
