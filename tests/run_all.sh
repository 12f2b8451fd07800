#!/usr/bin/env bash
# Builds and runs the whole test suite, the way CI does:
#   1. release (build/): every test, the benchmark smoke run and the installed-package consumer;
#   2. asan (build/asan): every test under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. tsan (build/tsan): the tests labelled "concurrency" under ThreadSanitizer;
#   4. thread-safety (build/thread-safety): the tree built with clang, -Wthread-safety -Werror, so
#      every FUTEXBOX_GUARDED_BY / REQUIRES annotation is checked (a build, no tests).
# Each step is a CMake workflow preset (CMakePresets.json); the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."

for preset in release-test asan tsan thread-safety; do
  echo "=== futexbox: workflow preset '$preset' ==="
  start=$(date +%s)
  cmake --workflow --preset "$preset"
  echo "=== futexbox: '$preset' passed in $(( $(date +%s) - start )) s ==="
done
