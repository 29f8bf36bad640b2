"""Security and robustness against the real server: tokens, traversal, injection, limits, idempotency."""

from __future__ import annotations

import http.client
import json
import sqlite3

import httpx
import pytest


def raw_get(server, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no client-side normalisation of ``..`` or escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


@pytest.fixture
def client(live):
    with httpx.Client(base_url=live.url, timeout=20) as c:
        yield c


def join(client, name: str) -> tuple[str, dict]:
    r = client.post(f"/api/e/{name}/join", json={})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    return token, client.get(f"/api/s/{token}/state").json()


def post(client, token, trial, response, key, **extra):
    return client.post(f"/api/s/{token}/answer", json={"trial": trial, "response": response, **extra},
                       headers={"Idempotency-Key": key})


def answer_volume(client, token, state):
    assert state["kind"] == "volume"
    r = post(client, token, state["id"], {"ok": True}, "volume-key-0001")
    assert r.status_code == 200
    return r.json()["next"]


def n_answers(db) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("select count(*) from answers").fetchone()[0]


def test_admin_needs_the_right_token(live, client):
    admin = live.admin_token
    for path in ("/admin", "/admin/e/mushra", "/admin/e/mushra/export.csv", "/admin/e/jnd/export.jsonl",
                 "/admin/e/mushra/plot.svg"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, params={"token": "wrong-token-but-long-enough"}).status_code == 403
        assert client.get(path, headers={"Authorization": "Bearer " + admin[:-1] + "x"}).status_code == 403
        assert client.get(path, headers={"Authorization": "Bearer " + admin}).status_code == 200, path
    r = client.get("/admin", params={"token": admin}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    assert "httponly" in r.headers["set-cookie"].lower()
    with httpx.Client(base_url=client.base_url, follow_redirects=True) as fresh:
        assert fresh.get("/admin", params={"token": admin}).status_code == 200  # follows, cookie kept
        assert fresh.get("/admin/e/ab/summary.csv").status_code == 200
        assert fresh.get("/admin/e/ab/../../etc/passwd").status_code == 404


def test_no_path_traversal(live, client):
    token, state = join(client, "mushra")
    trial = state["id"]
    probes = [
        "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/..%2fexperiment.py", "/static/%2fetc%2fpasswd",
        f"/s/{token}/audio/{trial}/..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"/s/{token}/audio/{trial}/%2e%2e", f"/s/{token}/audio/{trial}/bells%2freference.wav",
        f"/s/{token}/audio/{trial}/gen:calibration", f"/s/{token}/audio/{trial}/%2fetc%2fpasswd",
        f"/s/{token}/audio/..%2f..%2fetc/passwd", "/e/..%2f..%2fetc%2fpasswd", "/e/../../etc/passwd",
        "/admin/e/..%2f..%2fetc%2fpasswd/export.csv",
    ]
    for path in probes:
        status, body = raw_get(live, path)
        assert status in (400, 401, 404), (path, status)
        assert b"root:" not in body and b"import" not in body and b"RIFF" not in body, path
    assert raw_get(live, "/static/api.js")[0] == 200


def test_sql_injection_is_inert(live, client):
    before = n_answers(live.db)
    for name in ("x' OR '1'='1", "mushra'; DROP TABLE answers; --", "mushra%27--"):
        assert client.post(f"/api/e/{name}/join", json={}).status_code == 404
        assert client.get(f"/e/{name}").status_code == 404
    for token in ("' OR 1=1 --", "x' UNION SELECT token_hash FROM participants --"):
        assert client.get(f"/api/s/{token}/state").status_code == 404
        assert post(client, token, "t", {"ok": True}, "injection-key-1").status_code == 404
    token, state = join(client, "mushra")
    r = post(client, token, "' OR '1'='1", {"ok": True}, "injection-key-2")
    assert r.status_code == 404
    r = post(client, token, state["id"], {"ok": True}, "key'; DROP TABLE answers;--")
    assert r.status_code == 400
    r = post(client, token, state["id"], {"ok": "1; DROP TABLE answers"}, "injection-key-3")
    assert r.status_code == 422
    with sqlite3.connect(live.db) as con:
        tables = {row[0] for row in con.execute("select name from sqlite_master where type='table'")}
    assert {"answers", "trials", "participants", "experiments", "sequences"} <= tables
    assert n_answers(live.db) == before


def test_output_is_escaped_and_headers_are_strict(client):
    r = client.get("/e/mushra")
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; MUSHRA" in r.text
    assert "Rate &lt;b&gt;each&lt;/b&gt; version." in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_oversized_body_is_rejected(client):
    token, state = join(client, "mushra")
    big = {"trial": state["id"], "response": {"ok": True}, "pad": "x" * 100_000}
    r = client.post(f"/api/s/{token}/answer", json=big, headers={"Idempotency-Key": "big-body-key-1"})
    assert r.status_code == 413 and "bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: the server counts what streams in
        for _ in range(40):
            yield b"x" * 1024

    r = client.post(f"/api/s/{token}/answer", content=chunks(), headers={"Idempotency-Key": "big-body-key-2"})
    assert r.status_code == 413
    assert client.get(f"/api/s/{token}/state").json()["id"] == state["id"]  # nothing was stored


def test_answers_are_validated(live, client):
    token, state = join(client, "mushra")
    state = answer_volume(client, token, state)
    assert state["kind"] == "mushra"
    ids = [s["id"] for s in state["stimuli"]]
    good = {i: 50 for i in ids}
    bad_ratings = [{**good, ids[0]: 101}, {**good, ids[0]: -1}, {**good, ids[0]: "50"},
                   {**good, ids[0]: True}, {i: 50 for i in ids[1:]}, {**good, "deadbeef": 50}]
    for k, ratings in enumerate(bad_ratings):
        r = post(client, token, state["id"], {"ratings": ratings}, f"bad-rating-{k:04d}")
        assert r.status_code == 422, ratings
    r = client.post(f"/api/s/{token}/answer", content=json.dumps(
        {"trial": state["id"], "response": {"ratings": {**good, ids[0]: float("nan")}}}),
        headers={"Idempotency-Key": "bad-rating-nan", "Content-Type": "application/json"})
    assert r.status_code == 422
    assert post(client, token, state["id"], {"ratings": good}, "bad-extra-field", score=3).status_code == 422
    assert post(client, token, state["id"], {"ratings": good}, "bad-extra", replays=-1).status_code == 422
    assert post(client, token, "unknown-trial-id", {"ratings": good}, "unknown-trial").status_code == 404
    r = client.post(f"/api/s/{token}/answer", json={"trial": state["id"], "response": {"ratings": good}})
    assert r.status_code == 400  # no idempotency key
    assert client.post(f"/api/s/{token}/answer", content=b"{not json",
                       headers={"Idempotency-Key": "broken-json", "Content-Type": "application/json"}
                       ).status_code == 422
    # another participant's trial is unknown to this one
    other, other_state = join(client, "mushra")
    assert post(client, other, state["id"], {"ok": True}, "cross-participant").status_code == 404
    assert client.get(state["stimuli"][0]["url"].replace(token, other)).status_code == 404
    assert post(client, token, state["id"], {"ratings": good}, "finally-valid").status_code == 200


def test_retried_post_is_stored_once(live, client):
    token, state = join(client, "ab")
    state = answer_volume(client, token, state)
    before = n_answers(live.db)
    first = post(client, token, state["id"], {"choice": "A"}, "retry-key-00001")
    again = post(client, token, state["id"], {"choice": "A"}, "retry-key-00001")
    assert first.status_code == again.status_code == 200
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert again.json()["next"]["id"] == first.json()["next"]["id"]
    assert n_answers(live.db) == before + 1
    # the same trial under a new key, or the old key for the next trial: conflicts, nothing stored
    assert post(client, token, state["id"], {"choice": "B"}, "retry-key-00002").status_code == 409
    nxt = first.json()["next"]
    assert post(client, token, nxt["id"], {"choice": "B"}, "retry-key-00001").status_code == 409
    assert n_answers(live.db) == before + 1


def test_hidden_reference_is_not_revealed(live, client):
    token, state = join(client, "mushra")
    state = answer_volume(client, token, state)
    assert set(state) == {"kind", "phase", "reference", "stimuli", "question", "id", "index", "total"}
    assert all(set(s) == {"id", "label", "url"} for s in state["stimuli"])
    # the open reference's key and the question say "reference"; nothing else may
    values = json.dumps([v for k, v in state.items() if k != "question"])
    for secret in ("reference", "anchor", "codec", "bells", "voice", ".wav", "condition"):
        assert secret not in values, secret
    urls = [state["reference"]] + [s["url"] for s in state["stimuli"]]
    assert len(set(urls)) == len(urls) == 5  # the hidden reference has its own opaque URL
    r = client.get(urls[0])
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
    for header in ("etag", "last-modified", "content-disposition"):
        assert header not in r.headers
    assert r.headers["cache-control"] == "no-store"


def test_rate_limits(client):
    token, _ = join(client, "slow")  # join_per_minute: 6 -> a burst of one join
    r = client.post("/api/e/slow/join", json={})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    codes = [client.get(f"/api/s/{token}/state").status_code for _ in range(6)]
    assert codes[:2] == [200, 200] and codes[-1] == 429  # burst 3 (one spent by the join's state call)
    r = client.get(f"/api/s/{token}/state")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
