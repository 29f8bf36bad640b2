"""The emulator recipe end to end on a tiny generated corpus: real MP3 pairs, training, export, load."""

from __future__ import annotations

import json
import math

import pytest
import torch

from earshot.audio.codecs import mp3_roundtrip
from earshot.audio.io import save


def tiny_corpus(root, seconds: float = 2.0, rate: int = 16000):
    """Two speech-like and one music-like file per split (train/valid), written with a manifest."""
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(int(seconds * rate)) / rate
    items = []
    for split in ("train", "valid"):
        for i, kind in enumerate(("speech", "speech", "music")):
            f0 = 120.0 + 40 * i + (7 if split == "valid" else 0)
            tone = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 30) if f0 * k < 7500)
            audio = 0.05 * tone * (1 + torch.sin(2 * math.pi * 3 * t)) + 0.003 * torch.randn(t.shape, generator=gen)
            path = f"{kind}/{split}-{i}.wav"
            (root / kind).mkdir(exist_ok=True)
            save(root / path, audio[None], rate)
            items.append({"path": path, "kind": kind, "duration": seconds, "split": split, "params": {}})
    (root / "manifest.json").write_text(json.dumps({"format": "earshot-corpus", "version": 1,
                                                    "sample_rate": rate, "items": items}))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("corpus"))


def test_codec_pairs_are_aligned_excerpts_of_whole_file_round_trips(corpus):
    from earshot.audio.io import load
    from earshot.train.recipes.emulator import CodecPairs, EmulatorConfig

    cfg = EmulatorConfig(corpus=str(corpus), seconds=0.5)
    data = CodecPairs(cfg, "train", items=4, seed=3)
    item = data[1]
    assert item["clean"].shape == item["coded"].shape == (1, 8000)
    assert torch.equal(data[1]["clean"], item["clean"])  # deterministic in the index
    # the excerpt is a slice of a corpus file, and "coded" the same slice of its whole-file round trip
    for path in sorted(corpus.glob("*/train-*.wav")):
        audio = load(path, sample_rate=16000, mono=True)[0]
        hits = [s for s in range(0, audio.shape[-1] - 8000 + 1)
                if torch.equal(audio[:, s:s + 8000], item["clean"])]
        if hits:
            coded = mp3_roundtrip(audio, 16000, kbps=16)
            assert torch.equal(coded[:, hits[0]:hits[0] + 8000], item["coded"])
            break
    else:
        pytest.fail("the excerpt is not a slice of any train file")


@pytest.mark.parametrize("variant,size", [("spectral", "recipe.base_filters=4"), ("time", "recipe.filters=4")])
def test_train_export_load(corpus, tmp_path, variant, size):
    from earshot.cli.common import parse_overrides
    from earshot.losses.codec import CodecLoss
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.train.export import export_run
    from earshot.train.recipe import get_recipe
    from earshot.weights import load_pretrained

    cls = get_recipe("emulator")
    items = [f"recipe.variant={variant}", size, f"recipe.corpus={corpus}", "recipe.seconds=0.5",
             "recipe.items=8", "recipe.valid_items=2", "recipe.time_levels=4", "train.steps=2",
             "train.batch_size=2", "train.val_every=0", "train.tensorboard=false", "train.progress=false",
             "train.num_examples=0", "train.loss_weights={l1: 1.0, mel: 1.0}"]
    cfg = build_config("emulator", cls.config_class, train_defaults=cls.train_defaults, overrides=parse_overrides(items))
    result = train(cfg, tmp_path / "run")
    assert result.step == 2
    assert {"explained", "lsd", "lsd_input", "l1"} <= set(result.metrics)
    assert all(math.isfinite(v) for v in result.metrics.values())
    manifest = export_run(tmp_path / "run", f"emu-{variant}", out_dir=tmp_path / "weights")
    net = load_pretrained(str(manifest))
    assert type(net).__name__ == ("SpectralEmulator" if variant == "spectral" else "TimeEmulator")
    info = json.loads(manifest.read_text())
    assert info["recipe"] == "emulator" and "MP3" in info["data"] and info["sample_rate"] == 16000
    x = 0.1 * torch.randn(1, 1, 4000)
    assert torch.isfinite(CodecLoss(str(manifest))(x, 0.5 * x))


def test_autoencoder_recipe_band_limits_and_trains(corpus, tmp_path):
    """The experiment's recipe: excerpts are low-passed at 3 kHz; two steps of L1 + STFT train."""
    from earshot.cli.common import parse_overrides
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.train.recipe import get_recipe
    from earshot.train.recipes.autoencoder import AutoencoderConfig, Excerpts

    data = Excerpts(AutoencoderConfig(corpus=str(corpus), seconds=0.5), "train", items=4, seed=0)
    x = data[0][0]
    power = torch.fft.rfft(x).abs().square()
    f = torch.fft.rfftfreq(x.shape[-1], 1 / 16000)
    assert power[f > 3200].sum() < 1e-4 * power.sum()
    assert power[(f > 100) & (f < 2800)].sum() > 0.9 * power.sum()

    cls = get_recipe("autoencoder")
    items = [f"recipe.corpus={corpus}", "recipe.items=8", "recipe.valid_items=2", "train.steps=2",
             "train.batch_size=2", "train.tensorboard=false", "train.progress=false", "train.num_examples=0",
             "train.loss_weights={l1: 1.0, stft: 1.0}"]
    cfg = build_config("autoencoder", cls.config_class, train_defaults=cls.train_defaults,
                       overrides=parse_overrides(items))
    result = train(cfg, tmp_path / "run")
    assert result.step == 2 and math.isfinite(result.metrics["snr"]) and result.metrics["stft"] > 0
