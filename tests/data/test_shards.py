"""Pair shards below the datasets: PairedDataset reads them through its own constructor."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader

from earshot.data.datasets import PairedDataset
from earshot.data.shards import ShardReader, ShardWriter
from earshot.errors import ConfigError, SampleRateError

SR = 8000


@pytest.fixture
def folder(tmp_path):
    writer = ShardWriter(tmp_path / "pairs", sample_rate=SR, kind="test", shard_size=2, meta={"seed": 5})
    for i in range(5):
        clean = torch.full((1, 16), float(i))
        writer.add(clean, -clean, {"type": "negate", "item": i})
    writer.close()
    return tmp_path / "pairs"


def test_paired_dataset_from_shards_is_an_initialised_dataset(folder):
    data = PairedDataset.from_shards(folder, return_params=True)
    assert isinstance(data.source, ShardReader) and data.perturbation is None and data.strength is None
    assert data.sample_rate == SR and data.seed == 0 and len(data) == 5
    data.set_epoch(3)  # shards do not change with the epoch
    clean, processed, params = data[3]
    assert torch.equal(clean, torch.full((1, 16), 3.0)) and torch.equal(processed, -clean)
    assert json.loads(params) == {"item": 3, "type": "negate"}
    batch = next(iter(DataLoader(PairedDataset(ShardReader(folder), None, sample_rate=SR), batch_size=5)))
    assert batch[0].shape == (5, 1, 16) and torch.equal(batch[0][:, 0, 0], torch.arange(5.0))
    assert json.loads((folder / "index.json").read_text())["seed"] == 5


def test_shards_refuse_a_perturbation_or_another_rate(folder):
    with pytest.raises(ConfigError, match="perturbation=None"):
        PairedDataset(ShardReader(folder), "mp3", sample_rate=SR)
    with pytest.raises(SampleRateError, match="8000 Hz"):
        PairedDataset(ShardReader(folder), None, sample_rate=16000)
