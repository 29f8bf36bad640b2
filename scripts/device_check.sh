#!/usr/bin/env bash
# One prepared check for a fresh GPU machine: torch preinstalled, this checkout copied in, no
# internet. It installs what is missing from wheels carried along, then runs the gpu tests, the
# CUDA benchmarks against auraloss, 200 bf16 steps of every recipe, and (with --train-shipped)
# the GPU budget of scripts/train_shipped.sh; it prints one table and writes under OUT:
#   summary.md      the table (stage, exit status, seconds) and the benchmark tables
#   results.json    every stage's status and the benchmarks' JSON
#   logs.tar.gz     each stage's full log
#   weights.tar     the retrained shipped models (with --train-shipped)
#
#   bash scripts/device_check.sh OUT [--train-shipped] [--dry-run]
#
# Wheels: on a machine with internet, fetch what the GPU machine lacks into .whl/ (docs/training.md,
# "GPU check", lists the command); they are installed with --no-deps into a private folder.
# --dry-run runs every stage on the CPU at a tiny size (CI does this: tests/test_device_check.py).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:?usage: device_check.sh OUT [--train-shipped] [--dry-run]}"; shift
TRAIN_SHIPPED=0; DRY=0
for arg in "$@"; do
  case "$arg" in
    --train-shipped) TRAIN_SHIPPED=1 ;;
    --dry-run) DRY=1 ;;
    *) echo "device_check: unknown option $arg" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT/logs"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
if [ -d .whl ] && [ "$DRY" = 0 ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/earshot-site .whl/*.whl \
    || echo "device_check: installing the carried wheels failed" >&2
  export PYTHONPATH="/tmp/earshot-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 EARSHOT_CORPUS="${EARSHOT_CORPUS:-$PWD/corpus}"
if [ "$DRY" = 1 ]; then
  DEVICE=cpu; STEPS=2; BENCH_ARGS="--device cpu --quick --cases mrstft"; TRAIN_ARGS="--size tiny --recipes toy"
else
  DEVICE=cuda; STEPS=200; BENCH_ARGS="--device cuda"; TRAIN_ARGS=""
fi

: > "$OUT/stages.tsv"
stage() {  # stage NAME SECONDS COMMAND...: run with a time limit, log, record status and time
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  echo "== $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/logs/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" "$*" >>"$OUT/stages.tsv"
  tail -n 3 "$OUT/logs/$name.log"
}

# The shipped models train first, in the background (time-budgeted: about 5 minutes), while the
# gpu tests run; the benchmarks wait for them, so that their timings have the GPU to themselves.
if [ "$TRAIN_SHIPPED" = 1 ]; then
  budget=gpu; [ "$DRY" = 1 ] && budget=smoke
  stage train_shipped 330 bash scripts/train_shipped.sh "$budget" /tmp/earshot-shipped --tar "$OUT/weights.tar" &
  shipped_pid=$!
fi
stage environment 60 "$PY" -c "import torch, sys; print(sys.version.split()[0], torch.__version__, \
torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'); import earshot; print('earshot', earshot.__version__)"
stage gpu_tests 240 "$PY" -m pytest tests/gpu -m "not slow" -q -p no:cacheprovider --timeout=200
[ -n "${shipped_pid:-}" ] && wait "$shipped_pid"
stage bench_losses 120 "$PY" benchmarks/losses.py $BENCH_ARGS --json "$OUT/logs/bench_losses.json"
stage bench_training 180 "$PY" benchmarks/training.py --device "$DEVICE" --steps "$STEPS" \
  --precision bf16-mixed $TRAIN_ARGS --json "$OUT/logs/bench_training.json"

"$PY" scripts/device_summary.py "$OUT"
status=$?
tar -czf "$OUT/logs.tar.gz" -C "$OUT" logs stages.tsv && rm -rf "$OUT/logs" "$OUT/stages.tsv"
exit $status
