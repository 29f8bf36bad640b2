"""Run every benchmark in this folder (each module exposes ``main(argv=None)``).

    python benchmarks/run_all.py [--quick] [name ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    return {p.stem: p for p in sorted(HERE.glob("*.py")) if p.stem not in ("run_all",) and not p.stem.startswith("_")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args(argv)
    found = discover()
    names = args.names or list(found)
    failed = []
    sys.path.insert(0, str(HERE))
    for name in names:
        if name not in found:
            print(f"unknown benchmark {name!r}; have {', '.join(found)}", file=sys.stderr)
            return 2
        spec = importlib.util.spec_from_file_location(f"bench_{name}", found[name])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        try:
            module.main(["--quick"] if args.quick else [])
        except Exception as exc:  # a benchmark that breaks must not hide the others
            failed.append(name)
            print(f"benchmark {name} failed: {exc!r}", file=sys.stderr)
        print(f"({name}: {time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
