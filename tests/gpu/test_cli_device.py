"""The checks of tests/cli/test_device_cli.py with ``--device cuda`` (skipped without CUDA).

    python -m pytest tests/gpu/test_cli_device.py -q
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("cli_device_checks", Path(__file__).parents[1] / "cli" / "test_device_cli.py")
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)

pytestmark = pytest.mark.gpu
clips = checks.clips


def test_codec_on_cuda(clips):
    checks.test_codec_on_device_equals_cpu_coding(clips, "cuda")


def test_separate_on_cuda(clips):
    checks.test_separate_on_device(clips, "cuda")


def test_explain_and_style_on_cuda(clips, capsys):
    checks.test_explain_and_style_on_device(clips, "cuda", capsys)
