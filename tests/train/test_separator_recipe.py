"""The separation demo task, the separator recipe in each mode, and the experiment library,
on a small corpus of synthetic speech-like and music-like files written by the test."""

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from earshot.data.separation import (MixtureSet, MultitrackSources, SemiSupervisedSet, SpeechMusicTask,
                                     mix_sources, segment_samples)
from earshot.errors import ConfigError
from earshot.train.config import build_config
from earshot.train.engine import train
from earshot.train.recipe import StepContext, get_recipe

SR = 16000


def speechlike(rng, seconds=1.5):
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(110, 220) * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(h * phase) / h for h in range(1, 7))
    return 0.1 * voice * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 5) * t)) ** 2


def musiclike(rng, seconds=1.5):
    t = np.arange(int(seconds * SR)) / SR
    root = rng.uniform(200, 400)
    return 0.05 * sum(np.sign(np.sin(2 * np.pi * root * r * t)) for r in (1.0, 1.25, 1.5))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("sep-corpus")
    rng = np.random.default_rng(0)
    items = []
    for kind, make in (("speech", speechlike), ("music", musiclike)):
        (root / kind).mkdir()
        for i, split in enumerate(["train"] * 6 + ["valid", "test"]):
            path = f"{kind}/{kind}-{i:02d}.wav"
            sf.write(root / path, make(rng), SR)
            items.append({"path": path, "kind": kind, "split": split, "duration": 1.5, "params": {}})
    (root / "manifest.json").write_text(json.dumps({"format": "earshot-corpus", "sample_rate": SR, "items": items}))
    return root


TINY = {"recipe.channels": 4, "recipe.depth": 2, "recipe.critic_channels": 4, "recipe.critic_layers": 2,
        "recipe.segment_frames": 16, "recipe.paired_items": 4, "recipe.items_per_epoch": 8,
        "recipe.valid_items": 2, "recipe.valid_seconds": 0.5, "train.batch_size": 2, "train.disc_steps": 2,
        "train.progress": "false", "train.tensorboard": "false", "train.val_every": 0, "train.ckpt_every": 0,
        "train.num_examples": 1, "train.log_every": 1}


def config(corpus, **kw):
    recipe = get_recipe("separator")
    items = {**TINY, "recipe.corpus": str(corpus), **{k.replace("__", "."): v for k, v in kw.items()}}
    return build_config("separator", recipe.config_class, train_defaults=recipe.train_defaults,
                        overrides={k: str(v) for k, v in items.items()})


# ---------------------------------------------------------------- data

def test_task_groups_are_disjoint_and_items_deterministic(corpus):
    task = SpeechMusicTask(corpus, segment_frames=16, paired_items=4, items_per_epoch=8)
    for groups in task.groups.values():
        names = [set(map(str, g)) for g in groups.values()]
        assert all(names) and not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    train_set = task.training_set("semi")
    item = train_set[3]
    n = segment_samples(16)
    assert {k: tuple(v.shape) for k, v in item.items()} == {"mix": (1, n), "sources": (2, n),
                                                            "unpaired_mix": (1, n), "solo": (2, n)}
    torch.testing.assert_close(item["mix"], item["sources"].sum(0, keepdim=True))
    again = SpeechMusicTask(corpus, segment_frames=16, paired_items=4, items_per_epoch=8).training_set("semi")[3]
    assert all(torch.equal(item[k], again[k]) for k in item)
    train_set.set_epoch(1)
    moved = train_set[3]
    assert torch.equal(moved["mix"], item["mix"])                 # the labelled set is fixed
    assert not torch.equal(moved["unpaired_mix"], item["unpaired_mix"])  # unlabelled data varies per epoch
    assert set(task.training_set("supervised")[0]) == {"mix", "sources"}
    assert set(task.training_set("unsupervised")[0]) == {"unpaired_mix", "solo"}


def test_mixing_levels_and_held_out_params(corpus):
    sources = torch.randn(2, 4000)
    mix, scaled = mix_sources(sources, [-20.0, -26.0])
    rms = scaled.pow(2).mean(-1).sqrt()
    torch.testing.assert_close(20 * torch.log10(rms), torch.tensor([-20.0, -26.0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(mix, scaled.sum(0, keepdim=True))
    loud, _ = mix_sources(sources, [0.0, 0.0], peak=0.5)
    assert math.isclose(float(loud.abs().max()), 0.5, rel_tol=1e-6)
    task = SpeechMusicTask(corpus)
    test = task.held_out("test", items=2, seconds=0.5)
    assert isinstance(test, MixtureSet) and test[0][0].shape == (1, 4096)
    p = test.params(0)["sources"]
    assert p[0]["path"].endswith("speech-07.wav") and p[1]["path"].endswith("music-07.wav")


def write_musdb(root):
    rng = np.random.default_rng(1)
    for subset in ("train", "test"):
        song = root / subset / "song"
        song.mkdir(parents=True)
        for s in ("vocals", "drums", "bass", "other"):
            sf.write(song / f"{s}.wav", 0.1 * rng.standard_normal(8000), 8000)


def test_multitrack_adapter(tmp_path):
    from earshot.data.datasets import MultitrackDataset

    write_musdb(tmp_path)
    data = MultitrackSources(MultitrackDataset(tmp_path, segment_seconds=0.5, sample_rate=8000, mono=True))
    mix, sources = data[0]
    assert mix.shape == (1, 4000) and sources.shape == (2, 4000)
    torch.testing.assert_close(sources.sum(0, keepdim=True), mix, atol=1e-6, rtol=0)
    with pytest.raises(ConfigError):
        MultitrackSources(data.data, ("vocals", "piano"))
    with pytest.raises(ConfigError):
        SemiSupervisedSet(None, None)


# ---------------------------------------------------------------- recipe

@pytest.mark.parametrize("mode,models,terms", [
    ("supervised", {"model"}, {"sup"}),
    ("semi", {"generator", "discriminator"}, {"sup", "add", "adv"}),
    ("unsupervised", {"generator", "discriminator"}, {"add", "adv"}),
])
def test_recipe_trains_in_each_mode(corpus, tmp_path, mode, models, terms):
    result = train(config(corpus, recipe__mode=mode, train__steps=2), tmp_path / mode)
    assert set(result.models) == models
    rows = [line.split(",") for line in (tmp_path / mode / "metrics.csv").read_text().splitlines()[1:]]
    logged = {r[2] for r in rows if r[1] == "train"}
    assert terms <= logged and not ({"sup", "add", "adv"} - terms) & logged
    assert all(math.isfinite(float(r[3])) for r in rows if r[1] == "train")
    if mode != "supervised":
        assert {"disc/gp", "disc/critic", "wasserstein"} <= logged
    assert math.isfinite(result.metrics["sdr_vocals"]) and "si_sdr_accompaniment" in result.metrics
    assert (tmp_path / mode / "data_plan.json").is_file()


def test_terms_weights_and_waveform_supervised_loss(corpus):
    cfg = config(corpus, recipe__supervised_loss="mrstft", recipe__alpha=0.5, recipe__beta=0.25)
    recipe = get_recipe("separator")(cfg.recipe, cfg.train)
    models = recipe.build_models()
    train_set, valid = recipe.datasets()
    batch = torch.utils.data.default_collate([train_set[0], train_set[1]])
    ctx = StepContext(step=0, total_steps=1, device=torch.device("cpu"), adversary_active=True)
    terms = recipe.training_step(models, batch, ctx)
    assert set(terms) == {"sup", "add", "adv"} and all(torch.isfinite(v) for v in terms.values())
    sep = models["generator"]
    spec = sep.stft(batch["unpaired_mix"])
    est = sep(torch.log1p(spec.abs()))
    torch.testing.assert_close(terms["add"], 0.25 * torch.nn.functional.mse_loss(torch.expm1(est).sum(1, keepdim=True),
                                                                                   spec.abs()))
    torch.testing.assert_close(terms["adv"], -0.5 * models["discriminator"](est).mean(0).sum())
    terms["sup"].backward()
    assert sep.heads[0].weight.grad.abs().sum() > 0
    d = recipe.discriminator_step(models, batch, ctx)
    assert set(d) == {"critic", "gp"} and d["gp"] >= 0
    quiet = StepContext(step=0, total_steps=1, device=torch.device("cpu"), adversary_active=False)
    assert set(recipe.training_step(models, batch, quiet)) == {"sup", "add"}


def test_bad_mode_and_folder_options(corpus, tmp_path):
    with pytest.raises(ConfigError):
        get_recipe("separator")(config(corpus, recipe__mode="weakly").recipe)
    cfg = config(corpus, recipe__corpus="", recipe__mode="semi")
    with pytest.raises(ConfigError):
        get_recipe("separator")(cfg.recipe, cfg.train).datasets()
    # solo sources and mixtures from folders, paired data from the corpus task
    for name in ("mixtures", "voice", "band"):
        (tmp_path / name).mkdir()
    rng = np.random.default_rng(2)
    sf.write(tmp_path / "mixtures" / "m.wav", speechlike(rng) + musiclike(rng), SR)
    sf.write(tmp_path / "voice" / "v.wav", speechlike(rng), SR)
    sf.write(tmp_path / "band" / "b.wav", musiclike(rng), SR)
    cfg = config(corpus, recipe__mixture_folder=tmp_path / "mixtures",
                 recipe__solo_folders=json.dumps({"vocals": str(tmp_path / "voice"), "accompaniment": str(tmp_path / "band")}))
    train_set, _ = get_recipe("separator")(cfg.recipe, cfg.train).datasets()
    item = train_set[0]
    assert item["solo"].shape == (2, segment_samples(16)) and item["unpaired_mix"].shape == (1, segment_samples(16))
    # paired data and validation from a MUSDB18-layout folder, no corpus
    write_musdb(tmp_path / "musdb")
    cfg = config(corpus, recipe__corpus="", recipe__mode="supervised", recipe__multitrack=tmp_path / "musdb",
                 recipe__multitrack_subset="train", recipe__multitrack_valid_subset="test")
    train_set, valid = get_recipe("separator")(cfg.recipe, cfg.train).datasets()
    assert set(train_set[0]) == {"mix", "sources"} and train_set[0]["sources"].shape == (2, segment_samples(16))
    mix, sources = valid[0]
    assert mix.shape == (1, 4096) and sources.shape == (2, 4096)


def test_experiment_library(corpus, tmp_path):
    from earshot.experiments.separation import ExperimentConfig, markdown, run_experiment

    cfg = ExperimentConfig(corpus=str(corpus), out=str(tmp_path / "exp"), steps=2, batch_size=2, channels=4,
                           segment_frames=16, paired_items=4, items_per_epoch=8, test_items=2, test_seconds=1.0,
                           disc_steps=1, examples=1, progress=False, kind="mask")
    results = run_experiment(cfg)
    rows = results["eval"]["rows"]
    assert set(rows) == {"mixture (no separation)", "supervised", "semi"}
    for name in ("supervised", "semi"):
        for source in ("vocals", "accompaniment"):
            r = rows[name][source]
            assert all(math.isfinite(r[k]) for k in ("sdr_median", "sdr_mean", "sir_median", "sar_mean", "si_sdr"))
    # the unprocessed mixture as both estimates: its SAR is huge (no artifacts), SIR = -SIR of the other
    mixture = rows["mixture (no separation)"]
    assert mixture["vocals"]["sar_median"] > 60
    assert (tmp_path / "exp" / "results.json").is_file() and "| semi | vocals |" in markdown(results)
    assert (tmp_path / "exp" / "examples" / "00-vocals-semi.wav").is_file()
    assert (tmp_path / "exp" / "spectrograms.png").read_bytes()[:4] == b"\x89PNG"
