#!/bin/sh
# The benchmark in one command: binfmtd against systemd-binfmt and update-binfmts
# (docs/performance.md). Run as root from anywhere:
#
#   tests/perf/run.sh [--quick] [--out DIR] [--only apply,start,resident,scale]
#
# 1. installs what it needs from Debian, only what is missing: the build dependencies,
#    qemu-user-static (the 29 binfmt.d files and formats compared), dbus-daemon,
#    python3-matplotlib (the chart), valgrind (instruction counts);
# 2. fetches binfmt-support's package and unpacks it under /var/cache/binfmtd-perf
#    WITHOUT installing it (its postinst would register every format in the machine's
#    global binfmt_misc); its update-binfmts runs from there;
# 3. builds a release build in build-perf/ (only binfmtd, binfmtd-apply, binfmtctl and
#    binfmtd-bench);
# 4. runs tests/perf/bench.py in a user + mount namespace with its own binfmt_misc instance
#    and a private bus: nothing is registered on the machine;
# 5. writes DIR/results.json, DIR/results.md and DIR/results.png (DIR: docs/perf) and, for
#    docs/perf, refreshes the tables in docs/performance.md.
# It takes about 2 minutes after the build. Figures are only worth keeping from a quiet
# machine: the load average is printed first and recorded in the results.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/perf/run.sh: run as root (it installs Debian packages and uses namespaces)" >&2
  exit 1
fi
cd "$(dirname "$0")/../.."
TOP=$(pwd)
BUILD=${BINFMTD_PERF_BUILD:-$TOP/build-perf}
CACHE=/var/cache/binfmtd-perf
OUT=$TOP/docs/perf
prev=""
for a in "$@"; do
  [ "$prev" = "--out" ] && OUT=$a
  case $a in --out=*) OUT=${a#--out=} ;; esac
  prev=$a
done

PACKAGES="meson ninja-build g++ pkg-config libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev
  nlohmann-json3-dev catch2 dbus-daemon systemd util-linux qemu-user-static python3
  python3-matplotlib valgrind"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
updated=no
if [ -n "$missing" ]; then
  echo "Installing:$missing"
  apt-get update -q
  updated=yes
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends $missing
fi

# binfmt-support, unpacked only.
UPDATE_BINFMTS=$CACHE/root/usr/sbin/update-binfmts
if [ ! -x "$UPDATE_BINFMTS" ]; then
  mkdir -p "$CACHE"
  if ! (cd "$CACHE" && apt-get download binfmt-support 2>/dev/null); then
    [ $updated = yes ] || apt-get update -q
    (cd "$CACHE" && apt-get download binfmt-support)
  fi
  rm -rf "$CACHE/root"
  dpkg-deb -x "$CACHE"/binfmt-support_*.deb "$CACHE/root"
fi
DEB=$(ls "$CACHE"/binfmt-support_*.deb | head -n 1)

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" -Dbuildtype=release -Dtests=true -Dman=disabled
fi
ninja -C "$BUILD" daemon/binfmtd daemon/binfmtd-apply client/binfmtctl tests/perf/binfmtd-bench

echo "Load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; 2 quiet cores read < 0.3)"
# A high priority (nice -15, for everything the benchmark starts) keeps a build running
# beside it from taking the cores in the middle of a measurement; it cannot make a busy
# machine quiet (caches, memory bandwidth), so the load is recorded with the results.
nice -n "${BINFMTD_PERF_NICE:--15}" \
  unshare --user --map-root-user --mount /usr/bin/python3 "$TOP/tests/perf/bench.py" \
  --build "$BUILD" --update-binfmts "$UPDATE_BINFMTS" --binfmt-support-deb "$DEB" "$@"
/usr/bin/python3 "$TOP/tests/perf/report.py" "$OUT"
