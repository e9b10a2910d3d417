#!/bin/sh
# Sets up everything (Debian packages, the arm64 test binary), builds binfmtd and runs
# the whole test suite: unit, kernel (private binfmt_misc instance), D-Bus (private
# system bus with the project's policy) and end to end (qemu-user-static + arm64 busybox).
# Run as root: the kernel and bus tests make user namespaces and switch uids.
set -eu
cd "$(dirname "$0")/.."

scripts/setup.sh
BUILD=${BUILD:-build}
if [ -d "$BUILD" ]; then
  meson setup --reconfigure "$BUILD"
else
  meson setup "$BUILD"
fi
meson compile -C "$BUILD"
meson test -C "$BUILD" --print-errorlogs "$@"
