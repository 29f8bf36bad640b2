"""`earshot demo`: run every earshot system end to end and write one HTML report."""

from __future__ import annotations

import time
from pathlib import Path


def register(subparsers) -> None:
    from earshot.cli.common import examples

    p = subparsers.add_parser(
        "demo", help="run every system end to end and write runs/demo/report.html",
        description="Build the corpus, run every stage (corpus, metrics, explain, autoencoder, jnd, codec, "
                    "separation, style) and write one HTML report with results.json beside it. A stage that fails shows its error in "
                    "the report; the others still run, and the exit status is then 1.",
        epilog=examples("earshot demo --quick                      # a few minutes on a CPU",
                        "earshot demo --stages codec separation    # only these (the corpus always runs)",
                        "earshot demo --data my-clips/ --out runs/my-demo"))
    p.add_argument("--data", type=Path, help="your own audio folder for the evaluation clips (default: the corpus)")
    p.add_argument("--corpus", type=Path, help="corpus folder to use or build (default: next to --out)")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="report folder")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smallest budgets (a few minutes)")
    size.add_argument("--full", action="store_true", help="the papers' budgets (hours on a CPU)")
    p.add_argument("--stages", nargs="+", metavar="STAGE",
                   help="subset of stages to run, space-separated (default: all; the corpus always runs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the corpus, the training runs and the evaluations")
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.demo.definitions import DEFINITIONS
    from earshot.demo.runner import DemoContext, run_demo
    from earshot.demo.stages import STAGES
    from earshot.errors import ConfigError

    stages = STAGES
    if args.stages:
        from earshot.cli.common import split_list

        wanted = split_list(args.stages)
        unknown = sorted(set(wanted) - {s[0] for s in STAGES})
        if unknown:
            raise ConfigError(f"unknown stages {unknown}; choose from {', '.join(s[0] for s in STAGES)}")
        stages = [s for s in STAGES if s[0] in wanted or s[0] == "corpus"]
    ctx = DemoContext(out=args.out, data=args.data, quick=args.quick, full=args.full, seed=args.seed,
                      corpus=args.corpus)
    start = time.perf_counter()
    path, sections = run_demo(ctx, stages, definitions=DEFINITIONS)
    minutes = (time.perf_counter() - start) / 60
    failed = [s.title for s in sections if not s.ok]
    for s in sections:
        print(f"  {'ok    ' if s.ok else 'FAILED'} {s.title} ({s.seconds:.0f} s)")
    print(f"report: {path.resolve()} ({minutes:.1f} min)")
    if failed:
        print(f"{len(failed)} stage(s) failed: {', '.join(failed)}")
    return 1 if failed else 0
