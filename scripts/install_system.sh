#!/usr/bin/env bash
# Install the Debian packages earshot needs, where we can (root); otherwise say what is missing.
set -euo pipefail
if ! command -v dpkg >/dev/null 2>&1; then
  echo "earshot: not a Debian system; please install the equivalents of: $*" >&2
  exit 0
fi
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "earshot: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "earshot: missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
