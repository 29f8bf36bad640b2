"""The report writer, the table renderer and the demo runner; the report opened in Chromium."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from playwright.sync_api import sync_playwright

from earshot.demo.runner import DemoContext, run_demo
from earshot.errors import DataError
from earshot.report import Figure, Interval, Section, Table, table_json, table_markdown, write_report, write_section
from earshot.report.explain import loss_gradients
from earshot.report.plots import spectrograms

SR = 16000
ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def tone(freq: float = 440.0, seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return (0.3 * torch.sin(2 * math.pi * freq * t))[None]


def good_stage(ctx: DemoContext) -> Section:
    clip = ctx.clip("good", "a tone", tone())
    return Section("good", "Good", tables=[Table("numbers", ["name", "value"], [["pi", 3.14159], ["nan", float("nan")]])],
                   figures=[Figure("spectrogram", spectrograms([("tone", tone())], SR))], clips=[clip],
                   results={"pi": 3.14159})


def broken_stage(ctx: DemoContext) -> Section:
    raise DataError("no data here")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list[Section]]:
    out = tmp_path_factory.mktemp("demo")
    ctx = DemoContext(out=out)
    path, sections = run_demo(ctx, [("good", "Good", good_stage), ("broken", "Broken", broken_stage),
                                    ("after", "After", good_stage)], definitions={"pi": "a circle's ratio"})
    return path, sections


def test_a_failing_stage_is_recorded_and_the_others_run(report):
    path, sections = report
    assert [s.ok for s in sections] == [True, False, True]
    assert "DataError: no data here" in sections[1].error
    assert all(s.seconds is not None and s.seconds >= 0 for s in sections)
    results = json.loads((path.parent / "results.json").read_text())
    assert [s["id"] for s in results["sections"]] == ["good", "broken", "after"]
    assert results["sections"][0]["results"] == {"pi": 3.14159}
    assert results["definitions"] == {"pi": "a circle's ratio"}


def test_report_in_a_browser_has_every_section_figure_and_playable_audio(report):
    path, _ = report
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page()
        page.goto(path.as_uri())
        assert page.locator("section.stage").count() == 3
        assert "DataError: no data here" in page.locator("section.stage.failed .error").inner_text()
        assert page.locator("nav a").count() == 4  # three stages and the definitions
        images = page.locator("figure.plot img")
        assert images.count() == 2
        assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 100") for i in range(2))
        assert page.locator("td", has_text="3.142").count() == 2 and page.locator("td", has_text="n/a").count() == 2
        played = page.locator("audio").first.evaluate(
            """async a => { a.muted = true; await a.play(); await new Promise(r => setTimeout(r, 300));
                            return {time: a.currentTime, duration: a.duration}; }""")
        assert played["time"] > 0 and played["duration"] == pytest.approx(0.5, abs=0.01)
        browser.close()


def test_one_renderer_gives_markdown_html_and_json_the_same_cells(tmp_path):
    table = Table("scores", ["model", "PESQ", "n"], [["A", Interval(2.5, 2.25, 2.75), 3], ["B", float("nan"), 4],
                                                   ["C", 1.0, 5]], "notes here")
    text = table_markdown(table)
    assert text.splitlines()[0] == "### scores" and "notes here" in text
    assert "| A | 2.500 [2.250, 2.750] | 3 |" in text and "| B | n/a | 4 |" in text and "| C | 1.000 | 5 |" in text
    data = table_json(table)
    assert data["rows"][0][1] == {"mean": 2.5, "low": 2.25, "high": 2.75} and data["rows"][1][1] is None
    section = Section("s", "S", intro="hello", tables=[table], results={"x": 1})
    md = write_section(section, tmp_path, title="t")
    assert md == (tmp_path / "results.md").read_text() and "| A | 2.500 [2.250, 2.750] | 3 |" in md
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"x": 1}
    assert json.loads((tmp_path / "results.json").read_text())["sections"][0]["tables"][0] == data
    html = (tmp_path / "report.html").read_text()
    assert "<td>2.500 [2.250, 2.750]</td>" in html and "<td>n/a</td>" in html


def test_training_curves_plot_each_run(tmp_path, monkeypatch):
    import earshot.report.plots as plots
    from earshot.report.plots import training_curves

    seen = {}
    monkeypatch.setattr(plots, "curves", lambda series, **kw: seen.update(series) or b"png")
    assert training_curves(tmp_path) is None  # no runs, no figure
    (tmp_path / "runs" / "C").mkdir(parents=True)
    (tmp_path / "runs" / "C" / "metrics.csv").write_text(
        "step,split,name,value,time\n5,train,loss,0.5,0\n5,valid,loss,9,0\n10,train,loss,0.25,0\n10,train,l1,7,0\n")
    assert training_curves(tmp_path).png == b"png" and seen == {"C": [(5, 0.5), (10, 0.25)]}


def test_loss_gradients_point_where_the_difference_is():
    from earshot.losses import L1Loss

    clean = tone(440)[None]
    degraded = clean.clone()
    degraded[..., 2000:3000] += 0.1
    (g,) = loss_gradients(clean, degraded, {"l1": L1Loss()})
    inside, outside = g.gradient[2000:3000].abs().mean(), torch.cat([g.gradient[:2000], g.gradient[3000:]]).abs().mean()
    assert outside == 0 and inside > 0 and g.value == pytest.approx(0.1 * 1000 / 8000, rel=1e-5)
