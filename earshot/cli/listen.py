"""`earshot listen ...`: run, prepare, inspect and export web listening tests.

    earshot listen serve EXPERIMENT.yaml [...] [--db URL|FILE] [--host 127.0.0.1 --port 8000]
    earshot listen prepare EXPERIMENT.yaml            JND level ladders / MUSHRA anchors
    earshot listen status DB                          participants and answers per experiment
    earshot listen export DB --experiment X --format jnd|csv [--out FILE]
    earshot listen loadtest EXPERIMENT.yaml [--db URL] [--participants 50 --answers 2000]
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from earshot.cli.common import EarshotParser, add_overwrite_option, examples
from earshot.errors import ConfigError, EarshotError

DEFAULT_DB = "listening.db"


def register(subparsers) -> None:
    parser = subparsers.add_parser("listen", help="web listening tests (JND, A/B, MUSHRA)")
    sub = parser.add_subparsers(dest="listen_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: parser.print_help() or 0)

    p = sub.add_parser("serve", help="serve experiments in the browser",
                       epilog=examples("earshot listen serve configs/listening/mushra-codecs.yaml --db results.db",
                                       "earshot listen serve a.yaml b.yaml --db postgresql://user@host/db --port 8080"))
    p.add_argument("experiments", nargs="+", type=Path, metavar="EXPERIMENT.yaml",
                   help="experiment files, or shipped examples by name (ab-speech, jnd-speech, mushra-codecs)")
    p.add_argument("--db", default=DEFAULT_DB, help=f"SQLite file or database URL (default {DEFAULT_DB})")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--admin-token", default=os.environ.get("EARSHOT_ADMIN_TOKEN"),
                   help="admin token (default: $EARSHOT_ADMIN_TOKEN or a fresh random one)")
    p.add_argument("--public-url", help="base URL participants use, for the printed links")
    p.add_argument("--max-body-bytes", type=int, default=16384, help="largest request body accepted")
    p.set_defaults(func=serve)

    p = sub.add_parser("prepare", help="make an experiment's stimuli: JND level ladders, MUSHRA/A-B items, MUSHRA anchors")
    p.add_argument("experiment", type=Path, metavar="EXPERIMENT.yaml",
                   help="experiment file, or a shipped example by name (ab-speech, jnd-speech, mushra-codecs)")
    add_overwrite_option(p)
    p.set_defaults(func=prepare)

    p = sub.add_parser("status", help="participants and answers per experiment in a database")
    p.add_argument("db", metavar="DB", help="SQLite file or database URL")
    p.set_defaults(func=status)

    p = sub.add_parser("export", help="export judgments (jnd) or answers with summaries (csv)")
    p.add_argument("db", metavar="DB", help="SQLite file or database URL")
    p.add_argument("--experiment", required=True, help="experiment name")
    p.add_argument("--format", choices=("jnd", "csv"), required=True,
                   help="jnd: judgment list for training (JSONL); csv: answers plus a summary CSV")
    p.add_argument("--out", type=Path, help="output file (default EXPERIMENT.jsonl / EXPERIMENT.csv)")
    p.add_argument("--per-judgment", action="store_true", help="jnd: one line per answer, not per pair")
    p.add_argument("--include-flagged", action="store_true",
                   help="jnd: keep participants and sequences that failed catch trials")
    add_overwrite_option(p)
    p.set_defaults(func=export_cmd)

    p = sub.add_parser("loadtest", help="simulate concurrent participants against a fresh server")
    p.add_argument("experiment", type=Path, nargs="?", metavar="EXPERIMENT.yaml",
                   help="experiment to load (default: a synthetic A/B test)")
    p.add_argument("--db", default=None, help="database URL or SQLite file (default: a temporary SQLite file)")
    p.add_argument("--participants", type=int, default=50, help="simulated participants")
    p.add_argument("--answers", type=int, default=2000, help="answers in all")
    p.set_defaults(func=loadtest)


def experiment_file(path: Path) -> Path:
    """An experiment file by path, or a shipped example by name (``mushra-codecs``)."""
    from earshot.train.config import default_configs_dir, find_config

    return find_config(path, default_configs_dir() / "listening")


def serve(args) -> int:
    import uvicorn

    from earshot.listening.app import create_app
    from earshot.listening.experiment import load_experiment
    from earshot.listening.service import ListeningService
    from earshot.listening.store import Store

    experiments = {}
    for path in args.experiments:
        exp = load_experiment(experiment_file(path))
        if exp.name in experiments:
            raise ConfigError(f"two experiments are named {exp.name!r}")
        experiments[exp.name] = exp
    token = args.admin_token or secrets.token_urlsafe(24)
    if len(token) < 16:
        raise ConfigError("--admin-token must be at least 16 characters")
    store = Store(args.db)
    service = ListeningService(store, experiments)
    app = create_app(service, admin_token=token, max_body_bytes=args.max_body_bytes)
    base = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    print(f"earshot listening test: {len(experiments)} experiment(s), database {store.safe_url}")
    for name, exp in experiments.items():
        print(f"participant link ({exp.type}): {base}/e/{name}")
    print(f"admin: {base}/admin?token={token}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=3)
    return 0


def prepare(args) -> int:
    from earshot.listening.prepare import prepare_experiment

    written = prepare_experiment(experiment_file(args.experiment), overwrite=args.overwrite)
    print(f"{len(written)} files written")
    return 0


def status(args) -> int:
    from earshot.listening.store import Store

    store = Store(args.db, create=False)
    for row in store.experiments():
        c = store.counts(row.name)
        people = ", ".join(f"{n} {s}" for s, n in sorted(c["participants"].items())) or "no participants"
        print(f"{row.name} ({row.type}): {people}; {c['flagged']} flagged; {c['answers']} answers")
    return 0


def export_cmd(args) -> int:
    from earshot.listening import export
    from earshot.listening.store import Store
    from earshot.psycho.judgments import write_judgments

    store = Store(args.db, create=False)
    kind, records = export.load_records(store, args.experiment)
    out = args.out or Path(f"{args.experiment}.{'jsonl' if args.format == 'jnd' else 'csv'}")
    if out.exists() and not args.overwrite:
        raise ConfigError(f"{out} exists; pass --overwrite to replace it")
    if args.format == "jnd":
        if kind != "jnd":
            raise ConfigError(f"experiment {args.experiment!r} is a {kind} test; --format jnd needs a JND test")
        lines = export.jnd_lines(records, experiment=args.experiment, per_judgment=args.per_judgment,
                                 include_flagged=args.include_flagged)
        write_judgments(out, lines)
        n_diff = sum(line["params"]["n_different"] for line in lines)
        n = sum(line["params"]["n_judgments"] for line in lines)
        print(f"{out}: {len(lines)} pairs from {n} answers ({n_diff} different, {n - n_diff} identical); "
              f"{len(records) - n} answers left out (flagged participants or failed catch trials)")
        return 0
    summary_path = export.write_csv(kind, records, out)
    print(f"{out}: {len(records)} answers; summary in {summary_path}")
    cols, rows = export.summary_table(kind, records)
    print("  ".join(cols))
    for row in rows:
        print("  ".join(str(row[c]) for c in cols))
    return 0


def loadtest(args) -> int:
    import tempfile

    from earshot.listening.testing import make_load_experiment, run_load_test

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "load.db")
        per_participant = -(-args.answers // args.participants)
        experiment = experiment_file(args.experiment) if args.experiment else make_load_experiment(tmp, answers_per_participant=per_participant)
        result = run_load_test(experiment, db, participants=args.participants, answers=args.answers)
    print(result.describe())
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m earshot.cli.listen ...`` = ``earshot listen ...`` without importing the other
    command groups (so a server starts without loading torch)."""
    parser = EarshotParser(prog="earshot")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["listen", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except EarshotError as exc:
        print(f"earshot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
