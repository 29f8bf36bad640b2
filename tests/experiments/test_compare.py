"""The seed/interval/paired-test machinery of the experiments, on made-up scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from earshot.experiments.compare import Outcome, Scorer, run_variants, summarise, tables
from earshot.experiments.testsets import TestItem, label_for, origin_of


def outcome() -> Outcome:
    # two variants, three seeds, one origin, five items; "good" is "base" + 1 on every item
    rng = np.random.default_rng(0)
    base = {s: rng.normal(2.0, 0.3, 5) for s in (0, 1, 2)}
    per = {"base": {s: {"real": {"pesq": list(v)}} for s, v in base.items()},
           "good": {s: {"real": {"pesq": list(v + 1.0 + 0.01 * s)}} for s, v in base.items()}}
    return Outcome(per, {"base": {0: 1.0, 1: 1.0, 2: 1.0}, "good": {0: 2.0, 1: 2.0, 2: 2.0}})


def test_summary_is_a_t_interval_over_seeds_and_a_wilcoxon_over_items():
    o = outcome()
    s = summarise(o, "base", ["pesq"])["real"]
    per_seed = [np.mean(o.per_item["good"][k]["real"]["pesq"]) for k in (0, 1, 2)]
    half = stats.t.ppf(0.975, 2) * np.std(per_seed, ddof=1) / math.sqrt(3)
    assert s["good"]["pesq"]["mean"] == pytest.approx(np.mean(per_seed))
    assert s["good"]["pesq"]["high"] - s["good"]["pesq"]["mean"] == pytest.approx(half)
    item_good = np.mean([o.per_item["good"][k]["real"]["pesq"] for k in (0, 1, 2)], axis=0)
    item_base = np.mean([o.per_item["base"][k]["real"]["pesq"] for k in (0, 1, 2)], axis=0)
    assert s["good"]["pesq"]["median_diff"] == pytest.approx(1.01)
    assert s["good"]["pesq"]["p"] == pytest.approx(stats.wilcoxon(item_good, item_base).pvalue)  # 5 of 5: 0.0625
    assert "p" not in s["base"]["pesq"]
    scores, paired = tables({"real": s}, labels={"good": "Good"}, metrics=["pesq"], baseline="base", seeds=3,
                            origin_notes={"real": "real recordings"}, train_seconds=o.train_seconds)
    assert scores.title.startswith("real recordings") and scores.rows[1][0] == "Good" and scores.rows[1][2] == 2.0
    assert paired.rows == [["Good", "+1.01 (p=0.062)"]]


def test_run_variants_scores_each_seed_and_pesq_only_on_speech():
    t = torch.arange(16000) / 16000
    clean = (0.3 * torch.sin(2 * math.pi * 300 * t) * (1 + torch.sin(2 * math.pi * 4 * t)) / 2).reshape(1, 1, -1)
    items = {"synthetic": [TestItem("speech-0", "speech", "synthetic", clean, clean),
                           TestItem("music-0", "music", "synthetic", clean, clean)]}
    scorer = Scorer(["pesq", "snr"])
    trained = []

    def train(variant, seed):
        trained.append((variant, seed))
        return (lambda x: x * (0.5 if variant == "half" else 1.0)), 0.0
    o = run_variants(["same", "half"], [0, 1], train, items, scorer)
    assert trained == [("same", 0), ("same", 1), ("half", 0), ("half", 1)]
    per = o.per_item["half"][1]["synthetic"]
    assert per["snr"] == pytest.approx([20 * math.log10(2)] * 2, abs=1e-3)  # error = half the signal: 6.02 dB
    assert per["pesq"][0] > 1 and math.isnan(per["pesq"][1])


def test_origin_and_labels():
    from earshot.data.corpus import CorpusItem

    assert origin_of(CorpusItem("a.wav", "speech", 1.0, "test", {})) == "synthetic"
    assert origin_of(CorpusItem("a.wav", "speech", 1.0, "test", {}, origin="real")) == "real"
    assert label_for("speech", "synthetic", 0) == "speech-0" and label_for("music", "real", 2) == "real-music-2"
