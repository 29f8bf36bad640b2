"""`earshot demo --quick` end to end from an empty folder, its report opened in Chromium."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import sync_playwright

from earshot.cli.main import main
from earshot.demo.stages import STAGES

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TRAINED_STAGES = {"autoencoder", "separation"}  # the stages that train and so draw loss curves


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-run")  # the demo builds its quick corpus beside its --out
    code = main(["demo", "--quick", "--out", str(root / "demo")])
    return code, root / "demo"


def test_quick_demo_runs_every_stage(demo):
    code, out = demo
    sections = json.loads((out / "results.json").read_text())["sections"]
    assert [s["id"] for s in sections] == [stage_id for stage_id, _, _ in STAGES]
    assert [s["id"] for s in sections if s["error"]] == [] and code == 0
    for s in sections:
        assert s["figures"], s["id"]
        if s["id"] != "explain":
            assert s["clips"] and all((out / c["path"]).is_file() for c in s["clips"]), s["id"]
        if s["id"] in TRAINED_STAGES:
            assert "training curves" in [f["title"] for f in s["figures"]], s["id"]


def test_quick_demo_report_in_a_browser(demo):
    _, out = demo
    sections = json.loads((out / "results.json").read_text())["sections"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page()
        page.goto((out / "report.html").as_uri())
        assert page.locator("section.stage").count() == len(sections)
        assert page.locator("section.stage.failed").count() == 0
        assert page.locator("nav").bounding_box()["width"] >= 240  # wide tables scroll instead of squeezing it
        images = page.locator("figure.plot img")
        assert images.count() == sum(len(s["figures"]) for s in sections)
        assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 100") for i in range(images.count()))
        audio = page.locator("section#codec audio").first
        played = audio.evaluate("""async a => { a.muted = true; await a.play();
                                   await new Promise(r => setTimeout(r, 300)); return a.currentTime; }""")
        assert played > 0
        browser.close()


def test_demo_with_a_data_folder_still_hands_the_corpus_to_every_stage(tmp_path):
    """`earshot demo --data DIR` once passed ``--corpus None`` on: the corpus stage returned early."""
    import math

    import torch

    from earshot.audio import save
    from earshot.data.corpus import build_corpus
    from earshot.demo.runner import DemoContext
    from earshot.demo.stages import autoencoder_config, codec_config, jnd_config, separation_config, style_config
    from earshot.demo.stages_basic import stage_corpus

    root = tmp_path / "corpus"
    build_corpus(root, minutes=0.04, seed=3, progress=False)
    data = tmp_path / "mine"
    t = torch.arange(8000) / 16000
    save(data / "tone.wav", (0.2 * torch.sin(2 * math.pi * 440 * t))[None], 16000)
    ctx = DemoContext(out=tmp_path / "demo", data=data, quick=True)  # finds the corpus beside its output
    section = stage_corpus(ctx)
    assert ctx.corpus == root and "1 files" in section.intro and section.tables[0].rows
    for make in (autoencoder_config, codec_config, jnd_config, separation_config, style_config):
        assert str(make(ctx, tmp_path / "x").corpus) == str(root), make.__name__


def test_demo_corpus_falls_back_to_synthetic_when_recordings_are_unavailable(tmp_path, monkeypatch):
    import earshot.data.corpus as corpus_module
    from earshot.demo.runner import DemoContext
    from earshot.demo.stages_basic import stage_corpus
    from earshot.errors import DataError

    real_build = corpus_module.build_corpus

    def offline_build(root, **kwargs):
        if kwargs.get("real_minutes"):
            raise DataError("apt-get download bucklespring-data failed (offline)")
        return real_build(root, **kwargs)

    monkeypatch.setattr(corpus_module, "build_corpus", offline_build)
    section = stage_corpus(DemoContext(out=tmp_path / "demo", quick=True))
    assert "synthetic only" in section.intro and "offline" in section.intro
    assert {row[2] for row in section.tables[0].rows} == {"synthetic"}
