"""Session logic on a real SQLite file, in-process: plans, screening, catch trials, staircases,
resuming after a restart, idempotency, sequence balancing."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from earshot.psycho.staircase import AdaptiveStaircase
from earshot.listening.experiment import load_experiment
from earshot.listening.service import Conflict, ListeningService, NotFound
from earshot.listening.store import Participant, SequenceRow, Store, Trial, hash_token
from earshot.listening import export


@pytest.fixture
def make_service(experiments, tmp_path):
    db = str(tmp_path / "service.db")

    def make(*names):
        return ListeningService(Store(db), {n: load_experiment(experiments[n]) for n in names})

    return make


def payload(service, trial_id) -> Trial:
    with service.store.transaction() as s:
        return s.scalar(select(Trial).where(Trial.public_id == trial_id))


def answer_all(service, token, decide, *, limit=200):
    """Answer until the end with ``decide(state, trial_row) -> response``; returns the final state."""
    state = service.state(token)
    for i in itertools.count():
        if state["kind"] == "end" or i >= limit:
            return state
        reply = service.answer(token, state["id"], f"key-{i:06d}", decide(state, payload(service, state["id"])))
        state = reply["next"]


def truthful(state, trial, *, threshold=3):
    if state["kind"] == "volume":
        return {"ok": True}
    if state["kind"] == "headphone":
        return {"side": trial.payload["expected"]}
    return {"different": trial.level >= threshold}


def test_jnd_session_runs_the_staircase(make_service):
    service = make_service("jnd")
    exp = service.experiments["jnd"]
    token = service.join("jnd")
    first = service.state(token)
    assert first["kind"] == "volume" and first["total"] == 1 + 2 + 2 + 2 + 10
    end = answer_all(service, token, truthful)
    assert end == {"kind": "end", "status": "done", "message": end["message"]}
    with service.store.transaction() as s:
        p = s.scalar(select(Participant).where(Participant.token_hash == hash_token(token)))
        (seq,) = s.scalars(select(SequenceRow).where(SequenceRow.participant_id == p.id)).all()
        main = s.scalars(select(Trial).where(Trial.participant_id == p.id, Trial.phase == "main")
                         .order_by(Trial.index)).all()
        phases = [t.phase for t in s.scalars(select(Trial).where(Trial.participant_id == p.id).order_by(Trial.index))]
    assert phases == ["volume"] + ["headphone"] * 2 + ["pretest"] * 2 + ["warmup"] * 2 + ["main"] * 10
    assert p.status == "done" and not p.flagged and seq.n_done == 10 and not seq.checks_failed
    stair = AdaptiveStaircase.from_state(seq.state)  # the stored state replays the answers
    assert stair.levels == [t.level for t in main] and stair.levels[:2] == [0, 7]
    assert stair.answers == [t.level >= 3 for t in main]
    assert all(t.payload["sequence"] == seq.name for t in main)
    mu, _ = stair.fit()
    assert 1.5 <= mu <= 4.0  # the truthful listener's threshold is between levels 2 and 3
    assert exp.trials_per_sequence == 10


def test_failed_headphone_check_ends_the_session(make_service):
    service = make_service("jnd")
    token = service.join("jnd")

    def wrong_ear(state, trial):
        if state["kind"] == "headphone":
            return {"side": "left" if trial.payload["expected"] == "right" else "right"}
        return truthful(state, trial)

    end = answer_all(service, token, wrong_ear)
    assert end["status"] == "screened_out" and "headphones" in end["message"]
    with service.store.transaction() as s:
        n = s.scalar(select(Participant.position).where(Participant.token_hash == hash_token(token)))
    assert n == 3  # volume + two headphone trials, then nothing more


def test_failed_pretest_ends_the_session(make_service):
    service = make_service("jnd")
    token = service.join("jnd")

    def inverted(state, trial):
        if state["phase"] == "pretest":
            return {"different": not trial.payload["expected"]}
        return truthful(state, trial)

    assert answer_all(service, token, inverted)["status"] == "screened_out"


def test_failed_catch_trials_flag_the_participant(make_service):
    service = make_service("jnd")
    token = service.join("jnd")

    def always_different(state, trial):  # passes the checks, then calls an identical pair different
        if state["phase"] in ("headphone", "pretest", "warmup", "volume"):
            return truthful(state, trial)
        return {"different": True}

    assert answer_all(service, token, always_different)["status"] == "done"
    with service.store.transaction() as s:
        p = s.scalar(select(Participant).where(Participant.token_hash == hash_token(token)))
    assert p.flagged and p.catch_failures == 1
    _, records = export.load_records(service.store, "jnd")
    assert len(records) == 10 and all(r["flagged"] and r["checks_failed"] for r in records)
    assert export.jnd_lines(records, experiment="jnd") == []
    kept = export.jnd_lines(records, experiment="jnd", include_flagged=True)
    assert sum(line["params"]["n_judgments"] for line in kept) == 10


def test_warmup_feedback_and_no_feedback_elsewhere(make_service):
    service = make_service("jnd")
    token = service.join("jnd")
    state, feedback = service.state(token), []
    for i in range(17):
        trial = payload(service, state["id"])
        reply = service.answer(token, state["id"], f"k-{i:04d}", truthful(state, trial))
        feedback.append((trial.phase, reply["feedback"]))
        state = reply["next"]
    assert [f for ph, f in feedback if ph == "warmup"] and all(
        f["correct"] for ph, f in feedback if ph == "warmup")
    assert all(f is None for ph, f in feedback if ph != "warmup")


def test_session_resumes_after_a_restart(make_service):
    service = make_service("mushra")
    token = service.join("mushra")
    state = service.state(token)
    service.answer(token, state["id"], "resume-key-1", {"ok": True})
    current = service.state(token)
    service.store.dispose()
    restarted = make_service("mushra")  # a new server process on the same database
    assert restarted.state(token) == current
    with pytest.raises(NotFound):
        restarted.state("not-a-token")


def test_idempotency_and_order(make_service):
    service = make_service("ab")
    token = service.join("ab")
    vol = service.state(token)
    with pytest.raises(Conflict):  # not the current trial
        nxt = payload(service, vol["id"])
        with service.store.transaction() as s:
            later = s.scalar(select(Trial.public_id).where(Trial.participant_id == nxt.participant_id,
                                                           Trial.index == 2))
        service.answer(token, later, "order-key-1", {"choice": "A"})
    a = service.answer(token, vol["id"], "order-key-2", {"ok": True})
    b = service.answer(token, vol["id"], "order-key-2", {"ok": True})
    assert (a["duplicate"], b["duplicate"]) == (False, True) and a["next"] == b["next"]
    with pytest.raises(Conflict):
        service.answer(token, vol["id"], "order-key-3", {"ok": True})
    with pytest.raises(Conflict):  # a used key for another trial
        service.answer(token, a["next"]["id"], "order-key-2", {"choice": "A"})
    assert service.store.counts("ab")["answers"] == 1


def test_plans_are_randomised_and_complete(make_service):
    service = make_service("mushra", "ab", "jnd")
    orders, sides, seqs = set(), set(), []
    for _ in range(6):
        token = service.join("mushra")
        state = service.state(token)
        state = service.answer(token, state["id"], "plan-key-01", {"ok": True})["next"]
        trial = payload(service, state["id"])
        assert sorted(trial.payload["conditions"].values()) == ["anchor", "codec_hi", "codec_lo", "reference"]
        orders.add(tuple(trial.payload["conditions"][s] for s in trial.payload["order"]))
        token = service.join("ab")
        state = service.answer(token, service.state(token)["id"], "plan-key-02", {"ok": True})["next"]
        trial = payload(service, state["id"])
        sides.add(trial.payload["conditions"][trial.payload["order"][0]])
        seqs.append(payload(service, answer_all(service, service.join("jnd"), truthful, limit=7)["id"]
                            ).payload["sequence"])
    assert len(orders) > 1 and len(sides) > 1
    counts = {name: seqs.count(name) for name in ("seq0", "seq1", "seq2")}
    assert counts == {"seq0": 2, "seq1": 2, "seq2": 2}  # least-judged sequences first
