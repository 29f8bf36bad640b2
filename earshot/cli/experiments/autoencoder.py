"""`earshot experiment autoencoder`: the codec-loss paper's experiment (Ananthabhotla et al. 2019).

Trains the paper's small waveform autoencoder (`earshot.train.recipes.autoencoder`) once per
loss -- A: L1, B: L1 + magnitude-STFT L1, C: L1 + spectral CodecLoss, D: time-domain CodecLoss
(C and D with the paper's feature term over all layers), a multi-resolution STFT baseline, and
E: L1 + the learned JND loss -- with the same seed, data order, batch and steps, on
corpus speech + music band-limited to 3 kHz (``--lowpass 0`` keeps the full band). Then scores
each on held-out (test split) excerpts, band-limited the same way: SNR, PESQ (wide band, speech
only), STOI, DAC mel distance and, when its weights are installed, the learned JND distance.
Writes ``results.md``, ``results.json`` and ``audio/<kind>-<n>-<model>.wav`` under ``--out``.

    earshot experiment autoencoder                      # small default budget (~10 CPU minutes)
    earshot experiment autoencoder --steps 5000 --out runs/autoencoder-long
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from earshot.errors import ConfigError, EarshotError
from earshot.data.corpus import DEFAULT_CORPUS

MODELS = {
    "A": {"l1": 1.0},
    "B": {"l1": 1.0, "stft": 1.0},
    "C": {"l1": 1.0, "codec_spectral": 1.0},
    "D": {"codec_time": 1.0},
    "mrstft": {"mrstft": 1.0},
    "E": {"l1": 1.0, "jnd": 0.03},  # JND weight as in the denoising experiment: terms about equal at the start
}
LABELS = {"A": "A: L1", "B": "B: L1 + STFT", "C": "C: L1 + codec (spectral)", "D": "D: codec (time)",
          "mrstft": "MR-STFT", "E": "E: L1 + JND"}


def register(subparsers) -> None:
    p = subparsers.add_parser("autoencoder", help="paper's autoencoder trained with L1 / STFT / codec losses",
                              description=__doc__)
    p.add_argument("--corpus", default=DEFAULT_CORPUS, help="corpus folder (speech + music)")
    p.add_argument("--out", type=Path, default=Path("runs/autoencoder"), help="output folder")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--steps", type=int, default=500, help="optimiser steps per model")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seconds", type=float, default=0.5, help="training excerpt length")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lowpass", type=float, default=3000.0, help="band-limit in Hz (0 = full band)")
    p.add_argument("--codec-layers", default="all", help="CodecLoss layers: all | encoder | shallow | decoder")
    p.add_argument("--codec-feature-weight", type=float, default=1.0, help="CodecLoss feature term weight (c)")
    p.add_argument("--spectral-emulator", default="emulator-spectral", help="weights name or manifest path")
    p.add_argument("--time-emulator", default="emulator-time", help="weights name or manifest path")
    p.add_argument("--test-files", type=int, default=4, help="held-out files per kind")
    p.add_argument("--test-seconds", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def train_model(name: str, args) -> tuple[torch.nn.Module, float]:
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.train.recipe import get_recipe

    recipe = get_recipe("autoencoder")
    overrides = {
        "train.steps": str(args.steps), "train.batch_size": str(args.batch_size), "train.seed": str(args.seed),
        "train.lr": str(args.lr), "train.val_every": "0", "train.ckpt_every": "0", "train.tensorboard": "false",
        "train.loss_weights": json.dumps(MODELS[name]), "recipe.corpus": args.corpus,
        "recipe.seconds": str(args.seconds), "recipe.lowpass_hz": str(args.lowpass), "recipe.seed": str(args.seed),
        "recipe.codec_layers": args.codec_layers, "recipe.codec_feature_weight": str(args.codec_feature_weight),
        "recipe.spectral_emulator": args.spectral_emulator, "recipe.time_emulator": args.time_emulator,
    }
    cfg = build_config("autoencoder", recipe.config_class, train_defaults=recipe.train_defaults, overrides=overrides)
    start = time.process_time()
    result = train(cfg, args.out / "runs" / name)
    return result.models["model"].eval(), time.process_time() - start


def test_clips(args) -> list[tuple[str, torch.Tensor]]:
    """``[(kind-n, (1, 1, T)), ...]``: the first ``--test-seconds`` of ``--test-files`` files per kind."""
    from earshot.train.recipes.autoencoder import band_limited_files

    files = band_limited_files(args.corpus, ("speech", "music"), "test", 16000, args.lowpass)
    n = int(args.test_seconds * 16000)
    clips, count = [], {"speech": 0, "music": 0}
    for kind, audio in files:
        if count[kind] < args.test_files:
            clips.append((f"{kind}-{count[kind]}", audio[None, :, :n]))
            count[kind] += 1
    return clips


def jnd_metric():
    try:
        from earshot.metrics.jnd import jnd_distance

        jnd_distance(torch.zeros(1, 1, 16000), 0.1 * torch.ones(1, 1, 16000), 16000)
        return jnd_distance
    except (ImportError, EarshotError) as exc:
        print(f"note: JND distance unavailable ({exc})", file=sys.stderr)
        return None


def score(models: dict, clips: list, out: Path) -> dict:
    """Mean metrics per model over the clips (PESQ over speech clips only); writes audio examples and,
    per example clip, ``spectrograms_<label>.png`` of the input and every model's output."""
    from earshot.audio.io import save
    from earshot.metrics import mel_distance, pesq, snr, stoi
    from earshot.report.plots import spectrograms

    jnd = jnd_metric()
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    rows, panels = {}, {label: [("input", clip[0])] for label, clip in clips if label.endswith("-0")}
    for label, shown in panels.items():
        save(audio_dir / f"{label}-input.wav", shown[0][1], 16000, overwrite=True)
    for name, model in models.items():
        per = {"snr": [], "pesq": [], "stoi": [], "mel_distance": [], "jnd": []}
        for label, clip in clips:
            with torch.no_grad():
                est = model(clip)
            per["snr"].append(float(snr(est, clip)[0]))
            per["stoi"].append(float(stoi(est, clip, 16000)[0]))
            per["mel_distance"].append(float(mel_distance(est, clip, 16000)[0]))
            if label.startswith("speech"):
                per["pesq"].append(float(pesq(est, clip, 16000)[0]))
            if jnd is not None:
                per["jnd"].append(float(jnd(est, clip, 16000)[0]))
            if label.endswith("-0"):
                save(audio_dir / f"{label}-{name}.wav", est[0], 16000, overwrite=True)
                panels[label].append((name, est[0]))
        rows[name] = {k: (sum(v) / len(v) if v else None) for k, v in per.items()}
    for label, shown in panels.items():
        (out / f"spectrograms_{label}.png").write_bytes(spectrograms(shown, 16000))
    return rows


def markdown(results: dict) -> str:
    head = ["model", "SNR dB ^", "PESQ ^", "STOI ^", "mel dist. v", "JND dist. v", "train CPU s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
    for name, r in results["scores"].items():
        lines.append(f"| {LABELS[name]} | {fmt(r['snr'], '.2f')} | {fmt(r['pesq'], '.3f')} | "
                     f"{fmt(r['stoi'], '.3f')} | {fmt(r['mel_distance'], '.3f')} | {fmt(r['jnd'], '.4f')} | "
                     f"{results['train_cpu_seconds'][name]:.0f} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    if not (Path(args.corpus) / "manifest.json").is_file():
        raise ConfigError(f"corpus {args.corpus} not found; build it with `earshot corpus build`")
    args.out.mkdir(parents=True, exist_ok=True)
    from earshot.train.recipes.autoencoder import band_limited_files

    for split in ("train", "valid"):  # load (cached) before the clock starts: every model gets the same
        band_limited_files(args.corpus, ("speech", "music"), split, 16000, args.lowpass)
    models, cpu = {}, {}
    for name in args.models:
        print(f"training {LABELS[name]} ({MODELS[name]}), {args.steps} steps", file=sys.stderr)
        models[name], cpu[name] = train_model(name, args)
    results = {"steps": args.steps, "batch_size": args.batch_size, "seconds": args.seconds, "lr": args.lr,
               "codec": {"layers": args.codec_layers, "feature_weight": args.codec_feature_weight,
                         "spectral": args.spectral_emulator, "time": args.time_emulator},
               "lowpass_hz": args.lowpass, "seed": args.seed, "loss_weights": {m: MODELS[m] for m in args.models},
               "train_cpu_seconds": cpu, "test": {"files_per_kind": args.test_files, "seconds": args.test_seconds}}
    results["scores"] = score(models, test_clips(args), args.out)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.out / "results.md").write_text(table)
    print(table)
    print(f"wrote {args.out}/results.md, results.json and audio/", file=sys.stderr)
    return 0
