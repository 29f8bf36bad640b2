"""`earshot experiment autoencoder` and `earshot eval style` end to end on a tiny real corpus."""

from __future__ import annotations

import json
import math

import pytest

from earshot.cli.main import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from earshot.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("exp-corpus") / "c"
    build_corpus(root, minutes=0.06, seed=5, progress=False)
    return root


def test_autoencoder_experiment_writes_table_audio_curves_and_spectrograms(corpus, tmp_path):
    out = tmp_path / "ae"
    code = main(["experiment", "autoencoder", "--corpus", str(corpus), "--out", str(out), "--models", "A", "C",
                 "--steps", "2", "--batch-size", "2", "--test-files", "1", "--test-seconds", "1"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    rows = results["scores"]
    assert {"A", "C"} <= set(rows)
    assert all(math.isfinite(rows[m]["stoi"]) for m in ("A", "C"))
    assert "| A: L1 |" in (out / "results.md").read_text()
    assert {"speech-0-A.wav", "speech-0-C.wav", "speech-0-input.wav"} <= {p.name for p in (out / "audio").iterdir()}
    assert (out / "spectrograms_speech-0.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "runs" / "A" / "metrics.csv").is_file() and (out / "runs" / "C" / "metrics.csv").is_file()


def test_eval_style_writes_pairs_audio_and_spectrograms(corpus, tmp_path):
    out = tmp_path / "style"
    code = main(["eval", "style", "--corpus", str(corpus), "--out", str(out), "--features", "ae",
                 "--methods", "spectrogram", "--pairs", "1", "--seconds", "1", "--steps", "2"])
    assert code == 0
    scores = json.loads((out / "results.json").read_text())
    assert {s["kind"] for s in scores} == {"speech", "music"}
    assert all(math.isfinite(s["style_out"]) for s in scores)
    names = {p.name for p in (out / "audio").iterdir()}
    assert {"ae-spectrogram-speech0-content.wav", "ae-spectrogram-speech0-style.wav",
            "ae-spectrogram-speech0-output.wav"} <= names
    assert len(list(out.glob("spectrograms_*.png"))) == 2
