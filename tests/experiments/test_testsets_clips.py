"""Held-out test clips: several consecutive clips per file, origins apart, labels in order."""

from __future__ import annotations

import json

import pytest
import torch

from earshot.errors import ConfigError
from earshot.experiments import testsets


@pytest.fixture
def corpus(tmp_path):
    items = [{"path": f"speech/{name}.wav", "kind": "speech", "duration": seconds, "split": "test", "params": {},
              **({"origin": "real"} if name.startswith("real") else {})}
             for name, seconds in [("syn", 1.0), ("real-long", 7.5), ("real-short", 2.0)]]
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "earshot-corpus", "version": 1,
                                                        "sample_rate": 100, "items": items}))
    return tmp_path


def ramp(item):
    """A fake loader: a ramp of the file's length at 100 Hz, so clip boundaries can be read off."""
    return torch.arange(int(item.duration * 100), dtype=torch.float32)[None]


def test_consecutive_clips_per_file_and_short_files_whole(corpus):
    got = testsets.test_clips(corpus, ["speech"], per_group=5, seconds=3.0, sample_rate=100, load=ramp, clips_per_file=4)
    real = got["real"]
    assert [label for label, _, _ in real] == ["real-speech-0", "real-speech-1", "real-speech-2"]
    assert [float(a[0, 0, 0]) for _, _, a in real] == [0.0, 300.0, 0.0]   # 7.5 s: 2 full clips; 2 s: whole
    assert [a.shape[-1] for _, _, a in real] == [300, 300, 200]
    assert [a.shape[-1] for _, _, a in got["synthetic"]] == [100]


def test_one_clip_per_file_by_default_and_bad_count(corpus):
    got = testsets.test_clips(corpus, ["speech"], per_group=5, seconds=3.0, sample_rate=100, load=ramp)
    assert len(got["real"]) == 2
    with pytest.raises(ConfigError, match="clips_per_file"):
        testsets.test_clips(corpus, ["speech"], per_group=5, seconds=3.0, sample_rate=100, load=ramp, clips_per_file=0)
