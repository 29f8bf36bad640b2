"""A listening test from an experiment's outputs: MUSHRA (or A/B) stimuli, the experiment file for
`earshot listen serve`, and the analysis shown on simulated answers.

An experiment run (`earshot experiment autoencoder|denoising|codec-losses`) writes
``examples.json``: per test clip its reference, its input and each model's output. From it,
:func:`prepare` writes one item folder per clip under ``OUT/stimuli`` with ``reference.wav``
and one file per model (the condition is the model's name, made URL-safe), adds the MUSHRA low
anchor (``anchor.wav``, the reference low-passed at 3.5 kHz, `earshot.listening.prepare`) and
the hidden reference (the web app adds it: the reference is rated among the conditions), and
``OUT/experiment.yaml``. For A/B the items hold the models' outputs only.

:func:`simulate_mushra` answers the test with simulated listeners (`earshot.psycho.listener`: an
NMR detector and a psychometric function; a rating is ``100 (1 - P(different))`` plus rating
noise) and summarises the answers as the real analysis does (`earshot.listening.stats`):
assessors screened on the hidden reference, per-condition means with 95% intervals. These are
simulated answers, a check of the pipeline, never a result about people.

    earshot experiment listening --run-dir runs/denoising --out runs/listen-denoising
    earshot listen serve runs/listen-denoising/experiment.yaml --db runs/listen-denoising/answers.db
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from earshot.errors import ConfigError


@dataclass
class ListeningTest:
    """Settings of :func:`run`."""

    run_dir: str = "runs/denoising"   # an experiment's output folder (holding examples.json)
    out: str = "runs/listening-test"  # folder for the stimuli, experiment.yaml and the simulated analysis
    type: str = "mushra"              # mushra | ab
    max_items: int = 8                # test clips used (the first ones of examples.json)
    listeners: int = 20               # simulated listeners for the analysis (0 = none)
    seed: int = 0

    def __post_init__(self):
        if self.type not in ("mushra", "ab"):
            raise ConfigError(f"type {self.type!r}: use mushra or ab")


def condition_name(variant: str) -> str:
    """A model's name as a listening-test condition (lower case, URL-safe, never ``reference``/``anchor``)."""
    name = re.sub(r"[^a-z0-9_-]+", "-", variant.lower()).strip("-") or "model"
    return f"model-{name}" if name.startswith(("reference", "anchor")) or not name[0].isalnum() else name[:64]


def prepare(run_dir, out, *, type: str = "mushra", max_items: int = 8, name: str | None = None) -> Path:
    """Write the stimuli and ``experiment.yaml`` under ``out`` from ``run_dir/examples.json``; return
    the YAML path (checked with `earshot.listening.experiment.load_experiment`)."""
    from earshot.listening.experiment import load_experiment
    from earshot.listening.prepare import write_anchors

    run_dir, out = Path(run_dir), Path(out)
    index = run_dir / "examples.json"
    if not index.is_file():
        raise ConfigError(f"{run_dir}: no examples.json (run an experiment into it first)")
    examples = dict(list(json.loads(index.read_text()).items())[:max_items])
    stimuli = out / "stimuli"
    if stimuli.exists():
        shutil.rmtree(stimuli)
    conditions = {}
    for label, e in examples.items():
        item = stimuli / condition_name(label)
        item.mkdir(parents=True)
        if type == "mushra":
            shutil.copyfile(run_dir / e["reference"], item / "reference.wav")
        for variant, path in e["outputs"].items():
            conditions[condition_name(variant)] = variant
            shutil.copyfile(run_dir / path, item / f"{condition_name(variant)}.wav")
    if type == "mushra":
        write_anchors(stimuli)
    name = name or condition_name(f"{run_dir.name}-{type}")
    yaml_path = out / "experiment.yaml"
    yaml_path.write_text(_yaml(name, type, stimuli.resolve(), run_dir))
    (out / "conditions.json").write_text(json.dumps(conditions, indent=2) + "\n")
    load_experiment(yaml_path)
    return yaml_path


def _yaml(name: str, type: str, stimuli: Path, run_dir: Path) -> str:
    question = ("Rate each version from 0 (bad) to 100 (indistinguishable from the reference). One of them is "
                "the reference itself." if type == "mushra" else "Which version sounds better?")
    return (f"# Made by earshot.experiments.listening from {run_dir}; serve with\n"
            f"#   earshot listen serve {stimuli.parent / 'experiment.yaml'} --db {stimuli.parent / 'answers.db'}\n"
            f"name: {name}\ntype: {type}\ntitle: Which model sounds closest to the reference?\n"
            f"instructions: |\n  {question}\nstimuli: {json.dumps(str(stimuli))}\n")


def simulate_mushra(stimuli, *, listeners: int = 20, seed: int = 0, rating_noise: float = 5.0,
                    sample_rate: int = 16000) -> list[dict]:
    """Simulated MUSHRA answers ``[{"participant", "item", "ratings": {condition: 0..100}}]`` for
    every item folder of ``stimuli`` (hidden reference included as ``reference``)."""
    from earshot.audio.io import load
    from earshot.psycho.listener import NMRDetector, listener_panel

    detector = NMRDetector(sample_rate)
    panel = listener_panel(listeners, seed=seed)
    rng = np.random.default_rng(seed)
    statistics = {}
    for item in sorted(p for p in Path(stimuli).iterdir() if p.is_dir()):
        ref = load(item / "reference.wav", sample_rate=sample_rate)[0]
        statistics[item.name] = {p.stem: detector.statistic(ref, load(p, sample_rate=sample_rate)[0])
                                 for p in sorted(item.glob("*.wav"))}
    records = []
    for who in panel:
        for item, stats in statistics.items():
            ratings = {c: float(np.clip(100 * (1 - who.p_different(s)) + rating_noise * rng.standard_normal(), 0, 100))
                       for c, s in stats.items()}
            records.append({"participant": who.name, "item": item, "ratings": ratings})
    return records


def run(cfg: ListeningTest | None = None):
    """Prepare the test and, with ``listeners``, analyse simulated answers; return the report `Section`."""
    from earshot.listening.stats import mushra_screen, mushra_summary
    from earshot.report import Section, Table

    cfg = cfg or ListeningTest()
    yaml_path = prepare(cfg.run_dir, cfg.out, type=cfg.type, max_items=cfg.max_items)
    section = Section("listening", "Listening test from an experiment", intro=(
        f"Prepared {yaml_path} from {cfg.run_dir}: serve it with `earshot listen serve {yaml_path} --db DB`, "
        f"export the answers with `earshot listen export DB --experiment NAME --format csv`."),
        results={"experiment": str(yaml_path)})
    if cfg.type != "mushra" or cfg.listeners < 1:
        return section
    records = simulate_mushra(Path(cfg.out) / "stimuli", listeners=cfg.listeners, seed=cfg.seed)
    excluded = mushra_screen(records)
    rows = [[s.condition, s.n, s.mean, s.ci_low, s.ci_high] for s in mushra_summary(records, exclude=excluded)]
    section.tables.append(Table(f"SIMULATED MUSHRA answers ({cfg.listeners} simulated listeners)",
                                ["condition", "ratings", "mean", "95% low", "95% high"], rows,
                                f"Simulated listeners (NMR detector + psychometric function), not people; "
                                f"{len(excluded)} screened out on the hidden reference (ITU-R BS.1534-3 rule)."))
    section.results.update(simulated=True, excluded=sorted(excluded), records=records)
    return section


__all__ = ["ListeningTest", "condition_name", "prepare", "run", "simulate_mushra"]
