#!/usr/bin/env bash
# Retrain every shipped model at one budget, export the weights and pack them into one tar file.
#   bash scripts/train_shipped.sh gpu|cpu|smoke OUTDIR [--tar FILE] [--jobs N] [--only NAME ...]
# The corpus is $EARSHOT_CORPUS (default ./corpus). The plan: configs/shipped/plan.yaml.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x "$here/.venv/bin/python" ]; then py="$here/.venv/bin/python"; else py="$(command -v python3)"; fi
fi
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" "$here/scripts/train_shipped.py" "$@"
