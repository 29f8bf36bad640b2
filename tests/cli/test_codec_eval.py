"""`earshot eval codec` logic: systems, bitrates actually used, metrics, summary and table."""

import math

import pytest
import torch

from earshot.evals.codec import baselines, evaluate, markdown, ours, write_examples
from earshot.models.codec import SoundStream


def voiced(seconds=1.0, rate=16000, f0=140.0):
    """A vowel-like test signal: harmonics of ``f0`` with a syllable-rate envelope, (1, 1, T)."""
    t = torch.arange(int(seconds * rate)) / rate
    tone = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 20))
    return (0.1 * tone * (0.6 + 0.4 * torch.sin(2 * math.pi * 4 * t))).reshape(1, 1, -1)


def test_evaluate_against_real_opus_and_mp3(tmp_path):
    torch.manual_seed(0)
    model = SoundStream(16000, channels=2, dim=4, n_quantizers=24)
    model(0.1 * torch.randn(2, 1, 16000))
    systems = {"soundstream": ours(model.eval(), "tiny"), **baselines(16000),
               "identity": lambda clip, kbps: (clip, 256.0)}
    clips = {"speech": [("v", voiced())], "music": [("m", voiced(f0=330.0))]}
    kept = {}
    rows, items = evaluate(systems, clips, [3.0, 12.0], 16000, keep=kept)
    assert len(items) == 4 * 2 * 2 and len(rows) == 4 * 2 * 2
    used = {(r["system"], r["kbps"]): r["kbps_used"] for r in rows}
    assert used[("soundstream", 3.0)] == 3.0 and used[("soundstream", 12.0)] == 12.0
    assert used[("opus", 3.0)] == 6.0 and used[("opus", 12.0)] == 12.0      # libopus minimum 6
    assert used[("mp3", 3.0)] == 8.0 and used[("mp3", 12.0)] == 16.0       # LAME CBR steps
    by = {(r["system"], r["kbps"], r["kind"]): r for r in rows}
    ident = by[("identity", 12.0, "music")]
    assert ident["mel_distance"] == pytest.approx(0.0, abs=1e-6) and ident["stoi"] > 0.99
    assert "pesq" not in ident and "pesq" in by[("identity", 12.0, "speech")]
    assert by[("identity", 12.0, "speech")]["pesq"] > 4.0
    # a real codec is worse than no codec, and Opus at 12 kbps beats an untrained tiny model
    assert by[("opus", 12.0, "music")]["mel_distance"] > 0.01
    assert by[("opus", 12.0, "music")]["si_sdr"] > by[("soundstream", 12.0, "music")]["si_sdr"]
    table = markdown(rows)
    assert table.count("\n") == 1 + len(rows) and "| 3 | speech | soundstream | 3 |" in table
    # examples: every decoding of the first clip of each kind, and spectrograms at the middle bitrate
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "stale-from-an-earlier-run.wav").write_bytes(b"")
    wavs, pngs = write_examples(kept, clips, tmp_path, 16000)
    from earshot.audio import load

    names = sorted(p.name for p in wavs)  # what this call wrote, not what the folder holds
    assert len(names) == 2 * (1 + 4 * 2) and "speech-3kbps-opus.wav" in names and "music-reference.wav" in names
    assert all(p.exists() for p in wavs + pngs) and len(list((tmp_path / "audio").iterdir())) == len(names) + 1
    back, _ = load(tmp_path / "audio" / "music-12kbps-identity.wav")
    assert torch.allclose(back, clips["music"][0][1][0], atol=1e-4)  # 16-bit WAV of the identity "codec"
    assert sorted(p.name for p in pngs) == ["spectrograms_music.png", "spectrograms_speech.png"]


def test_noisy_inputs_are_scored_against_the_clean_clips():
    clean = voiced()
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    noise = noise * clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt() * 10 ** (-10 / 20)  # 10 dB SNR
    clips, inputs = {"speech": [("v", clean)]}, {"speech": [("v", clean + noise)]}
    identity = {"identity": lambda clip, kbps: (clip, 256.0)}
    (row,), _ = evaluate(identity, clips, [6.0], 16000, inputs=inputs)
    assert row["si_sdr"] == pytest.approx(10.0, abs=0.3) and row["pesq"] < 4.0
    (clean_row,), _ = evaluate(identity, clips, [6.0], 16000)
    assert clean_row["si_sdr"] > 60
