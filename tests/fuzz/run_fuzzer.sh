#!/bin/sh
# Runs a libFuzzer target as a meson test, over its checked-in seeds plus a scratch
# directory that takes the new inputs (libFuzzer writes to the first directory only), so
# the source tree is never written. A crash or failed check leaves its input in ARTIFACTS.
#
#   run_fuzzer.sh FUZZER SEEDS ARTIFACTS [libFuzzer options...]
set -eu
fuzzer=$1 seeds=$2 artifacts=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
# libFuzzer's default error exit code, 77, is what meson takes for "skipped".
"$fuzzer" -error_exitcode=1 -artifact_prefix="$artifacts/" "$@" "$work" "$seeds"
