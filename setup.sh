#!/usr/bin/env bash
# Installs every Debian package futexbox needs to build, test and benchmark.
# Idempotent: packages already present are left alone, and apt is not touched at all when nothing
# is missing. Runs apt-get directly as root, through sudo when it can do so without a password, and
# otherwise prints the exact command for someone who can.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  # clang for the thread-safety preset (-Wthread-safety checks the lock annotations).
  clang
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libboost-container-dev libtbb-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libseccomp-dev
  # Real programs the runner's end-to-end tests and benchmarks run under `futexbox run`.
  xz-utils zstd pigz coreutils python3 linux-perf stress-ng strace
  # The real-software corpus (tests/realworld): a cgo Go program, a Rust program, make and cmake
  # builds of small projects under `futexbox run`.
  golang-go rustc make
  # futexbox trace --report's page is rendered in headless Chromium by the tests.
  chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "setup: not root and no passwordless sudo; please run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Install first from the existing package lists; refresh them only if that fails (a new machine).
if ! "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  "${as_root[@]}" apt-get update
  "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
