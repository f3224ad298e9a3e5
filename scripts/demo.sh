#!/usr/bin/env bash
# Set-up, then the demo on the bundled sample media.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/safecity demo "$@"
