"""`earshot eval emulator`: how well the shipped codec emulators reproduce the real codec.

    earshot eval emulator [--models emulator-spectral emulator-time] [--split test] [--out DIR]

Every held-out (``test`` split) speech and music file of the corpus goes whole through the real
codec the emulator was trained for (MP3 16 kbps CBR by default) and through each emulator.
Per kind: codec effect explained ``E = 1 - D(emu(x), codec(x)) / D(x, codec(x))``, ``D`` the
log-mel L1 distance (80 Slaney mel bands, Hann STFT 1024/512, dB re full scale, floor -100 dB;
distances averaged over the kind's files before the ratio), and the log-spectral distance (dB)
of emu(x) and of x to codec(x). A reference row scores the real codec itself on the input at
0.99 gain (-0.09 dB): how well the codec predicts its own output after an inaudible change. Writes ``emulator_eval.md``, ``emulator_eval.json`` and
``emulator_spectra.png`` (x, codec(x), emu(x)) under ``--out``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from earshot.errors import ConfigError
from earshot.data.corpus import DEFAULT_CORPUS

CORPUS = DEFAULT_CORPUS
KINDS = ("speech", "music")


def register(subparsers) -> None:
    p = subparsers.add_parser("emulator", help="codec emulators' accuracy: codec effect explained, LSD")
    p.add_argument("--models", nargs="+", default=["emulator-spectral", "emulator-time"],
                   help="shipped emulator weights to evaluate")
    p.add_argument("--corpus", default=CORPUS, help=f"corpus root (default {CORPUS})")
    p.add_argument("--split", default="test", help="corpus split (default test)")
    p.add_argument("--codec", choices=("mp3", "opus"), default="mp3")
    p.add_argument("--kbps", type=float, default=16.0)
    p.add_argument("--max-files", type=int, default=0, help="files per kind (0 = all)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the reference row: the real codec on the input at -0.09 dB")
    p.add_argument("--out", type=Path, default=Path("runs/eval-emulator"), help="output folder")
    p.set_defaults(func=cmd_eval_emulator)


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


def markdown(results: dict, codec: str, kbps: float) -> str:
    lines = [f"Codec: real {codec.upper()} {kbps:g} kbps, 16 kHz mono; held-out corpus files.", "",
             "| emulator | kind | files | E (codec effect explained) | log-mel L1 emu / input (dB) "
             "| LSD emu (dB) | LSD input (dB) |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, kinds in results.items():
        for kind, r in kinds.items():
            lines.append(f"| {name} | {kind} | {r['files']} | {r['E']:.3f} | {r['mel_emulated']:.2f} / "
                         f"{r['mel_input']:.2f} | {r['lsd_emulated']:.2f} | {r['lsd_input']:.2f} |")
    return "\n".join(lines) + "\n"


def cmd_eval_emulator(args) -> int:
    from earshot.train.recipes.emulator import roundtrip
    from earshot.weights import load_pretrained

    torch.set_num_threads(max(1, torch.get_num_threads()))
    models = {Path(name).stem if name.endswith(".json") else name: load_pretrained(name) for name in args.models}
    rates = {net.sample_rate for net in models.values()}
    if len(rates) != 1:
        raise ConfigError(f"the models have different sample rates {sorted(rates)}; evaluate them separately")
    rate = rates.pop()
    files = load_files(args.corpus, args.split, rate, args.max_files)
    coded = {k: [roundtrip(c[0], rate, args.codec, args.kbps)[None] for _, c in v] for k, v in files.items()}
    scored = dict(models)
    if not args.no_reference:
        scored[f"reference: real {args.codec} on 0.99 x"] = CodecAgain(args.codec, args.kbps, rate)
    results = evaluate(scored, files, coded)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "emulator_eval.json").write_text(json.dumps(
        {"codec": args.codec, "kbps": args.kbps, "split": args.split, "results": results}, indent=2))
    table = markdown(results, args.codec, args.kbps)
    (args.out / "emulator_eval.md").write_text(table)
    first = {k: v[0][1] for k, v in files.items()}
    spectra_figure(models, first, {k: coded[k][0] for k in KINDS}, args.out / "emulator_spectra.png")
    print(table)
    print(f"wrote {args.out}/emulator_eval.md, .json and emulator_spectra.png")
    return 0
