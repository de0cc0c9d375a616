#!/usr/bin/env bash
# Sets up everything (see bootstrap.sh) and runs the main job on bundled sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
python examples/python/quickstart.py "$@"
