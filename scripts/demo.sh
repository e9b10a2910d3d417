#!/bin/sh
# The user story without systemd and without touching this machine's binfmt_misc:
# a private binfmt_misc instance and a private system bus in a user + mount namespace,
# binfmtd on its default configuration layout, then `binfmtctl enable arm64` and an arm64
# binary that runs, also in a chroot that holds nothing but that binary.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)

scripts/setup.sh
[ -d build ] || meson setup build
meson compile -C build

BUSYBOX=${BINFMTD_FOREIGN_BINARIES:-/var/cache/binfmtd-tests}/busybox-arm64
T=$(mktemp -d /tmp/binfmtd-demo-XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT

unshare --user --map-root-user --mount sh -eu -c '
  T=$1 TOP=$2 BUSYBOX=$3
  say() { printf "\n\$ %s\n" "$*"; }
  mkdir -p "$T/binfmt_misc" "$T/etc/binfmtd" "$T/run/binfmtd" "$T/jail"
  mount -t binfmt_misc binfmt_misc "$T/binfmt_misc"
  sed -e "s|@SOCKET@|$T/bus.sock|" -e "s|@POLICY@|$TOP/systemd/org.binfmtd.Binfmt1.conf|" \
    "$TOP/tests/data/system-bus.conf.in" > "$T/bus.conf"
  dbus-daemon --config-file="$T/bus.conf" --fork --print-pid=3 3>"$T/bus.pid" 2>/dev/null
  export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock"
  PATH="$TOP/build/client:$TOP/build/daemon:$PATH"

  binfmtd --binfmt-dir="$T/binfmt_misc" --config-dir="$T/etc/binfmtd" \
    --runtime-config-dir="$T/run/binfmtd" --state-dir="$T/run/binfmtd" 2>"$T/binfmtd.log" &
  i=0
  until binfmtctl status >/dev/null 2>&1 || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.1; done

  cp "$BUSYBOX" "$T/jail/busybox"
  say "./busybox uname -m     # an arm64 binary, on $(uname -m)"
  "$T/jail/busybox" uname -m || true
  say "binfmtctl enable arm64"
  binfmtctl enable arm64
  say "./busybox uname -m"
  "$T/jail/busybox" uname -m
  say "chroot jail /busybox sh -c \"ls -R /; uname -m\"     # nothing but busybox in there"
  chroot "$T/jail" /busybox sh -c "/busybox ls -R /; /busybox uname -m"
  say "binfmtctl list"
  binfmtctl list
  say "binfmtctl status"
  binfmtctl status
  say "cat /etc/binfmtd/conf.d/50-binfmtctl.json"
  cat "$T/etc/binfmtd/conf.d/50-binfmtctl.json"
  kill $(cat "$T/bus.pid") 2>/dev/null || true
' demo "$T" "$TOP" "$BUSYBOX"
