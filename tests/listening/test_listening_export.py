"""`earshot listen export/status`: the JND judgment list that `earshot train jnd` reads, and CSV
tables with per-condition means and 95% confidence intervals."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sqlalchemy import select

from earshot.cli import listen as listen_cli
from earshot.data.judgments import JudgmentListDataset, read_judgments
from earshot.listening import stats
from earshot.listening.experiment import load_experiment
from earshot.listening.service import ListeningService
from earshot.listening.store import Store, Trial


def trial_of(service, state) -> Trial:
    with service.store.transaction() as s:
        return s.scalar(select(Trial).where(Trial.public_id == state["id"]))


def run_participant(service, name, decide):
    token = service.join(name)
    state, i = service.state(token), 0
    while state["kind"] != "end":
        state = service.answer(token, state["id"], f"key-{i:05d}", decide(state, trial_of(service, state)))["next"]
        i += 1


def jnd_listener(threshold):
    def decide(state, trial):
        if state["kind"] == "volume":
            return {"ok": True}
        if state["kind"] == "headphone":
            return {"side": trial.payload["expected"]}
        return {"different": trial.level >= threshold}
    return decide


@pytest.fixture
def db(experiments, tmp_path):
    """A database where three JND listeners (thresholds 3, 3, 4) and two MUSHRA listeners answered."""
    path = str(tmp_path / "export.db")
    service = ListeningService(Store(path), {n: load_experiment(experiments[n]) for n in ("jnd", "mushra")})
    for threshold in (3, 3, 4):
        run_participant(service, "jnd", jnd_listener(threshold))
    ratings = {"reference": [100, 95, 100, 90], "anchor": [10, 20, 15, 5],
               "codec_hi": [80, 70, 75, 85], "codec_lo": [40, 50, 30, 45]}
    served = iter(range(4))

    def mushra(state, trial):
        if state["kind"] == "volume":
            return {"ok": True}
        k = next(served)
        return {"ratings": {sid: ratings[cond][k] for sid, cond in trial.payload["conditions"].items()}}

    for _ in range(2):
        run_participant(service, "mushra", mushra)
    service.store.dispose()
    return path, ratings


def test_jnd_export_is_a_judgment_list(db, tmp_path, capsys):
    path, _ = db
    out = tmp_path / "judgments.jsonl"
    assert listen_cli.main(["export", path, "--experiment", "jnd", "--format", "jnd", "--out", str(out)]) == 0
    assert "30 answers" in capsys.readouterr().out
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    judgments = read_judgments(out)
    assert len(judgments) == len(lines) and sum(x["params"]["n_judgments"] for x in lines) == 30
    for line, j in zip(lines, judgments):
        level = line["params"]["level"]
        assert j.reference.is_file() and j.test.is_file() and j.label == line["label"]
        n_diff = line["params"]["n_different"]
        assert line["test"].endswith("reference.wav" if level == 0 else f"level_{level:02d}.wav")
        assert line["label"] == pytest.approx(n_diff / line["params"]["n_judgments"], abs=1e-6)
        assert 1 <= line["n_listeners"] <= 3
    by_level = {}  # listeners with thresholds 3, 3 and 4
    for line in lines:
        by_level.setdefault(line["params"]["level"], []).append(line["label"])
    assert all(v == 0.0 for lv, vals in by_level.items() if lv < 3 for v in vals)
    assert all(v == 1.0 for lv, vals in by_level.items() if lv >= 4 for v in vals)
    item = JudgmentListDataset(out, sample_rate=16000)[0]
    assert item[0].shape == item[1].shape == (1, 3200) and float(item[2]) in (0.0, 1.0)
    per = tmp_path / "per.jsonl"
    assert listen_cli.main(["export", path, "--experiment", "jnd", "--format", "jnd", "--out", str(per),
                            "--per-judgment"]) == 0
    assert [json.loads(x)["label"] for x in per.read_text().splitlines()].count(0.5) == 0
    assert len(per.read_text().splitlines()) == 30
    assert listen_cli.main(["export", path, "--experiment", "jnd", "--format", "jnd", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert listen_cli.main(["export", path, "--experiment", "mushra", "--format", "jnd", "--out",
                            str(tmp_path / "x.jsonl")]) == 2


def test_the_export_trains_the_jnd_metric(db, tmp_path):
    from earshot.cli.main import main as earshot

    path, _ = db
    out = tmp_path / "judgments.jsonl"
    assert listen_cli.main(["export", path, "--experiment", "jnd", "--format", "jnd", "--out", str(out)]) == 0
    run = tmp_path / "run"
    code = earshot(["train", "jnd", f"recipe.lists={out}", "train.steps=2", "train.val_every=2",
                    "train.batch_size=4", "--run-dir", str(run)])
    assert code == 0
    assert any(run.rglob("*.yaml")) or any(run.rglob("*.json"))


def test_csv_export_has_means_and_intervals(db, tmp_path, capsys):
    path, ratings = db
    out = tmp_path / "mushra.csv"
    assert listen_cli.main(["export", path, "--experiment", "mushra", "--format", "csv", "--out", str(out)]) == 0
    raw = list(csv.DictReader(out.open()))
    assert len(raw) == 2 * 2 * 4 and {r["condition"] for r in raw} == set(ratings)
    summary = {r["condition"]: r for r in csv.DictReader((tmp_path / "mushra_summary.csv").open())}
    for cond, values in ratings.items():
        mean, low, high = stats.mean_ci(values)
        assert float(summary[cond]["mean"]) == pytest.approx(np.mean(values))
        assert float(summary[cond]["ci_low"]) == pytest.approx(low, abs=1e-5)
        assert float(summary[cond]["ci_high"]) == pytest.approx(high, abs=1e-5)
        assert int(summary[cond]["n"]) == 4
    printed = capsys.readouterr().out
    assert "condition" in printed and "codec_hi" in printed
    assert listen_cli.main(["status", path]) == 0
    status = capsys.readouterr().out
    assert "jnd (jnd): 3 done; 0 flagged; 51 answers" in status
    assert "mushra (mushra): 2 done; 0 flagged; 6 answers" in status
    assert listen_cli.main(["status", str(tmp_path / "missing.db")]) == 2


def test_csv_export_neutralises_formula_prefixes(tmp_path, monkeypatch):
    # a stimulus named =HYPERLINK(...) was written verbatim: a spreadsheet would run it
    import yaml
    from listening_helpers import tone, write

    evil = ['=HYPERLINK("evil.example","x")', "+SUM(A1)", "-2+3", "@cmd", "plain"]
    for name in evil:
        write(tmp_path / "stim" / "item" / f"{name}.wav", tone(300))
    (tmp_path / "ab.yaml").write_text(yaml.safe_dump({"name": "ab", "type": "ab", "volume_check": False,
                                                        "stimuli": str(tmp_path / "stim")}))
    path = str(tmp_path / "ab.db")
    service = ListeningService(Store(path), {"ab": load_experiment(tmp_path / "ab.yaml")})
    run_participant(service, "ab", lambda state, trial: {"choice": "A"})
    service.store.dispose()
    out = tmp_path / "ab.csv"
    assert listen_cli.main(["export", path, "--experiment", "ab", "--format", "csv", "--out", str(out)]) == 0
    for table in (out, tmp_path / "ab_summary.csv"):
        cells = [c for row in csv.reader(table.open()) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], table
        assert not [c for c in cells if c.startswith("-") and not _is_number(c)], table
    conditions = {r["condition_a"] for r in csv.DictReader(out.open())} | {
        r["condition_b"] for r in csv.DictReader(out.open())}
    assert conditions == {"'" + n if n != "plain" else n for n in evil}
    summary = list(csv.DictReader((tmp_path / "ab_summary.csv").open()))
    assert all(_is_number(r["mean"]) for r in summary)  # numbers stay numbers


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
