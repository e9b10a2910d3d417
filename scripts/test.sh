#!/bin/sh
# Sets up everything (Debian packages, the arm64 test binary), builds binfmtd and runs
# the whole test suite: unit, kernel (private binfmt_misc instance), D-Bus (private
# system bus with the project's policy) and end to end (qemu-user-static + arm64 busybox).
# Then more stages: the whole suite again built with ASan+UBSan (gcc, build-asan/),
# and the libFuzzer targets for a few seconds each (clang-14, build-fuzz/), and the
# container tests: Debian's podman running arm64 containers through binfmtd, the container
# image in both its modes and the Kubernetes DaemonSet (tests/container), and the
# system tests: the Debian package in a Debian VM under a real systemd (tests/system). Extra
# arguments go to the first stage's `meson test`. BINFMTD_TEST_QUICK=1 runs only the
# first stage, for a quick local run; CI (CI=true) always runs every stage.
# Run as root: the kernel and bus tests make user namespaces and switch uids.
set -eu
cd "$(dirname "$0")/.."

scripts/setup.sh

# meson setup, or --reconfigure when the directory exists: setup DIR [OPTIONS...]. meson
# 1.0.1 ignores -Db_* options given to --reconfigure, so `meson configure` applies them.
setup() {
  dir=$1
  shift
  if [ ! -d "$dir" ]; then
    meson setup "$dir" "$@"
  elif [ $# -eq 0 ]; then
    meson setup --reconfigure "$dir"
  else
    meson setup --reconfigure "$dir" && meson configure "$dir" "$@"
  fi
}

# One plain summary line for CI: meson tests that passed and failed (skipped apart).
summary() {
  [ -f "$1/meson-logs/testlog.json" ] || return 0
  python3 - "$1/meson-logs/testlog.json" "$2" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
passed = sum(r == "OK" for r in results)
skipped = sum(r == "SKIP" for r in results)
print(f"{sys.argv[2]}tests: {passed} passed, {len(results) - passed - skipped} failed, {skipped} skipped")
PY
}

stages=""
failed=0
# Records a stage's outcome and time for the summary at the end: finish NAME RC START
finish() {
  verdict=ok
  if [ "$2" -ne 0 ]; then
    verdict=FAILED
    failed=1
  fi
  stages="$stages$(printf '%-12s %-7s %4ss' "$1" "$verdict" $(($(date +%s) - $3)))
"
}

# Stage 1: the normal build and the whole test suite.
start=$(date +%s)
BUILD=${BUILD:-build}
setup "$BUILD"
meson compile -C "$BUILD"
rc=0
meson test -C "$BUILD" --print-errorlogs "$@" || rc=$?
summary "$BUILD" ""
finish build+test $rc "$start"

ci=${CI:-}
[ "$ci" = false ] && ci=""
if [ -n "${BINFMTD_TEST_QUICK:-}" ] && [ -z "$ci" ]; then
  echo "BINFMTD_TEST_QUICK is set: skipping the sanitizer, fuzz, container and system stages"
  echo "Stages:"
  printf '%s' "$stages"
  exit $rc
fi

# Stage 2: everything under AddressSanitizer (with LeakSanitizer) and UBSan. The options
# reach every process the tests start, binfmtd and binfmtctl included, since they inherit
# the environment. Reports go to files, one per process, because nothing checks the exit
# status of a daemon a test stops: any file there fails the stage.
# -O0 (buildtype debug): with -O2, gcc takes six times the CPU to build this under ASan+UBSan.
asan_stage() {
  dir=build-asan
  setup "$dir" -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false || return 1
  meson compile -C "$dir" || return 1
  logs=$PWD/$dir/sanitizer-logs
  rm -rf "$logs"
  mkdir -p "$logs"
  chmod 1777 "$logs"  # binfmtctl also runs as nobody in the D-Bus tests
  result=0
  ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" \
    meson test -C "$dir" --print-errorlogs || result=1
  summary "$dir" "asan+ubsan "
  if [ -n "$(ls -A "$logs")" ]; then
    echo "Sanitizer reports (in $logs):"
    for f in "$logs"/*; do
      echo "----- $f"
      cat "$f"
    done
    result=1
  fi
  return $result
}
start=$(date +%s)
rc=0
asan_stage || rc=1
finish asan+ubsan $rc "$start"

# Stage 3: the libFuzzer targets (tests/fuzz), 10 s each; `meson test` builds only them.
fuzz_stage() {
  dir=build-fuzz
  CC=clang-14 CXX=clang++-14 setup "$dir" -Dfuzzing=true -Dcpp_args=-fsanitize=fuzzer-no-link \
    -Db_sanitize=address,undefined -Db_lundef=false || return 1
  result=0
  meson test -C "$dir" --suite fuzz --print-errorlogs || result=1
  summary "$dir" "fuzz "
  return $result
}
start=$(date +%s)
rc=0
fuzz_stage || rc=1
finish fuzz $rc "$start"

# Stage 4: containers, in a sandbox with a private binfmt_misc: the image built from this
# build (its Debian part cached in /var/cache/binfmtd-container) and run by podman in its
# one-shot and daemon modes, arm64 containers through binfmtd, the Kubernetes manifest
# validated against the API schema and its pod run.
start=$(date +%s)
rc=0
tests/container/run.sh "$BUILD" || rc=1
finish containers $rc "$start"

# Stage 5: the Debian package (dpkg-buildpackage, lintian), installed and driven in a
# bookworm VM under QEMU/TCG with systemd, dbus and polkit, across a reboot; the image
# is cached in /var/cache/binfmtd-testvm. A failure prints the serial logs.
start=$(date +%s)
rc=0
tests/system/run.sh || rc=1
finish system $rc "$start"

echo "Stages:"
printf '%s' "$stages"
exit $failed
