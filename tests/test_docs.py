"""Every ```python block in README.md and docs/*.md runs as written; where a ```text block follows
it (the next fenced block), that is what the example prints, and it must print exactly that."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(text: str) -> list[tuple[str, str | None]]:
    """``(code, expected output or None)`` of each python block of a markdown text."""
    blocks = FENCE.findall(text)
    out = []
    for i, (lang, code) in enumerate(blocks):
        if lang == "python":
            following = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
            out.append((code, following[1] if following[0] == "text" else None))
    return out


def _blocks():
    for doc in DOCS:
        for i, (code, expected) in enumerate(examples(doc.read_text())):
            yield pytest.param(code, expected, id=f"{doc.name}-{i}")


def test_docs_have_examples():
    assert any(True for _ in _blocks()), "README.md and docs/ hold no python examples"


def test_examples_pairs_code_with_its_printed_output():
    text = "a\n```python\nprint(1)\n```\nprints\n```text\n1\n```\n```python\nx = 2\n```\n```\nshell\n```\n"
    assert examples(text) == [("print(1)\n", "1\n"), ("x = 2\n", None)]


@pytest.mark.parametrize("code, expected", list(_blocks()))
def test_doc_block_runs(code, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<doc>", "exec", dont_inherit=True), {"__name__": "__doc_example__"})
    if expected is not None:
        assert printed.getvalue() == expected
