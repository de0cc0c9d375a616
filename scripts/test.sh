#!/usr/bin/env bash
# Sets up everything (see bootstrap.sh) and runs every test: the C++ suite (warnings as errors),
# the CMake consumer tests (find_package after install, add_subdirectory), the C++ examples,
# and the Python suite. Pass --sanitize to also run the C++ suite under ASan and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
  esac
done

bash scripts/bootstrap.sh
. .venv/bin/activate
jobs=$(nproc 2>/dev/null || echo 2)

echo "== C++ tests"
cmake --preset dev -DPython_EXECUTABLE="$(command -v python)" >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev

echo "== CMake consumers"
rm -rf build/prefix build/consumer-*
cmake --install build/dev --prefix build/prefix >/dev/null
cmake -S tests/consumer/find_package -B build/consumer-find -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/prefix" >/dev/null
cmake --build build/consumer-find >/dev/null
./build/consumer-find/consumer
cmake -S tests/consumer/add_subdirectory -B build/consumer-sub -G Ninja >/dev/null
cmake --build build/consumer-sub >/dev/null
./build/consumer-sub/consumer

if [ "$sanitize" = 1 ]; then
  echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset sanitize
fi

echo "== Python tests"
python -m pytest -q
