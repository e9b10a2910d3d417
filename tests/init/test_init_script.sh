#!/bin/sh
# The Debian package's /etc/init.d/binfmtd without systemd, as on WSL without systemd or
# a sysvinit host: `service binfmtd start|status|reload|restart|stop`, without a system
# bus (binfmtd --no-bus) and with one. Run by meson under private-binfmt: in its own
# mount namespace /etc/init.d, /etc/default, /run and /var/log are fresh tmpfs, and
# binfmt_misc is a private instance at $BINFMTD_TEST_BINFMT_DIR.
#   test_init_script.sh SRC BINFMTD BINFMTCTL PROBE_DIR
set -eu
SRC=$1 BINFMTD=$2 BINFMTCTL=$3 PROBES=$4
BM=${BINFMTD_TEST_BINFMT_DIR:?run under private-binfmt}
T=$(mktemp -d)
trap 'service binfmtd stop >/dev/null 2>&1 || true; kill "${bus_pid:-0}" 2>/dev/null || true; rm -rf "$T"' EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...
  d=$1
  shift
  if "$@" >"$T/out" 2>&1; then echo "ok: $d"; else echo "FAIL: $d: $(cat "$T/out")"; failures=$((failures + 1)); fi
}
wait_for() { n=0; while ! sh -c "$1" >/dev/null 2>&1; do n=$((n + 1)); [ $n -le 50 ] || return 1; sleep 0.1; done; }

for d in /etc/init.d /etc/default /run /var/log; do mount -t tmpfs tmpfs "$d"; done
install -m 0755 "$SRC/debian/binfmtd.init" /etc/init.d/binfmtd
mkdir -p "$T/etc" "$T/run" "$T/usr"
echo '{"architectures": ["arm64"]}' > "$T/etc/binfmtd.json"
defaults() {  # the package's defaults file, plus this test's paths
  cat "$SRC/debian/binfmtd.default"
  echo "DAEMON=$BINFMTD"
  echo "DAEMON_ARGS=\"--binfmt-dir=$BM --config-dir=$T/etc --runtime-config-dir=$T/run --vendor-config-dir=$T/usr --state-dir=$T/run --probe-dir=$PROBES\""
  echo "$1"
}

# Without a system bus (no socket in the fresh /run): --no-bus.
defaults "" > /etc/default/binfmtd
check "service binfmtd start without a bus" service binfmtd start
check "the handler is registered when start returns (READY=1 awaited)" test -e "$BM/qemu-aarch64"
check "service binfmtd status: running" service binfmtd status
check "it runs without D-Bus" grep -q "Running without D-Bus" /var/log/binfmtd.log
check "binfmtctl says so" sh -c "BINFMTD_STATE_DIR=$T/run DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/none $BINFMTCTL status 2>&1 | grep -q 'binfmtd runs without D-Bus'"
check "a second start is a no-op" service binfmtd start
check "one daemon only" test "$(pgrep -c -f "^$BINFMTD ")" = 1
check "service binfmtd reload reconciles" sh -c "service binfmtd reload && sleep 0.3 && grep -q 'Reconciling: SIGHUP' /var/log/binfmtd.log"
echo -1 > "$BM/status"
check "it heals a flush" wait_for "test -e $BM/qemu-aarch64"
check "service binfmtd restart" service binfmtd restart
check "running after restart" service binfmtd status
check "service binfmtd stop" service binfmtd stop
if service binfmtd status >/dev/null 2>&1; then
  echo "FAIL: status after stop says running"; failures=$((failures + 1))
else
  check "status after stop: exit 3 (not running)" sh -c "service binfmtd status; test \$? = 3"
fi
check "stopping removes no entry" test -e "$BM/qemu-aarch64"
check "the pid file is gone" test ! -e /run/binfmtd.pid

# With a system bus: binfmtctl reaches the daemon.
mkdir -p "$T/bus"
sed -e "s|@SOCKET@|$T/bus/socket|" -e "s|@POLICY@|$SRC/systemd/org.binfmtd.Binfmt1.conf|" \
  "$SRC/tests/data/system-bus.conf.in" > "$T/bus/bus.conf"
dbus-daemon --config-file="$T/bus/bus.conf" --nofork --print-address=3 3>"$T/bus/address" 2>/dev/null &
bus_pid=$!
wait_for "test -s $T/bus/address"
address=$(head -n1 "$T/bus/address")
defaults "export DBUS_SYSTEM_BUS_ADDRESS=$address" > /etc/default/binfmtd
check "service binfmtd start with a bus" service binfmtd start
check "binfmtctl reaches it on the bus" env DBUS_SYSTEM_BUS_ADDRESS="$address" "$BINFMTCTL" status
check "service binfmtd stop" service binfmtd stop

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
