"""Fuzzing the loaders of YAML files people write: training configs (`earshot.train.config`:
read_yaml, from_dict, apply_overrides) and listening experiments; only ConfigError (or
another earshot error) or a valid result, never a raw exception. Read-only: nothing trains."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from fuzz_helpers import attempt, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from earshot.listening.experiment import load_experiment
from earshot.train import config
from earshot.train.recipes.toy import ToyConfig

WORK = Path(tempfile.mkdtemp(prefix="earshot-fuzz-config-"))
KEYS = ["train", "recipe", "recipe_name", "steps", "lr", "batch_size", "seed", "precision", "name", "type",
        "stimuli", "pairs", "generate", "clips", "n_items", "conditions", "rate_limit", "items_per_participant",
        "title", "adaptive", "pretest", "n_trials", "gap_ms", "volume_check", "sample_rate", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["ab", "mushra", "jnd", "1e-3", "nan", "-1", "..", "/"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
                      max_leaves=20)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)


@fuzz_settings(200)
@given(documents)
def test_train_config_from_dict(doc):
    attempt("config: from_dict", config.from_dict, doc, ToyConfig)


override_values = st.one_of(st.text(max_size=10), st.sampled_from(["100", "0", "-1", "1e-3", "true", "null", "[1, 2]",
                                                                    "bf16-mixed", "32", "nan", "{a: 1}"]))


@fuzz_settings(150)
@given(st.dictionaries(st.sampled_from(["train.steps", "train.lr", "recipe.x", "recipe.hidden", "train",
                                        "steps", "train.precision", "recipe.sample_rate", "train.seed"]),
                       override_values, max_size=4))
def test_train_config_overrides(overrides):
    base = config.RunConfig("toy", config.TrainConfig(), ToyConfig())
    attempt("config: overrides", config.apply_overrides, base, overrides)


@fuzz_settings(100)
@given(st.one_of(documents.map(lambda d: yaml.safe_dump(d, allow_unicode=True)), st.text(max_size=200)))
def test_train_config_yaml_files(text):
    path = WORK / "cfg.yaml"
    path.write_text(text)
    attempt("config: YAML files", config.read_yaml, path)


def _stimuli() -> Path:
    """A tiny valid A/B stimulus folder, so that mutated experiment files can also load."""
    import numpy as np
    import soundfile as sf

    root = WORK / "stim"
    for item in ("a", "b"):
        (root / item).mkdir(parents=True, exist_ok=True)
        for c in ("x", "y", "z"):
            sf.write(str(root / item / f"{c}.wav"), 0.1 * np.ones(160), 16000)
    return root


STIMULI = _stimuli()
VALID_EXPERIMENT = {"name": "fuzz", "type": "ab", "stimuli": str(STIMULI)}


@fuzz_settings(120)
@given(st.one_of(documents.map(lambda d: yaml.safe_dump(d, allow_unicode=True)), st.text(max_size=200),
                 documents.map(lambda d: yaml.safe_dump({**VALID_EXPERIMENT, **d})),
                 st.dictionaries(st.sampled_from(["pairs", "no_preference", "items_per_participant", "rate_limit",
                                                  "title", "volume_check", "seed", "question"]),
                                 values, max_size=3).map(lambda d: yaml.safe_dump({**VALID_EXPERIMENT, **d}))))
def test_listening_experiment_files(text):
    path = WORK / "exp.yaml"
    path.write_text(text)
    attempt("listening: experiment files", load_experiment, path)
