#!/usr/bin/env bash
# The README's main job: sets up everything (see bootstrap.sh), writes a simulated world as
# source-system tables (build/sample, 20,000 customers, seed 7: CSV files + cxlens.toml) and
# runs `cxlens report` on it. Usage: bash scripts/demo.sh [--out DIR] (default
# build/demo-report, or $OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-build/demo-report}"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done
bash scripts/bootstrap.sh
. .venv/bin/activate
cxlens simulate --customers 20000 --seed 7 --out build/sample
cxlens report build/sample --out "$out"
test -f "$out/index.html" || { echo "cxlens report wrote no $out/index.html" >&2; exit 1; }
echo "The report is in $out/index.html (open it in a browser); its tables are in $out/tables/"
