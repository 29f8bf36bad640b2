"""Retrain every shipped model from its config at one budget; export and pack the weights.

    python scripts/train_shipped.py gpu|cpu|smoke OUTDIR [--tar FILE] [--jobs N] [--only NAME ...]

(``scripts/train_shipped.sh`` runs this with the project's Python.) The plan is
``configs/shipped/plan.yaml``: per model its recipe, the config layers of each budget and a
wall-clock limit. Each model trains in its own process (``earshot train``) under ``timeout``, so
one failure or hang does not stop the rest; where the engine has ``train.max_minutes`` it is set
a little under the limit, so the run stops itself cleanly (validation, checkpoint), and a
SIGTERM from ``timeout`` also leaves a checkpoint. Each finished run is exported (float16 where
the plan says so) to ``OUTDIR/weights/NAME.{safetensors,json}``; the manifest's config gains a
``shipped`` entry (budget, plan, corpus, wall time, steps) and its notes say the same. At the end
a table is printed, ``OUTDIR/summary.json`` written and ``weights/``, ``logs/`` and the summary
are packed into one tar file (default ``OUTDIR.tar``). The exit status is 0 when every model
exported, 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "configs" / "shipped" / "plan.yaml"
BUDGETS = ("gpu", "cpu", "smoke")
RUNNING: list[subprocess.Popen] = []   # training processes, told to stop on SIGTERM


def load_plan(budget: str, only: list[str] | None = None, plan: dict | None = None) -> dict[str, dict]:
    """The plan's models for ``budget``: name -> {recipe, configs (paths), minutes, float16}.
    ``plan``: the parsed plan file (default: read `PLAN`)."""
    plan = plan or yaml.safe_load(PLAN.read_text())
    out = {}
    for name, entry in plan["models"].items():
        if only and name not in only:
            continue
        layers = entry["layers"].get(budget)
        if layers is None:
            continue
        out[name] = {"recipe": entry["recipe"], "configs": [str(PLAN.parent / p) for p in layers],
                     "minutes": float(entry["minutes"][budget]), "float16": bool(entry.get("float16", False)),
                     "overrides": list(entry.get("overrides", {}).get(budget, []))}
    if only and set(only) - set(out):
        raise SystemExit(f"unknown model(s) for budget {budget}: {sorted(set(only) - set(out))}")
    return out


def engine_has(field_name: str) -> bool:
    from earshot.train.config import TrainConfig

    return field_name in {f.name for f in dataclasses.fields(TrainConfig)}


def train_command(name: str, entry: dict, run_dir: Path) -> list[str]:
    cmd = [sys.executable, "-m", "earshot.cli.main", "train", entry["recipe"], "--run-dir", str(run_dir)]
    for cfg in entry["configs"]:
        cmd += ["--config", cfg]
    cmd += ["train.progress=false", "train.tensorboard=false", *entry["overrides"]]
    if engine_has("max_minutes"):  # stop cleanly before the hard timeout
        cmd.append(f"train.max_minutes={max(0.05, entry['minutes'] * 0.85 - 0.25):.3f}")
    return cmd


def make_pairs(out: Path, spec: dict, env: dict) -> list[str]:
    """Simulated-listener JND pairs from the corpus speech (real recordings included), made once
    for every JND model, in ``spec["procs"]`` processes: ``recipe.pairs`` / ``valid_pairs`` overrides."""
    root, corpus = out / "jnd-pairs", os.environ.get("EARSHOT_CORPUS", "corpus")
    walks, procs = int(spec["walks"]), max(1, int(spec["procs"]))
    jobs = [(root / f"train-{k}", "train", -(-walks // procs), k) for k in range(procs)]
    jobs.append((root / "valid", "valid", max(4, walks // 10), 1000))
    code = ("import sys; from earshot.data.jnd import make_jnd_pairs; "
            "make_jnd_pairs(sys.argv[1], source=sys.argv[2], split=sys.argv[3], n_walks=int(sys.argv[4]), "
            "n_trials=int(sys.argv[5]), seconds=1.0, sample_rate=16000, seed=int(sys.argv[6]), progress=False)")
    start = time.time()
    print(f"[{time.strftime('%H:%M:%S')}] jnd pairs: {walks} walks in {procs} processes", flush=True)
    running = []
    for folder, split, n, seed in jobs:
        if not (folder / "manifest.json").exists():
            cmd = [sys.executable, "-c", code, str(folder), corpus, split, str(n), str(spec["trials"]), str(seed)]
            with open(out / "logs" / f"pairs-{folder.name}.log", "w") as log:   # the child keeps its own handle
                running.append(subprocess.Popen(cmd, env={**env, "OMP_NUM_THREADS": "1"}, cwd=ROOT,
                                                stdout=subprocess.DEVNULL, stderr=log))
    if any(p.wait() != 0 for p in running):
        raise RuntimeError(f"JND pair generation failed; see {out / 'logs'}/pairs-*.log")
    print(f"[{time.strftime('%H:%M:%S')}] jnd pairs: done in {time.time() - start:.0f} s", flush=True)
    train = ",".join(str(f) for f, split, _, _ in jobs if split == "train")
    return [f"recipe.pairs={train}", f"recipe.valid_pairs={root / 'valid'}"]


def train_one(name: str, entry: dict, out: Path, env: dict) -> dict:
    """Train one model under a hard time limit; return its row for the table."""
    run_dir, log_path = out / "runs" / name, out / "logs" / f"{name}.log"
    limit = max(10, int(entry["minutes"] * 60))
    cmd = ["timeout", "--signal=TERM", "--kill-after=30", str(limit), *train_command(name, entry, run_dir)]
    start = time.time()
    print(f"[{time.strftime('%H:%M:%S')}] {name}: training ({entry['recipe']}, limit {limit} s)", flush=True)
    with open(log_path, "w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        RUNNING.append(proc)
        rc = proc.wait()
    row = {"name": name, "recipe": entry["recipe"], "train_rc": rc, "train_s": round(time.time() - start, 1)}
    print(f"[{time.strftime('%H:%M:%S')}] {name}: training ended rc={rc} after {row['train_s']} s", flush=True)
    return row


def export_one(name: str, entry: dict, row: dict, out: Path, budget: str) -> dict:
    """Export the newest checkpoint of a run into OUTDIR/weights (float16 if planned)."""
    from earshot.train.export import export_run
    from earshot.weights.hub import load_pretrained, pretrained_info, save_pretrained

    run_dir, staging = out / "runs" / name, out / "staging"
    export_run(run_dir, name, out_dir=staging, overwrite=True)
    info = pretrained_info(name, staging)
    module = load_pretrained(name, root=staging)
    if entry["float16"]:
        module = module.half()
    step = _run_step(run_dir)
    shipped = {"budget": budget, "plan": str(PLAN.relative_to(ROOT)), "configs": [str(Path(c).relative_to(ROOT)) for c in entry["configs"]],
               "corpus": os.environ.get("EARSHOT_CORPUS", "corpus"), "corpus_summary": _corpus_summary(),
               "steps": step, "train_seconds": row["train_s"], "float16": entry["float16"]}
    config = dict(info.get("config") or {}, shipped=shipped)
    notes = (f"{info.get('notes', '')} [shipped by scripts/train_shipped.sh {budget}: {step} steps in "
             f"{row['train_s']:.0f} s; configs {', '.join(shipped['configs'])}"
             f"{'; weights stored as float16' if entry['float16'] else ''}]").strip()
    data = f"{info.get('data', '')} [corpus: {shipped['corpus_summary']}]"
    path = save_pretrained(module, name, kwargs=info["kwargs"], sample_rate=info["sample_rate"], data=data,
                           out_dir=out / "weights", recipe=info.get("recipe"), config=config,
                           metrics=info.get("metrics"), notes=notes, overwrite=True)
    manifest = json.loads(path.read_text())
    return {**row, "steps": step, "bytes": manifest["bytes"], "metrics": manifest["metrics"]}


def _run_step(run_dir: Path) -> int:
    from earshot.train import checkpoint as ckpt

    found = ckpt.latest_checkpoint(run_dir)
    return int(found[1]["step"]) if found else 0


def _corpus_summary() -> str:
    """Kinds and sources of the corpus manifest (e.g. 'speech: espeak-ng 120, real 40; ...')."""
    path = Path(os.environ.get("EARSHOT_CORPUS", "corpus")) / "manifest.json"
    try:
        items = json.loads(path.read_text())["items"]
    except (OSError, ValueError, KeyError):
        return f"{path.parent} (manifest unreadable)"
    counts: dict[str, dict[str, int]] = {}
    for item in items:
        origin = str(item.get("origin") or item.get("source") or "synthetic")
        kind = counts.setdefault(str(item.get("kind")), {})
        kind[origin] = kind.get(origin, 0) + 1
    return f"{path.parent}: " + "; ".join(f"{k}: " + ", ".join(f"{o} {n}" for o, n in v.items())
                                          for k, v in sorted(counts.items()))


def run_model(name: str, entry: dict, out: Path, budget: str, env: dict, pairs=None) -> dict:
    try:
        if entry["recipe"] == "jnd" and pairs is not None:
            entry = {**entry, "overrides": entry["overrides"] + pairs.result()}
        row = train_one(name, entry, out, env)
    except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
        print(f"[{time.strftime('%H:%M:%S')}] {name}: failed before training: {exc}", flush=True)
        return {"name": name, "recipe": entry["recipe"], "status": f"train failed: {exc}"}
    try:
        row = export_one(name, entry, row, out, budget)
        status = "ok" if row["train_rc"] == 0 else f"ok (stopped by the time limit, rc {row['train_rc']})"
    except Exception as exc:  # noqa: BLE001 - no checkpoint, broken run: report and go on
        status = f"export failed: {type(exc).__name__}: {exc}"
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {status}", flush=True)
    return {**row, "status": status}


def preflight(plan: dict) -> list[str]:
    """Print the platform and check that every recipe and the packages the runs need import."""
    import importlib

    import torch

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, {cuda}, {os.cpu_count()} CPUs, "
          f"corpus {os.environ.get('EARSHOT_CORPUS', 'corpus')}", flush=True)
    modules = ["lightning_fabric", "safetensors", "soundfile", "soxr", "lameenc", "yaml", "tqdm", "scipy",
               "earshot.audio.codecs", "earshot.data.jnd", "earshot.data.separation", "earshot.data.datasets",
               "earshot.metrics", "earshot.train.export"]
    modules += sorted({f"earshot.train.recipes.{e['recipe'].replace('-', '_')}" for e in plan.values()})
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - report every missing piece at once
            missing.append(f"{module} ({type(exc).__name__}: {exc})")
    if missing:
        print("MISSING: " + "; ".join(missing), flush=True)
    return missing


def table(rows: list[dict]) -> str:
    lines = [f"{'model':26s} {'recipe':10s} {'steps':>6s} {'train s':>8s} {'bytes':>9s}  status / metrics"]
    for r in rows:
        metrics = ", ".join(f"{k}={v:.3g}" for k, v in list((r.get("metrics") or {}).items())[:4])
        lines.append(f"{r['name']:26s} {r['recipe']:10s} {r.get('steps', '-')!s:>6s} {r.get('train_s', '-')!s:>8s} "
                     f"{r.get('bytes', '-')!s:>9s}  {r['status']}{'  ' + metrics if metrics else ''}")
    return "\n".join(lines)


def pack(out: Path, tar_path: Path) -> None:
    tar_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "w") as tar:
        for part in ("weights", "logs", "summary.json"):
            if (out / part).exists():
                tar.add(out / part, arcname=f"{out.name}/{part}")
    print(f"packed {tar_path} ({tar_path.stat().st_size / 2**20:.2f} MiB)", flush=True)


class _Stopped(Exception):
    """Raised in the main thread by SIGTERM."""


def _stop(signum, frame):
    raise _Stopped()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("budget", choices=BUDGETS)
    p.add_argument("outdir", type=Path)
    p.add_argument("--tar", type=Path, help="tar file to write (default OUTDIR.tar)")
    p.add_argument("--jobs", type=int, help="models trained at once (default: the plan's for the budget)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="train only these models")
    args = p.parse_args(argv)
    out = args.outdir.resolve()
    for sub in ("logs", "runs", "weights", "staging"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(PLAN.read_text())
    plan = load_plan(args.budget, args.only, raw)
    jobs = args.jobs or int(raw["jobs"][args.budget])
    threads = str(max(1, (os.cpu_count() or 2) // max(1, min(jobs, len(plan)))))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", threads)}
    start = time.time()
    print(f"train_shipped {args.budget}: {len(plan)} models, {jobs} at a time, into {out}", flush=True)
    preflight(plan)
    spec = raw.get("jnd_pairs", {}).get(args.budget)
    prep, pool = cf.ThreadPoolExecutor(max_workers=1), cf.ThreadPoolExecutor(max_workers=jobs)
    uses_pairs = spec and any(e["recipe"] == "jnd" for e in plan.values())
    pairs = prep.submit(make_pairs, out, spec, env) if uses_pairs else None
    futures = {n: pool.submit(run_model, n, e, out, args.budget, env, pairs) for n, e in plan.items()}
    signal.signal(signal.SIGTERM, _stop)
    try:
        rows = [f.result() for f in futures.values()]
    except _Stopped:  # a time limit around the whole script: report and pack what is done
        print("SIGTERM: packing the models finished so far", flush=True)
        rows = [f.result() if f.done() else {"name": n, "recipe": plan[n]["recipe"], "status": "stopped (SIGTERM)"}
                for n, f in futures.items()]
        for proc in RUNNING:
            if proc.poll() is None:
                proc.terminate()   # `timeout` passes it on: the engine checkpoints and stops
    pool.shutdown(wait=False, cancel_futures=True)
    prep.shutdown(wait=False, cancel_futures=True)
    summary = {"budget": args.budget, "seconds": round(time.time() - start, 1), "models": rows}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(table(rows), flush=True)
    print(f"total wall time {summary['seconds']} s", flush=True)
    pack(out, args.tar or out.with_suffix(".tar"))
    status = 0 if all(r["status"].startswith("ok") for r in rows) else 1
    if any(r["status"].startswith("stopped") for r in rows):
        os._exit(status)   # do not wait for the stopped models' threads
    return status


if __name__ == "__main__":
    sys.exit(main())
