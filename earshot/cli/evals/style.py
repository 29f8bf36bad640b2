"""`earshot eval style`: style distances of transfers on corpus pairs, per feature network and method."""

from __future__ import annotations

import json
from pathlib import Path

from earshot.audio import save
from earshot.data.corpus import DEFAULT_CORPUS


def register(subparsers) -> None:
    p = subparsers.add_parser("style", help="evaluate style transfer on corpus speech and music pairs")
    p.add_argument("--corpus", type=Path, default=Path(DEFAULT_CORPUS), help="corpus folder (default $EARSHOT_CORPUS or ./corpus)")
    p.add_argument("--features", default="ae,random", help="comma-separated feature networks")
    p.add_argument("--methods", default="spectrogram,waveform", help="comma-separated methods")
    p.add_argument("--pairs", type=int, default=2, help="pairs per kind (speech, music)")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--out", type=Path, default=Path("runs/eval-style"))
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.report.plots import spectrograms
    from earshot.style.evaluate import as_dicts, evaluate, summary_rows

    args.out.mkdir(parents=True, exist_ok=True)

    def keep(tag, clips):
        for role, audio in clips.items():
            save(args.out / "audio" / f"{tag}-{role}.wav", audio, 16000, overwrite=True)
        (args.out / f"spectrograms_{tag}.png").write_bytes(spectrograms(list(clips.items()), 16000))

    scores = evaluate(args.corpus, features=args.features.split(","), methods=args.methods.split(","),
                      per_kind=args.pairs, seconds=args.seconds, steps=args.steps, on_output=keep)
    columns, rows = summary_rows(scores)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |" for row in rows]
    table = "\n".join(lines)
    (args.out / "results.md").write_text(table + "\n")
    (args.out / "results.json").write_text(json.dumps(as_dicts(scores), indent=2))
    print(table)
    print(f"wrote {args.out}/results.md, results.json and audio/")
    return 0
