#!/usr/bin/env bash
# Set-up, then lint, type check and the whole test suite (real models, local Ray, real HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-test-services.sh   # GStreamer RTSP server for the RTSP camera tests (Debian packages)
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
