"""Whole sessions in a real browser: Debian's Chromium (headless) driven by Playwright.

A scripted "listener" decides each answer from the very sounds the page plays: it fetches the
current trial's audio through the participant's own URLs and compares the waveforms (which
ear has the tone; how loud the difference of a pair is; the SNR of each MUSHRA version). The
test clicks the page's own buttons and sliders and then checks what the database and the
export hold against the listener's decisions.
"""

from __future__ import annotations

import io
import json
import re

import httpx
import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from earshot.listening import export
from earshot.listening.store import Participant, Store, hash_token

ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
VISIBLE = "section.trial:not([hidden])"
JND_THRESHOLD_DB = -30.0  # the listener hears a difference louder than this (re the reference)
expect.set_options(timeout=20_000)  # a busy CI machine plays audio late


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not errors, errors


def fetch(client: httpx.Client, url: str) -> np.ndarray:
    r = client.get(url)
    assert r.status_code == 200, r.text
    audio, _ = sf.read(io.BytesIO(r.content), always_2d=True)
    return audio


def records_of(live, name: str, token: str) -> list[dict]:
    """The stored answers of the participant holding ``token``."""
    store = Store(live.db, create=False)
    try:
        with store.transaction() as s:
            pid = s.scalar(select(Participant.id).where(Participant.token_hash == hash_token(token)))
        return [r for r in export.load_records(store, name)[1] if r["participant"] == pid]
    finally:
        store.dispose()
    

def wait_for_next(page, previous: str | None) -> tuple[str, str | None]:
    """Wait until the page shows a trial other than ``previous``; returns (kind, trial id)."""
    page.wait_for_function(
        """(old) => { const s = document.querySelector('section.trial:not([hidden])');
                     return s && (s.id === 'trial-end' || s.dataset.trial !== old); }""", arg=previous)
    section = page.locator(VISIBLE)
    return section.get_attribute("id")[len("trial-"):], section.get_attribute("data-trial")


def join(page, live, name: str) -> str:
    page.goto(f"{live.url}/e/{name}")
    page.click("#start")
    page.wait_for_url(re.compile(r"/s/[A-Za-z0-9_-]+$"))
    return page.url.rsplit("/", 1)[1]


def level_db(a: np.ndarray, b: np.ndarray) -> float:
    diff = np.sqrt(np.mean((a - b) ** 2))
    return -np.inf if diff == 0 else 20 * np.log10(diff / np.sqrt(np.mean(a**2)))


def test_whole_jnd_session(page, live):
    client = httpx.Client(base_url=live.url, timeout=20)
    token = join(page, live, "jnd")
    decisions, previous, reloaded = [], None, False
    while True:
        kind, trial_id = wait_for_next(page, previous)
        if kind == "end":
            break
        state = client.get(f"/api/s/{token}/state").json()
        assert state["id"] == trial_id and state["kind"] == kind
        section = page.locator(f"#trial-{kind}")
        if kind == "volume":
            choice = 0
        elif kind == "headphone":
            stereo = fetch(client, state["audio"][0])
            choice = int(np.abs(stereo[:, 1]).sum() > np.abs(stereo[:, 0]).sum())  # 0 left, 1 right
        else:
            assert state["gap_ms"] == 600
            a, b = (fetch(client, u)[:, 0] for u in state["audio"])
            choice = int(level_db(a, b) > JND_THRESHOLD_DB)  # 0 identical, 1 different
            if state["phase"] == "main":
                decisions.append(choice)
            if len(decisions) == 4 and not reloaded:  # a reload resumes the very same trial
                page.reload()
                reloaded = True
                assert wait_for_next(page, None) == (kind, trial_id)
        section.locator(".play").click()
        answer = section.locator(".answer").nth(choice)
        expect(answer).to_be_enabled()
        if kind == "jnd" and state["phase"] == "main" and len(decisions) == 1:  # one replay, counted
            section.locator(".play").click()
            expect(section.locator(".plays")).to_have_text("played 2 times")
        answer.click()
        if state.get("feedback"):
            expect(section.locator(".feedback-text")).to_contain_text("Correct")
            section.locator(".continue").click()
        previous = trial_id
    assert page.locator("#trial-end").get_attribute("data-status") == "done"
    assert "finished" in page.locator(".end-message").text_content()

    mine = records_of(live, "jnd", token)
    assert len(mine) == 10 and [int(r["different"]) for r in mine] == decisions
    assert mine[0]["level"] == 0 and mine[1]["level"] == 7  # the catch trials open the sequence
    assert not mine[0]["flagged"] and not mine[0]["checks_failed"]
    assert [r["replays"] for r in mine] == [1] + [0] * 9 and all(r["elapsed_ms"] > 0 for r in mine)
    lines = export.jnd_lines(mine, experiment="jnd")
    for line in lines:  # the listener's rule, seen through the export
        level = line["params"]["level"]
        assert line["label"] == float(level >= 3) and line["n_listeners"] == 1
        assert line["test"].endswith("reference.wav" if level == 0 else f"level_{level:02d}.wav")


def test_whole_mushra_session(page, live):
    client = httpx.Client(base_url=live.url, timeout=20)
    token = join(page, live, "mushra")
    expected: dict[str, list[float]] = {}
    previous, reloaded = None, False
    while True:
        kind, trial_id = wait_for_next(page, previous)
        if kind == "end":
            break
        state = client.get(f"/api/s/{token}/state").json()
        section = page.locator(f"#trial-{kind}")
        if kind == "volume":
            section.locator(".play").click()
            section.locator(".answer").click()
            previous = trial_id
            continue
        if not reloaded:
            page.reload()
            reloaded = True
            assert wait_for_next(page, None) == (kind, trial_id)
        ref = fetch(client, state["reference"])[:, 0]
        section.locator(".play-reference").click()
        submit = section.locator(".submit")
        ratings = {}
        for stim in state["stimuli"]:
            row = section.locator(f".mushra-row[data-label='{stim['label']}']")
            x = fetch(client, stim["url"])[:, 0]
            snr = -level_db(ref, x)
            ratings[stim["id"]] = 100 if np.isinf(snr) else int(np.clip(round(2 * snr), 0, 99))
            expect(submit).to_be_disabled()  # not every version played yet
            row.locator(".play-one").click()
            row.locator("input").fill(str(ratings[stim["id"]]))
        submit.click()
        expected[trial_id] = ratings
        previous = trial_id
    assert len(expected) == 2
    mine = records_of(live, "mushra", token)
    assert sorted(sorted(r["ratings"].values()) for r in mine) == sorted(
        sorted(float(v) for v in e.values()) for e in expected.values())
    means = {row.condition: row.mean for row in export.summary("mushra", mine)[0]}
    assert means["reference"] == 100  # the hidden reference is bit-identical to the reference
    assert means["reference"] > means["codec_hi"] > means["codec_lo"] > means["anchor"] - 20


def test_ab_session(page, live):
    token = join(page, live, "ab")
    previous, n = None, 0
    while True:
        kind, trial_id = wait_for_next(page, previous)
        if kind == "end":
            break
        section = page.locator(f"#trial-{kind}")
        if kind == "volume":
            section.locator(".play").click()
            section.locator(".answer").click()
        else:
            choices = section.locator(".answer")
            expect(choices).to_have_count(3)  # A, B, no preference
            for label in ("A", "B"):
                expect(choices.first).to_be_disabled()
                section.locator(f".play-one[data-label='{label}']").click()
            choices.nth(n % 3).click()
            n += 1
        previous = trial_id
    assert n == 3  # three conditions: every pair once
    mine = records_of(live, "ab", token)
    assert [r["choice"] for r in mine] == ["A", "B", "none"]
    assert sorted(tuple(sorted(r["conditions"])) for r in mine) == [
        ("bright", "dark"), ("bright", "plain"), ("dark", "plain")]
    assert json.loads(json.dumps(mine[2]))["preferred"] is None
