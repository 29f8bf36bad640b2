"""The evaluation against peers: 0 dB mixing, weights lookup, and a small end-to-end run."""

import json

import pytest
import torch

from earshot.errors import ConfigError
from earshot.evals.reference_models import ReferenceEval, mix_at_0db, run, weights_path
from earshot.report.tables import section_json


def test_mix_at_0db_has_equal_energies_and_a_bounded_peak():
    g = torch.Generator().manual_seed(0)
    speech, music = 0.9 * torch.randn(1, 1, 8000, generator=g), 0.01 * torch.randn(1, 1, 9000, generator=g)
    mix, s, m = mix_at_0db(speech, music)
    assert mix.shape == s.shape == m.shape == (1, 1, 8000)
    assert float(s.pow(2).mean() / m.pow(2).mean()) == pytest.approx(1.0, rel=1e-5)
    torch.testing.assert_close(mix, s + m)
    assert float(mix.abs().max()) <= 1.0 + 1e-6
    ratio = float((s / speech[..., :8000]).mean())          # one common scale for all three
    torch.testing.assert_close(s, speech[..., :8000] * ratio)


def test_config_checks_and_weights_lookup(tmp_path):
    with pytest.raises(ConfigError, match="origin"):
        ReferenceEval(origin="studio")
    with pytest.raises(ConfigError, match="parts"):
        ReferenceEval(parts=["codec", "vocoder"])
    (tmp_path / "codec-16k.json").write_text("{}")
    assert weights_path("codec-16k", str(tmp_path)) == str(tmp_path / "codec-16k.json")
    assert weights_path("emulator-time", str(tmp_path)) == "emulator-time"
    assert weights_path("codec-16k", "") == "codec-16k"


@pytest.mark.slow
def test_separator_and_emulator_parts_on_a_tiny_corpus(tmp_path):
    from earshot.data.corpus import build_corpus

    corpus = tmp_path / "corpus"
    build_corpus(corpus, minutes=0.3, seed=0, progress=False)
    with pytest.raises(ConfigError, match="no real speech"):
        from earshot.evals.reference_models import load_clips
        load_clips(ReferenceEval(corpus=str(corpus)), 16000)
    section = run(ReferenceEval(corpus=str(corpus), origin="all", items=1, seconds=2.0,
                                parts=["separator", "emulator"], out=str(tmp_path / "out")))
    assert section.ok, section.error
    sep = {r["model"]: r for r in section.results["separator"]}
    assert sep["separator-speech-music"]["architecture"] == "UNetSeparator"
    assert sep["separator-speech-music"]["vocals_si_sdri"] > 0      # the shipped separator helps
    emu = {(r["model"], r["kind"]): r for r in section.results["emulator"]}
    assert set(emu) == {(m, k) for m in ("emulator-spectral", "emulator-time") for k in ("speech", "music")}
    assert all(r["E"] < 1.0 for r in emu.values())
    json.dumps(section_json(section))
