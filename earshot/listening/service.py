"""Participant sessions: joining, the current trial, storing answers once, serving stimuli.

This is the web app's logic without the web: `app.py` maps HTTP onto these methods. Every
method runs in one database transaction and locks the participant's row first, so one
participant's concurrent requests (a double click, a retried POST) are serialised.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from earshot.errors import EarshotError
from earshot.listening import protocols
from earshot.psycho.staircase import AdaptiveStaircase
from earshot.listening.experiment import Experiment
from earshot.listening.sounds import check_sound
from earshot.listening.store import Answer, Participant, SequenceRow, Store, Trial, hash_token

MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
               ".opus": "audio/ogg", ".mp3": "audio/mpeg"}
END_MESSAGES = {
    "done": "Thank you: you have finished the test. You may close this page.",
    "screened_out": "Thank you for your time. The checks show that this test cannot be run "
                    "with your current set-up (headphones are required), so it ends here.",
}


class NotFound(EarshotError, LookupError):
    """An unknown experiment, participant, trial or stimulus."""


class Conflict(EarshotError):
    """A request that contradicts what is stored (answering a trial twice, out of order)."""


class ListeningService:
    """Sessions over a `Store` for a set of experiments (name -> `Experiment`)."""

    def __init__(self, store: Store, experiments: dict[str, Experiment]):
        self.store = store
        self.experiments = experiments
        self.experiment_ids = {name: store.upsert_experiment(exp) for name, exp in experiments.items()}
        self._seq_index = {name: {s.name: i for i, s in enumerate(exp.sequences)}
                           for name, exp in experiments.items()}
        self._token_experiment: dict[str, str] = {}

    def experiment_of(self, token: str) -> str:
        """The name of the experiment a participant token belongs to (cached); NotFound if none."""
        key = hash_token(token)
        name = self._token_experiment.get(key)
        if name is None:
            with self.store.transaction() as s:
                exp_id = s.scalar(select(Participant.experiment_id).where(Participant.token_hash == key))
            name = next((n for n, i in self.experiment_ids.items() if i == exp_id), None)
            if name is None:
                raise NotFound("unknown session")
            if len(self._token_experiment) > 200_000:
                self._token_experiment.clear()
            self._token_experiment[key] = name
        return name

    def experiment(self, name: str) -> Experiment:
        try:
            return self.experiments[name]
        except KeyError:
            raise NotFound("no such experiment") from None

    # -- joining -----------------------------------------------------------------------------
    def join(self, name: str) -> str:
        """Create an anonymous participant with a fresh plan; returns their secret token."""
        exp = self.experiment(name)
        token = secrets.token_urlsafe(24)
        seed = secrets.randbelow(2**31)
        rng = np.random.default_rng(seed)
        with self.store.transaction() as s:
            p = Participant(experiment_id=self.experiment_ids[name], token_hash=hash_token(token),
                            seed=seed, status="active", position=0)
            s.add(p)
            s.flush()
            specs = {"jnd": protocols.plan_jnd, "ab": protocols.plan_ab,
                     "mushra": protocols.plan_mushra}[exp.type](exp, rng)
            planned = len(specs)
            if exp.type == "jnd":
                planned += self._assign_sequences(s, exp, p, rng)
            for i, spec in enumerate(specs):
                s.add(_trial_row(p, i, spec))
            p.n_planned = planned
        self._token_experiment[hash_token(token)] = name
        return token

    def _assign_sequences(self, s, exp: Experiment, p: Participant, rng) -> int:
        counts = dict(s.execute(
            select(SequenceRow.name, func.count()).join(Participant)
            .where(Participant.experiment_id == p.experiment_id).group_by(SequenceRow.name)).all())
        for pos, k in enumerate(protocols.choose_sequences(exp, counts, rng)):
            seq = exp.sequences[k]
            stair = AdaptiveStaircase(n_levels=len(seq.levels), seed=int(rng.integers(2**31)), **exp.adaptive)
            s.add(SequenceRow(participant_id=p.id, name=seq.name, position=pos,
                              n_trials=exp.trials_per_sequence, state=stair.state_dict()))
        return min(exp.sequences_per_participant, len(exp.sequences)) * exp.trials_per_sequence

    # -- the current trial -------------------------------------------------------------------
    def _participant(self, s, token: str) -> tuple[Participant, Experiment]:
        p = s.scalar(select(Participant).where(Participant.token_hash == hash_token(token)).with_for_update())
        if p is None:
            raise NotFound("unknown session")
        name = next((n for n, i in self.experiment_ids.items() if i == p.experiment_id), None)
        if name is None:
            raise NotFound("this session's experiment is not being served")
        return p, self.experiments[name]

    def state(self, token: str) -> dict:
        """The participant's current trial as the browser sees it (or the end of the test)."""
        with self.store.transaction() as s:
            p, exp = self._participant(s, token)
            return self._view(s, p, exp, token)

    def _current(self, s, p: Participant, exp: Experiment) -> Trial | None:
        if p.status != "active":
            return None
        trial = s.scalar(select(Trial).where(Trial.participant_id == p.id, Trial.index == p.position))
        if trial is None and exp.type == "jnd":
            trial = self._next_jnd_trial(s, p, exp)
        if trial is None:
            p.status, p.finished_at = "done", datetime.now(timezone.utc)
        return trial

    def _next_jnd_trial(self, s, p: Participant, exp: Experiment) -> Trial | None:
        while True:
            seq = s.scalar(select(SequenceRow).where(SequenceRow.participant_id == p.id,
                                                     SequenceRow.n_done < SequenceRow.n_trials)
                           .order_by(SequenceRow.position).limit(1))
            if seq is None:
                return None
            k = self._seq_index[exp.name].get(seq.name)
            if k is not None:
                break
            seq.n_done = seq.n_trials  # the sequence left the experiment's files: skip it
        stair = AdaptiveStaircase.from_state(seq.state)
        level = stair.next_level()
        seq.state = stair.state_dict()  # next_level may draw from the staircase's generator
        rng = np.random.default_rng([p.seed, p.position])
        spec = protocols.jnd_pair(exp, k, level, "main", rng, expected=None)
        trial = _trial_row(p, p.position, spec)
        trial.sequence_id = seq.id
        s.add(trial)
        s.flush()
        return trial

    def _view(self, s, p: Participant, exp: Experiment, token: str) -> dict:
        trial = self._current(s, p, exp)
        if trial is None:
            return {"kind": "end", "status": p.status, "message": END_MESSAGES.get(p.status, "")}

        def url(sid: str) -> str:
            return f"/s/{token}/audio/{trial.public_id}/{sid}"

        view = protocols.public_view(exp, trial.kind, trial.phase, trial.payload, url)
        view.update(id=trial.public_id, index=trial.index + 1, total=max(p.n_planned, trial.index + 1))
        return view

    # -- answers -----------------------------------------------------------------------------
    def answer(self, token: str, trial_id: str, key: str, response: dict, *, replays: int = 0,
               elapsed_ms: int = 0) -> dict:
        """Store an answer once and return ``{"stored", "duplicate", "feedback", "next"}``.

        A POST retried with the same idempotency key gets the same reply (``duplicate: true``)
        and stores nothing; answering an already answered or a future trial is a `Conflict`.
        """
        try:
            return self._answer(token, trial_id, key, response, replays, elapsed_ms)
        except IntegrityError:
            pass  # a concurrent request stored this answer between our check and our insert
        try:
            return self._answer(token, trial_id, key, response, replays, elapsed_ms)
        except IntegrityError:
            raise Conflict("this idempotency key was already used for another trial") from None

    def _answer(self, token, trial_id, key, response, replays, elapsed_ms) -> dict:
        with self.store.transaction() as s:
            p, exp = self._participant(s, token)
            trial = s.scalar(select(Trial).where(Trial.public_id == trial_id, Trial.participant_id == p.id))
            if trial is None:
                raise NotFound("unknown trial")
            if trial.index < p.position:
                old = s.scalar(select(Answer).where(Answer.trial_id == trial.id))
                if old is not None and old.idempotency_key == key:  # a retried POST: same reply
                    return {"stored": True, "duplicate": True, "feedback": old.result.get("feedback"),
                            "next": self._view(s, p, exp, token)}
                raise Conflict("this trial was already answered")
            if trial.index > p.position or p.status != "active":
                raise Conflict("this is not the current trial")
            clean, result = protocols.check_response(trial.kind, trial.payload, response)
            if trial.phase == "warmup" and "correct" in result:
                result["feedback"] = {"correct": result["correct"],
                                      "expected": "different" if trial.payload["expected"] else "identical"}
            s.add(Answer(trial_id=trial.id, participant_id=p.id, idempotency_key=key, response=clean,
                         result=result, replays=replays, elapsed_ms=elapsed_ms))
            p.position += 1
            if trial.phase in ("headphone", "pretest"):
                self._screen(s, p, exp, trial.phase)
            elif trial.kind == "jnd" and trial.phase == "main":
                self._update_sequence(s, p, exp, trial, clean["different"], result)
            return {"stored": True, "duplicate": False, "feedback": result.get("feedback"),
                    "next": self._view(s, p, exp, token)}

    def _screen(self, s, p: Participant, exp: Experiment, phase: str) -> None:
        """At the end of a screening block, end the session if too few answers were right."""
        check = exp.headphone_check if phase == "headphone" else exp.pretest
        rows = s.scalars(select(Answer.result).join(Trial).where(Trial.participant_id == p.id,
                                                                 Trial.phase == phase)).all()
        if len(rows) == check.n_trials and sum(bool(r.get("correct")) for r in rows) < check.min_correct:
            p.status, p.finished_at = "screened_out", datetime.now(timezone.utc)

    def _update_sequence(self, s, p, exp, trial: Trial, different: bool, result: dict) -> None:
        seq = s.get(SequenceRow, trial.sequence_id)
        stair = AdaptiveStaircase.from_state(seq.state)
        stair.update(trial.level, different)
        seq.state = stair.state_dict()
        seq.n_done += 1
        if stair.checks_failed and not seq.checks_failed:
            seq.checks_failed = True
            p.catch_failures += 1
            p.flagged = p.catch_failures > exp.max_catch_failures

    # -- stimuli -----------------------------------------------------------------------------
    def audio(self, token: str, trial_id: str, sid: str) -> tuple[bytes, str]:
        """The bytes and media type of stimulus ``sid`` of the participant's current trial."""
        with self.store.transaction() as s:
            p, exp = self._participant(s, token)
            trial = s.scalar(select(Trial).where(Trial.public_id == trial_id, Trial.participant_id == p.id))
            if trial is None or trial.index != p.position or p.status != "active":
                raise NotFound("no such stimulus")
            key = trial.payload["stimuli"].get(sid)
        if key is None:
            raise NotFound("no such stimulus")
        if key.startswith("gen:"):
            return check_sound(key[4:]), "audio/wav"
        try:
            path = exp.resolve(key)
        except EarshotError:
            raise NotFound("no such stimulus") from None
        try:
            data = _read(str(path), path.stat().st_mtime_ns)
        except OSError:
            raise NotFound("no such stimulus") from None
        return data, MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


@functools.lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int) -> bytes:
    """A stimulus file's bytes, cached while the file is unchanged."""
    with open(path, "rb") as f:
        return f.read()


def _trial_row(p: Participant, index: int, spec: protocols.TrialSpec) -> Trial:
    return Trial(public_id=secrets.token_urlsafe(12), participant_id=p.id, index=index, phase=spec.phase,
                 kind=spec.kind, level=spec.level, payload=spec.payload)
