#!/usr/bin/env bash
# Sets up a development environment on a fresh Debian/Ubuntu machine, idempotently:
# system packages (compiler, CMake, Eigen, Boost, doctest) when run as root, and a Python
# virtual environment in .venv with cxlens built and installed in it.
# Usage: source-free; `bash scripts/bootstrap.sh [extra pip requirement ...]`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v g++ >/dev/null || need+=(g++)
[ -f /usr/include/eigen3/Eigen/Core ] || need+=(libeigen3-dev)
[ -f /usr/include/boost/graph/adjacency_list.hpp ] || need+=(libboost-dev)
[ -f /usr/include/doctest/doctest.h ] || need+=(doctest-dev)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "bootstrap: please install these Debian packages (as root): ${need[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# CMake and Ninja from PyPI: the same versions everywhere, no matter what the OS ships.
python -m pip install -q "cmake>=3.24" ninja "scikit-build-core>=0.10" "pybind11>=2.12" "$@"
# Build and install cxlens itself (incremental: scikit-build-core keeps build/<wheel tag>).
python -m pip install -q --no-build-isolation ".[test]"
