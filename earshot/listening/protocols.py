"""Trial plans and answer checks for the three test types (JND, A/B, MUSHRA).

Randomness is drawn once, when a trial is planned, from the participant's seeded generator,
and stored in the trial's server-side ``payload``: which file plays under which opaque
stimulus id, the presentation order, the expected answer of check trials. What a participant's
browser receives (`public_view`) holds only opaque ids and URLs: never file names, conditions,
levels, or which stimulus is the hidden reference or a catch trial.

Payload layout (server only): ``stimuli`` maps stimulus id -> file key (see
`earshot.listening.experiment.Experiment.files`) or ``gen:<sound>`` for generated check
sounds; ``order`` is the presentation order; ``conditions`` maps stimulus id -> condition
(A/B, MUSHRA); ``expected`` is the right answer of check trials (None when there is none).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field

import numpy as np

from earshot.errors import EarshotError
from earshot.listening.experiment import Experiment, ab_trials

SIDES = ("left", "right")


class AnswerError(EarshotError, ValueError):
    """An answer does not fit its trial (unknown stimulus, out-of-range rating, bad choice)."""


@dataclass
class TrialSpec:
    """A trial to create: its phase, kind and server-side payload."""

    phase: str
    kind: str
    payload: dict
    level: int | None = None
    sequence: str | None = None
    extra: dict = field(default_factory=dict)


def _ids(n: int) -> list[str]:
    """``n`` distinct opaque stimulus ids (random, so that nothing can be read from them)."""
    out: list[str] = []
    while len(out) < n:
        sid = secrets.token_hex(4)
        if sid not in out:
            out.append(sid)
    return out


def _volume() -> TrialSpec:
    (sid,) = _ids(1)
    return TrialSpec("volume", "volume", {"stimuli": {sid: "gen:calibration"}, "order": [sid], "expected": None})


def _headphone(side: str) -> TrialSpec:
    (sid,) = _ids(1)
    return TrialSpec("headphone", "headphone",
                     {"stimuli": {sid: f"gen:{side}"}, "order": [sid], "expected": side})


def jnd_pair(exp: Experiment, seq_index: int, level: int, phase: str, rng: np.random.Generator,
             expected: bool | None) -> TrialSpec:
    """A same/different trial: the sequence's reference and its ``level``, in random order."""
    seq = exp.sequences[seq_index]
    ref_id, test_id = _ids(2)
    order = [ref_id, test_id] if rng.random() < 0.5 else [test_id, ref_id]
    payload = {"stimuli": {ref_id: seq.reference, test_id: seq.levels[level]}, "order": order,
               "sequence": seq.name, "level": level, "n_levels": len(seq.levels),
               "params": seq.params[level] if seq.params else {}, "expected": expected,
               "reference_id": ref_id, "test_id": test_id}
    return TrialSpec(phase, "jnd", payload, level=level, sequence=seq.name)


def plan_jnd(exp: Experiment, rng: np.random.Generator) -> list[TrialSpec]:
    """The fixed part of a JND session: volume, headphone check, pretest, warm-ups.

    Check and pretest trials use the identical pair (level 0) and the maximal pair of random
    sequences, half each; warm-ups are one identical and one maximal pair, and so on.
    """
    out = [_volume()] if exp.volume_check else []
    if exp.headphone_check:
        n = exp.headphone_check.n_trials
        sides = [SIDES[i % 2] for i in range(n)]
        rng.shuffle(sides)
        out += [_headphone(s) for s in sides]
    for phase, n in (("pretest", exp.pretest.n_trials if exp.pretest else 0), ("warmup", exp.warmups)):
        kinds = [i % 2 == 0 for i in range(n)]  # True = different (maximal level)
        rng.shuffle(kinds)
        for different in kinds:
            k = int(rng.integers(len(exp.sequences)))
            level = len(exp.sequences[k].levels) - 1 if different else 0
            out.append(jnd_pair(exp, k, level, phase, rng, different))
    return out


def choose_sequences(exp: Experiment, counts: dict[str, int], rng: np.random.Generator) -> list[int]:
    """Indices of the sequences to give a new participant: the least-judged first, ties at random."""
    order = rng.permutation(len(exp.sequences))
    order = sorted(order, key=lambda i: counts.get(exp.sequences[i].name, 0))
    return [int(i) for i in order[: exp.sequences_per_participant]]


def plan_ab(exp: Experiment, rng: np.random.Generator) -> list[TrialSpec]:
    """Every comparison (or ``items_per_participant`` of them) in random order, sides at random."""
    out = [_volume()] if exp.volume_check else []
    comparisons = ab_trials(exp)
    picks = rng.permutation(len(comparisons))[: exp.items_per_participant or len(comparisons)]
    for i in picks:
        item, a, b = comparisons[int(i)]
        if rng.random() < 0.5:
            a, b = b, a
        sa, sb = _ids(2)
        payload = {"item": item.name, "stimuli": {sa: item.files[a], sb: item.files[b]},
                   "order": [sa, sb], "conditions": {sa: a, sb: b}, "expected": None,
                   "no_preference": exp.no_preference}
        out.append(TrialSpec("main", "ab", payload))
    return out


def plan_mushra(exp: Experiment, rng: np.random.Generator) -> list[TrialSpec]:
    """Items in random order; per item an open reference and every condition (the hidden
    reference and the anchors included) under opaque ids in random order."""
    out = [_volume()] if exp.volume_check else []
    picks = rng.permutation(len(exp.items))[: exp.items_per_participant or len(exp.items)]
    for i in picks:
        item = exp.items[int(i)]
        conditions = sorted(item.files)
        sids = _ids(len(conditions) + 1)
        open_ref, rated = sids[0], sids[1:]
        order = [rated[j] for j in rng.permutation(len(rated))]
        payload = {"item": item.name,
                   "stimuli": {open_ref: item.files["reference"],
                               **{s: item.files[c] for s, c in zip(rated, conditions)}},
                   "reference_id": open_ref, "order": order,
                   "conditions": dict(zip(rated, conditions)), "expected": None}
        out.append(TrialSpec("main", "mushra", payload))
    return out


def public_view(exp: Experiment, kind: str, phase: str, payload: dict, audio_url) -> dict:
    """What the browser gets for a trial: opaque ids, labels and URLs (``audio_url(sid)``)."""
    view: dict = {"kind": kind, "phase": phase}
    if kind == "mushra":
        view["reference"] = audio_url(payload["reference_id"])
        view["stimuli"] = [{"id": s, "label": _label(i), "url": audio_url(s)} for i, s in enumerate(payload["order"])]
        view["question"] = exp.question
    elif kind == "ab":
        view["stimuli"] = [{"id": s, "label": _label(i), "url": audio_url(s)} for i, s in enumerate(payload["order"])]
        view["no_preference"] = bool(payload.get("no_preference"))
        view["question"] = exp.question
    else:
        view["audio"] = [audio_url(s) for s in payload["order"]]
        if kind == "jnd":
            view["gap_ms"] = exp.gap_ms
            view["question"] = exp.question
            view["feedback"] = phase == "warmup"
    return view


def _label(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def check_response(kind: str, payload: dict, response: dict) -> tuple[dict, dict]:
    """Validate ``response`` for a trial; return ``(clean response, derived result)``.

    Raises:
        AnswerError: a missing or extra field, a wrong type, an unknown stimulus id, a rating
            outside [0, 100], or "no preference" where it is not offered.
    """
    if not isinstance(response, dict):
        raise AnswerError("response must be a JSON object")
    checker = {"volume": _volume_answer, "headphone": _headphone_answer, "jnd": _jnd_answer,
               "ab": _ab_answer, "mushra": _mushra_answer}[kind]
    return checker(payload, response)


def _fields(response: dict, names: set[str]) -> None:
    if set(response) != names:
        raise AnswerError(f"response must have exactly the fields {sorted(names)}, got {sorted(response)}")


def _volume_answer(payload, response):
    _fields(response, {"ok"})
    if response["ok"] is not True:
        raise AnswerError("volume check: 'ok' must be true")
    return {"ok": True}, {}


def _headphone_answer(payload, response):
    _fields(response, {"side"})
    if response["side"] not in SIDES:
        raise AnswerError(f"headphone check: 'side' must be one of {SIDES}")
    return {"side": response["side"]}, {"correct": response["side"] == payload["expected"]}


def _jnd_answer(payload, response):
    _fields(response, {"different"})
    different = response["different"]
    if not isinstance(different, bool):
        raise AnswerError("'different' must be true or false")
    result = {"sequence": payload["sequence"], "level": payload["level"]}
    if payload.get("expected") is not None:
        result["correct"] = different == payload["expected"]
    return {"different": different}, result


def _ab_answer(payload, response):
    _fields(response, {"choice"})
    choice = response["choice"]
    allowed = ("A", "B", "none") if payload.get("no_preference") else ("A", "B")
    if choice not in allowed:
        raise AnswerError(f"'choice' must be one of {allowed}")
    a, b = payload["order"]
    conds = payload["conditions"]
    preferred = {"A": conds[a], "B": conds[b]}.get(choice)
    return {"choice": choice}, {"item": payload["item"], "conditions": [conds[a], conds[b]], "preferred": preferred}


def _mushra_answer(payload, response):
    _fields(response, {"ratings"})
    ratings = response["ratings"]
    if not isinstance(ratings, dict) or set(ratings) != set(payload["order"]):
        raise AnswerError("'ratings' must rate every stimulus of the trial, by its id, and nothing else")
    clean = {}
    for sid, value in ratings.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise AnswerError(f"rating of {sid} must be a number")
        if not 0 <= value <= 100:
            raise AnswerError(f"rating of {sid} is {value}; ratings go from 0 to 100")
        clean[sid] = float(value)
    conds = payload["conditions"]
    return {"ratings": clean}, {"item": payload["item"], "ratings": {conds[s]: v for s, v in clean.items()}}
