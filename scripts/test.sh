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
rc=0
meson test -C "$BUILD" --print-errorlogs "$@" || rc=$?
# One plain summary line for CI: meson tests that passed and failed (skipped apart).
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
passed = sum(r == "OK" for r in results)
skipped = sum(r == "SKIP" for r in results)
print(f"tests: {passed} passed, {len(results) - passed - skipped} failed, {skipped} skipped")
PY
exit $rc
