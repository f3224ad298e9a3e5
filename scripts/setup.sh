#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtualenv in .venv with SafeCity and its pinned dependencies,
# then the pinned model weights pulled into the model cache.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${SAFECITY_PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
[ -n "$python_bin" ] || { echo "setup: no python3 found (3.11 or 3.12 needed)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
stamp=.venv/.safecity-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing SafeCity and pinned dependencies (first time: a few minutes)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  touch "$stamp"
fi
.venv/bin/safecity models pull
