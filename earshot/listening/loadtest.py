"""Load test: concurrent simulated participants answering over HTTP, then counted in the database.

`simulate` runs ``participants`` asyncio tasks over one httpx connection pool. Each joins,
then answers its share of ``answers`` trials as fast as the server replies (a valid random
answer for whatever trial comes), re-POSTing every ``duplicate_every``-th answer with the same
idempotency key as a client retry would. Throttled (429) or busy (503) replies and transport
errors are retried with the same key. `count_in_db` then checks, in the database, that every
acknowledged answer is stored (``lost``) and none twice (``duplicated``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
from sqlalchemy import select

from earshot.listening.store import Answer, Participant, Store, Trial, hash_token


@dataclass
class LoadResult:
    """What a load test sent and what the database holds afterwards."""

    participants: int
    target: int
    sent: int = 0  # distinct answers the server acknowledged
    posts: int = 0  # answer POSTs, deliberate retries included
    retries: int = 0  # deliberate re-POSTs with an already used idempotency key
    duplicate_replies: int = 0  # re-POSTs the server recognised (stored nothing)
    requests: int = 0  # every HTTP request
    throttled: int = 0  # 429/503 replies, retried
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0  # CPU the simulated participants used (this process)
    server_cpu_seconds: float | None = None  # CPU the server used, when measured (testing.run_load_test)
    stored: int | None = None
    lost: int | None = None
    duplicated: int | None = None
    unacknowledged: int | None = None  # rows stored for answers never acknowledged
    database: str = ""
    errors: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list, repr=False)
    keys: dict[str, str] = field(default_factory=dict, repr=False)  # idempotency key -> trial id

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def answers_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return (not self.errors and self.sent == self.target and self.stored == self.sent
                and self.lost == 0 and self.duplicated == 0 and self.unacknowledged == 0)

    def describe(self) -> str:
        return (f"{self.database or 'database'}: {self.participants} participants, answers sent "
                f"{self.sent}/{self.target}, stored {self.stored}, lost {self.lost}, duplicated "
                f"{self.duplicated}; {self.retries} retried POSTs ({self.duplicate_replies} recognised); "
                f"{self.requests} requests in {self.seconds:.2f} s = {self.requests_per_second:.0f} req/s, "
                f"{self.answers_per_second:.0f} answers/s; {self._cpu()}throttled {self.throttled}; "
                f"errors {len(self.errors)}" + (f" (first: {self.errors[0]})" if self.errors else ""))

    def _cpu(self) -> str:
        per = 1000 / max(self.requests, 1)
        text = f"client CPU {self.client_cpu_seconds * per:.2f} ms/request, "
        if self.server_cpu_seconds is not None:
            text += f"server CPU {self.server_cpu_seconds * per:.2f} ms/request, "
        return text


class _Failed(Exception):
    pass


class _RequestsAtDebug(logging.Filter):
    """httpx logs every request at INFO; a load test makes thousands. Shown as DEBUG (``-v``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def quiet_request_logs() -> None:
    """Demote httpx's per-request INFO lines to DEBUG (idempotent)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RequestsAtDebug) for f in logger.filters):
        logger.addFilter(_RequestsAtDebug())


async def _call(client: httpx.AsyncClient, result: LoadResult, method: str, url: str, **kw) -> dict:
    for attempt in range(20):
        result.requests += 1
        try:
            r = await client.request(method, url, **kw)
        except httpx.TransportError as exc:
            await asyncio.sleep(0.2 * (attempt + 1))
            last = f"{method} {url}: {exc!r}"
            continue
        if r.status_code in (429, 503):
            result.throttled += 1
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            last = f"{method} {url}: {r.status_code}"
            continue
        if r.status_code >= 400:
            raise _Failed(f"{method} {url}: {r.status_code} {r.text[:200]}")
        return r.json()
    raise _Failed(f"gave up after 20 attempts: {last}")


def answer_for(trial: dict, rng: np.random.Generator) -> dict:
    """A valid random answer to a trial as the browser sees it."""
    kind = trial["kind"]
    if kind == "volume":
        return {"ok": True}
    if kind == "headphone":
        return {"side": str(rng.choice(["left", "right"]))}
    if kind == "jnd":
        return {"different": bool(rng.random() < 0.5)}
    if kind == "ab":
        return {"choice": str(rng.choice(["A", "B", "none"] if trial["no_preference"] else ["A", "B"]))}
    return {"ratings": {s["id"]: int(rng.integers(0, 101)) for s in trial["stimuli"]}}


async def _participant(client, result: LoadResult, experiment: str, quota: int, rng, duplicate_every: int):
    joined = await _call(client, result, "POST", f"/api/e/{experiment}/join", json={})
    token = joined["token"]
    result.tokens.append(token)
    state = await _call(client, result, "GET", f"/api/s/{token}/state")
    for i in range(quota):
        if state["kind"] == "end":
            raise _Failed(f"a participant ran out of trials after {i} answers; the experiment needs more")
        key = secrets.token_hex(16)
        body = {"trial": state["id"], "response": answer_for(state, rng), "replays": 0,
                "elapsed_ms": int(rng.integers(300, 5000))}
        url = f"/api/s/{token}/answer"
        result.posts += 1
        reply = await _call(client, result, "POST", url, json=body, headers={"Idempotency-Key": key})
        result.sent += 1
        result.keys[key] = state["id"]
        if duplicate_every and (i + 1) % duplicate_every == 0:
            result.posts += 1
            result.retries += 1
            again = await _call(client, result, "POST", url, json=body, headers={"Idempotency-Key": key})
            result.duplicate_replies += bool(again.get("duplicate"))
        state = reply["next"]


async def simulate(base_url: str, experiment: str, *, participants: int = 50, answers: int = 2000,
                   duplicate_every: int = 10, seed: int = 0, result: LoadResult | None = None) -> LoadResult:
    """Run the simulated participants against a live server; returns what was sent.

    ``result``: a LoadResult to fill (another thread may watch ``result.sent`` grow).
    """
    quiet_request_logs()
    result = result or LoadResult(participants=participants, target=answers)
    quotas = [answers // participants + (i < answers % participants) for i in range(participants)]
    rngs = [np.random.default_rng([seed, i]) for i in range(participants)]
    limits = httpx.Limits(max_connections=participants + 8, max_keepalive_connections=participants + 8)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        start, cpu = time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(
            *(_participant(client, result, experiment, q, r, duplicate_every) for q, r in zip(quotas, rngs)),
            return_exceptions=True)
        result.seconds = time.perf_counter() - start
        result.client_cpu_seconds = time.process_time() - cpu
    result.errors += [str(o) for o in outcomes if isinstance(o, BaseException)]
    return result


def count_in_db(result: LoadResult, store: Store) -> LoadResult:
    """Fill ``stored``, ``lost``, ``duplicated`` and ``unacknowledged`` from the database."""
    hashes = [hash_token(t) for t in result.tokens]
    with store.transaction() as s:
        rows = s.execute(select(Answer.idempotency_key, Answer.trial_id, Trial.public_id)
                         .join(Trial, Answer.trial_id == Trial.id)
                         .join(Participant, Answer.participant_id == Participant.id)
                         .where(Participant.token_hash.in_(hashes))).all() if hashes else []
    by_key = Counter(k for k, _, _ in rows)
    by_trial = Counter(t for _, t, _ in rows)
    result.stored = sum(1 for k in result.keys if k in by_key)
    result.lost = result.sent - result.stored
    result.duplicated = sum(c - 1 for c in by_trial.values()) + sum(c - 1 for c in by_key.values())
    result.unacknowledged = sum(1 for k in by_key if k not in result.keys)
    wrong = [k for k, _, pub in rows if k in result.keys and result.keys[k] != pub]
    if wrong:
        result.errors.append(f"{len(wrong)} answers are stored under another trial than the one posted")
    return result
