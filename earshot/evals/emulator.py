"""How well the shipped codec emulators reproduce the real codec.

    run(EmulatorEval(models=["emulator-spectral"])) -> Section    # `earshot eval emulator`

Every held-out (``test`` split) speech and music file of the corpus goes whole through the real
codec the emulator was trained for (MP3 16 kbps CBR by default) and through each emulator.
Per kind: codec effect explained ``E = 1 - D(emu(x), codec(x)) / D(x, codec(x))``, ``D`` the
log-mel L1 distance (80 Slaney mel bands, Hann STFT 1024/512, dB re full scale, floor -100 dB;
distances averaged over the kind's files before the ratio), and the log-spectral distance (dB)
of emu(x) and of x to codec(x). A reference row scores the real codec itself on the input at
0.99 gain (-0.09 dB): how well the codec predicts its own output after an inaudible change.
Writes ``emulator_spectra.png`` (x, codec(x), emu(x)) under ``out``; the command writes the
table beside it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError

CORPUS = DEFAULT_CORPUS
KINDS = ("speech", "music")


@dataclass
class EmulatorEval:
    """Settings of the emulator evaluation."""

    models: list[str] = field(default_factory=lambda: ["emulator-spectral", "emulator-time"])  # shipped emulator weights to evaluate
    corpus: str = CORPUS              # corpus root
    split: str = "test"               # corpus split
    codec: str = "mp3"                # mp3 | opus
    kbps: float = 16.0
    max_files: int = 0                # files per kind (0 = all)
    reference: bool = True            # score the reference row: the real codec on the input at -0.09 dB
    out: str = "runs/eval-emulator"   # output folder

    def __post_init__(self):
        if self.codec not in ("mp3", "opus"):
            raise ConfigError(f"codec {self.codec!r}: use mp3 or opus")


def load_files(root, split: str, sample_rate: int, max_files: int) -> dict[str, list]:
    """``{kind: [(name, (1, 1, T) tensor), ...]}`` for the split's speech and music files."""
    from earshot.audio.io import load
    from earshot.data.corpus import load_manifest

    files = {}
    for kind in KINDS:
        items = load_manifest(root, kind=kind, split=split)
        items = items[:max_files] if max_files else items
        if not items:
            raise ConfigError(f"{root}: no {kind} files in split {split!r}")
        files[kind] = [(Path(i.path).name, load(i.path, sample_rate=sample_rate, mono=True)[0][None]) for i in items]
    return files


def evaluate(models: dict, files: dict, coded: dict) -> dict:
    """``{model: {kind: {E, mel_emulated, mel_input, lsd_emulated, lsd_input, files}}}``."""
    from earshot.models.emulator import emulator_accuracy

    out = {}
    for name, net in models.items():
        out[name] = {}
        for kind, clips in files.items():
            rows = [emulator_accuracy(net, clip, coded[kind][i]) for i, (_, clip) in
                    enumerate(tqdm(clips, desc=f"{name} {kind}", file=sys.stderr, leave=False))]
            mean = {f: float(torch.cat([getattr(r, f) for r in rows]).mean())
                    for f in ("mel_emulated", "mel_input", "lsd_emulated", "lsd_input")}
            mean["E"] = 1 - mean["mel_emulated"] / mean["mel_input"]
            mean["files"] = len(rows)
            out[name][kind] = mean
    return out


class CodecAgain(torch.nn.Module):
    """Reference "emulator": the real codec itself on the input scaled by ``gain`` (then unscaled).

    How well the codec predicts its own output after an inaudible change of level bounds what
    a deterministic emulator can explain in this measure.
    """

    def __init__(self, codec: str, kbps: float, sample_rate: int, gain: float = 0.99):
        super().__init__()
        self.codec, self.kbps, self.sample_rate, self.gain = codec, kbps, sample_rate, gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from earshot.train.recipes.emulator import roundtrip

        return roundtrip(x[0] * self.gain, self.sample_rate, self.codec, self.kbps)[None] / self.gain


def spectra_figure(models: dict, clip: dict, coded: dict, path: Path, seconds: float = 3.0) -> None:
    """Rows speech/music; columns x, codec(x), each emulator's output (dB spectrograms), then
    their long-term average spectra."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from earshot.models.emulator import REFERENCE_LEVEL, emulated_magnitude, reference_magnitude

    cols = 3 + len(models)
    fig, axes = plt.subplots(len(clip), cols, figsize=(3.0 * cols, 2.6 * len(clip)), squeeze=False,
                             constrained_layout=True)
    for row, (kind, x) in enumerate(clip.items()):
        n = int(seconds * 16000)
        x, y = x[..., :n], coded[kind][..., :n]
        with torch.no_grad():
            mags = {"x": reference_magnitude(x), "codec(x)": reference_magnitude(y)}
            mags.update({f"emu: {m}": emulated_magnitude(net, x) for m, net in models.items()})
        for col, (title, mag) in enumerate(mags.items()):
            db = (20 * torch.log10(mag[0, 0] / REFERENCE_LEVEL + 1e-5)).numpy()
            ax = axes[row, col]
            ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=-100, vmax=0,
                      extent=(0, db.shape[1] * 512 / 16000, 0, 8))
            ax.set_title(f"{kind}: {title}", fontsize=8)
            ax.set_xlabel("s", fontsize=7)
            ax.set_ylabel("kHz", fontsize=7)
            ax.tick_params(labelsize=6)
            ltas = 10 * torch.log10(mag[0, 0].square().mean(-1) / REFERENCE_LEVEL**2 + 1e-10)
            axes[row, -1].plot(torch.linspace(0, 8, ltas.shape[0]), ltas, label=title, linewidth=0.9)
        axes[row, -1].set_title(f"{kind}: average spectrum", fontsize=8)
        axes[row, -1].set_xlabel("kHz", fontsize=7)
        axes[row, -1].set_ylabel("dB", fontsize=7)
        axes[row, -1].legend(fontsize=6)
        axes[row, -1].tick_params(labelsize=6)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict, codec: str, kbps: float):
    """The results as an `earshot.report.Table` (one row per emulator and kind)."""
    from earshot.report import Table

    rows = [[name, kind, r["files"], r["E"], f"{r['mel_emulated']:.2f} / {r['mel_input']:.2f}", r["lsd_emulated"],
             r["lsd_input"]] for name, kinds in results.items() for kind, r in kinds.items()]
    return Table(f"Emulators against real {codec.upper()} {kbps:g} kbps",
                 ["emulator", "kind", "files", "E (codec effect explained)", "log-mel L1 emu / input (dB)",
                  "LSD emu (dB)", "LSD input (dB)"], rows,
                 f"Codec: real {codec.upper()} {kbps:g} kbps, 16 kHz mono; held-out corpus files.")


def run(cfg: EmulatorEval | None = None):
    """Score every emulator (and the reference row) on the held-out files; return the report `Section`."""
    from earshot.report import Figure, Section
    from earshot.train.recipes.emulator import roundtrip
    from earshot.weights import load_pretrained

    cfg = cfg or EmulatorEval()
    models = {Path(name).stem if name.endswith(".json") else name: load_pretrained(name) for name in cfg.models}
    rates = {net.sample_rate for net in models.values()}
    if len(rates) != 1:
        raise ConfigError(f"the models have different sample rates {sorted(rates)}; evaluate them separately")
    rate = rates.pop()
    files = load_files(cfg.corpus, cfg.split, rate, cfg.max_files)
    coded = {k: [roundtrip(c[0], rate, cfg.codec, cfg.kbps)[None] for _, c in v] for k, v in files.items()}
    scored = dict(models)
    if cfg.reference:
        scored[f"reference: real {cfg.codec} on 0.99 x"] = CodecAgain(cfg.codec, cfg.kbps, rate)
    results = evaluate(scored, files, coded)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    first = {k: v[0][1] for k, v in files.items()}
    spectra_figure(models, first, {k: coded[k][0] for k in KINDS}, out / "emulator_spectra.png")
    return Section("emulator", "Codec emulators against the real codec", tables=[table(results, cfg.codec, cfg.kbps)],
                   figures=[Figure("emulator spectra", (out / "emulator_spectra.png").read_bytes())],
                   results={"codec": cfg.codec, "kbps": cfg.kbps, "split": cfg.split, "results": results})


__all__ = ["CodecAgain", "EmulatorEval", "evaluate", "load_files", "run", "spectra_figure", "table"]
