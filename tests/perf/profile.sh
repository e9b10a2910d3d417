#!/bin/sh
# Instruction profiles (valgrind's callgrind: exact and repeatable, whatever the load) of
# what docs/performance.md discusses. Run as root after tests/perf/run.sh has built
# build-perf/:
#
#   tests/perf/profile.sh [OUTDIR]          # default /tmp/binfmtd-profile
#
# In a user + mount namespace with its own binfmt_misc over /proc/sys/fs/binfmt_misc and
# a private bus, it profiles: binfmtd --apply and binfmtd-apply of the 29 qemu entries
# (cold and no-op),
# systemd-binfmt and update-binfmts doing the same, the daemon from start to READY=1, and
# the daemon answering 1,000 x (Peer.Ping, ListHandlers, GetAll). It prints each total and
# writes callgrind.out.* files; look at one with
#   callgrind_annotate --inclusive=yes OUTDIR/callgrind.out.NAME | head -60
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "tests/perf/profile.sh: run as root" >&2
  exit 1
fi
cd "$(dirname "$0")/../.."
TOP=$(pwd)
OUT=${1:-/tmp/binfmtd-profile}
BUILD=${BINFMTD_PERF_BUILD:-$TOP/build-perf}
UPDATE_BINFMTS=/var/cache/binfmtd-perf/root/usr/sbin/update-binfmts
command -v valgrind >/dev/null || { echo "apt-get install valgrind" >&2; exit 1; }
[ -x "$UPDATE_BINFMTS" ] || { echo "run tests/perf/run.sh first (it unpacks binfmt-support)" >&2; exit 1; }
mkdir -p "$OUT"
export TOP OUT BUILD UPDATE_BINFMTS

exec unshare --user --map-root-user --mount sh -eu -c '
P=/proc/sys/fs/binfmt_misc
W=$(mktemp -d /tmp/binfmtd-profile-XXXXXX)
mount -t tmpfs -o mode=0755 binfmtd-profile "$W"
mount -t binfmt_misc binfmt_misc "$P"
mkdir -p "$W/etc/conf.d" "$W/run" "$W/usr" "$W/state" "$W/binfmt.d" "$W/empty" "$W/a" "$W/i"
cp /usr/lib/binfmt.d/qemu-*.conf "$W/binfmt.d/"
for d in /etc/binfmt.d /run/binfmt.d /usr/local/lib/binfmt.d; do
  [ -d "$d" ] && mount --bind "$W/empty" "$d"
done
mount --bind "$W/binfmt.d" /usr/lib/binfmt.d
cp /usr/share/binfmts/qemu-* "$W/i/"
"$BUILD/client/binfmtctl" import --output="$W/etc/conf.d/40-imported.json" /usr/lib/binfmt.d/*.conf >/dev/null
ARGS="--binfmt-dir=$P --config-dir=$W/etc --runtime-config-dir=$W/run --vendor-config-dir=$W/usr --state-dir=$W/state"
UB="$UPDATE_BINFMTS --admindir=$W/a --importdir=$W/i --procdir=$P"
$UB --import >/dev/null 2>&1
flush() { echo -1 > $P/status; rm -f "$W/state/"*; }
cg() { name=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.$name" "$@" >/dev/null 2>"$W/vg.err" || true
  printf "%-28s %14s instructions\n" "$name" "$(sed -n "s/.*Collected : //p" "$W/vg.err")"; }

flush; cg apply-cold "$BUILD/daemon/binfmtd" $ARGS --apply
cg apply-noop "$BUILD/daemon/binfmtd" $ARGS --apply
flush; cg binfmtd-apply-cold "$BUILD/daemon/binfmtd-apply" $ARGS
cg binfmtd-apply-noop "$BUILD/daemon/binfmtd-apply" $ARGS
flush; cg systemd-binfmt-cold /usr/lib/systemd/systemd-binfmt
cg systemd-binfmt-again /usr/lib/systemd/systemd-binfmt
flush; cg update-binfmts-cold $UB --enable
cg update-binfmts-noop $UB --enable
cg update-binfmts-display $UB --display

sed -e "s|@SOCKET@|$W/bus.sock|" -e "s|@POLICY@|$TOP/systemd/org.binfmtd.Binfmt1.conf|" \
  "$TOP/tests/data/system-bus.conf.in" > "$W/bus.conf"
dbus-daemon --config-file="$W/bus.conf" --nofork 2>/dev/null &
BUS=$!
trap "kill $BUS 2>/dev/null" EXIT
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$W/bus.sock
while [ ! -S "$W/bus.sock" ]; do sleep 0.01; done
flush
# Start to READY=1 (and the shutdown that follows).
: > "$W/vg.err"
"$BUILD/tests/perf/binfmtd-bench" ready --log "$W/vg.err" -- valgrind --tool=callgrind \
  --callgrind-out-file="$OUT/callgrind.out.daemon-start" "$BUILD/daemon/binfmtd" $ARGS >/dev/null
printf "%-28s %14s instructions\n" daemon-start "$(sed -n "s/.*Collected : //p" "$W/vg.err")"
# 1,050 calls of each kind (50 warm-up rounds).
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.daemon-calls" \
  "$BUILD/daemon/binfmtd" $ARGS 2>"$W/vg.err" &
D=$!
"$BUILD/tests/perf/binfmtd-bench" wait-name-gone --bus-name "" >/dev/null
i=0
until busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.binfmtd.Binfmt1 >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 600 ] || { echo "binfmtd did not start" >&2; exit 1; }; sleep 0.05
done
"$BUILD/tests/perf/binfmtd-bench" dbus-latency --rounds 1000 >/dev/null
kill $D; wait $D || true
printf "%-28s %14s instructions (1,050 calls each of Ping, ListHandlers, GetAll)\n" daemon-calls \
  "$(sed -n "s/.*Collected : //p" "$W/vg.err")"
callgrind_annotate --inclusive=yes "$OUT/callgrind.out.daemon-calls" 2>/dev/null \
  | grep -E "ManagerObject::(ListHandlers|refresh|publish)|Engine::status|BinfmtFs::(list|isMounted)|architectureForHandler|sd_bus_message_append_basic" \
  | sed -E "s/\[.*//; s/\(binfmtd::[^)]*\)//g" | cut -c1-120
flush
'
