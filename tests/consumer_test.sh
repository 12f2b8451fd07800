#!/usr/bin/env bash
# Installs the futexbox build tree into a scratch prefix, then configures, builds and runs
# examples/consumer against it with find_package: the way an embedder consumes futexbox.
# Usage: consumer_test.sh <futexbox build dir> <futexbox source dir>
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src/examples/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/consumer" > "$work/build.log"
"$work/consumer/consumer"
