#!/bin/sh
# tests/container/scenario.sh SRC BUILD WORK: the container stage's tests, run by
# tests/container/run.sh inside the sandbox (tests/tools/private_binfmt.cpp): a private
# user + mount namespace whose binfmt_misc, mounted at /proc/sys/fs/binfmt_misc, is an
# instance of its own. Debian's podman and crun run real containers in it. Nothing here
# touches the machine's global binfmt_misc, its /run or its container storage.
set -eu
SRC=$1
BUILD=$2
W=$3
BM=/proc/sys/fs/binfmt_misc
IMAGE=localhost/binfmtd:latest
BUSYBOX=localhost/busybox-arm64:test
FOREIGN=${BINFMTD_FOREIGN_BINARIES:-/var/cache/binfmtd-tests}

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Waits up to $2 tenths of a second for the command $1 to succeed.
wait_for() {
  n=0
  while ! sh -c "$1" >/dev/null 2>&1; do
    n=$((n + 1))
    [ "$n" -le "$2" ] || return 1
    sleep 0.1
  done
}

# --- The sandbox's container engine (shared/CONTAINER-TESTING.md) ------------------
mount -t tmpfs tmpfs /run                     # runroot, host paths; no host socket
mount -t tmpfs tmpfs /var/lib/containers 2>/dev/null || {
  mkdir -p /var/lib/containers && mount -t tmpfs tmpfs /var/lib/containers
}
# crun refuses hybrid cgroups even with cgroups disabled; hide the v2 part.
[ -d /sys/fs/cgroup/unified ] && mount -t tmpfs tmpfs /sys/fs/cgroup/unified
mkdir -p /run/tmp "$W/conf"
# As root podman asks for limits a user namespace may not raise: ask for the current ones.
limit() { awk -v what="$1" '$0 ~ what { print $(NF - 2) ":" $(NF - 1) }' /proc/self/limits; }
nofile=$(limit "Max open files")
nproc_hard=$(limit "Max processes" | cut -d: -f2)
if [ "$nproc_hard" = unlimited ] || [ "$nproc_hard" -gt 32768 ]; then nproc_hard=32768; fi
cat > "$W/conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile", "nproc=$nproc_hard:$nproc_hard"]
netns = "none"
cgroups = "disabled"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
EOF
cat > "$W/conf/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "/var/lib/containers/storage"
runroot = "/run/containers/storage"
EOF
export CONTAINERS_CONF="$W/conf/containers.conf" CONTAINERS_STORAGE_CONF="$W/conf/storage.conf"
export TMPDIR=/run/tmp

# The image, from this tree (the Debian part comes from run.sh's cache).
start=$(now_ms)
ARCHIVE=$W/binfmtd-image.oci.tar CACHE_DIR=${CACHE_DIR:-} "$SRC/deploy/container/build.sh" "$BUILD"
echo "container: image built and saved in $(($(now_ms) - start)) ms"
podman rmi -f "$IMAGE" >/dev/null
podman load --quiet -i "$W/binfmtd-image.oci.tar" >/dev/null
podman image exists "$IMAGE" && pass "the OCI archive loads as $IMAGE" || fail "the OCI archive does not load as $IMAGE"

# An arm64 image that holds nothing but Debian's static busybox.
mkdir -p "$W/busybox"
cp "$FOREIGN/busybox-arm64" "$W/busybox/busybox"
tar -C "$W/busybox" --owner=0 --group=0 -cf "$W/busybox.tar" busybox
podman import --quiet --arch arm64 "$W/busybox.tar" "$BUSYBOX" >/dev/null

# What `podman run --platform linux/arm64 ...` gives now: "aarch64", or the error.
arm64_runs() {
  out=$(podman run --rm --arch arm64 "$BUSYBOX" /busybox uname -m 2>&1) || true
  echo "$out" | tail -n1
}
expect_aarch64() {
  out=$(arm64_runs)
  [ "$out" = aarch64 ] && pass "$1: the arm64 container runs (uname -m: aarch64)" ||
    fail "$1: the arm64 container does not run: $out"
}
expect_exec_error() {
  out=$(arm64_runs)
  case $out in
    *"Exec format error"*|*"exec format error"*) pass "$1: exec format error, as expected" ;;
    *) fail "$1: expected 'Exec format error', got: $out" ;;
  esac
}
entry() { [ -e "$BM/$1" ]; }

# --- 1. binfmtd on a private system bus, driven by binfmtctl ----------------------------
expect_exec_error "before any handler"
mkdir -p "$W/bus" "$W/d/etc" "$W/d/run" "$W/d/usr"
sed -e "s|@SOCKET@|$W/bus/socket|" -e "s|@POLICY@|$SRC/systemd/org.binfmtd.Binfmt1.conf|" \
  "$SRC/tests/data/system-bus.conf.in" > "$W/bus/bus.conf"
dbus-daemon --config-file="$W/bus/bus.conf" --nofork --print-address=3 3>"$W/bus/address" 2>/dev/null &
bus_pid=$!
wait_for "test -s $W/bus/address" 50 || fail "the private bus did not start"
DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$W/bus/address")
export DBUS_SYSTEM_BUS_ADDRESS
"$BUILD/daemon/binfmtd" --config-dir="$W/d/etc" --runtime-config-dir="$W/d/run" \
  --vendor-config-dir="$W/d/usr" --state-dir="$W/d/run" --probe-dir="$BUILD/probes" \
  >"$W/binfmtd.log" 2>&1 &
daemon_pid=$!
wait_for "$BUILD/client/binfmtctl status" 100 || fail "binfmtd did not come up on the bus"
"$BUILD/client/binfmtctl" enable arm64 >/dev/null && pass "binfmtctl enable arm64" || fail "binfmtctl enable arm64"
expect_aarch64 "after binfmtctl enable arm64"
echo -1 > "$BM/status"   # a foreign flush, as systemd-binfmt's restart does
wait_for "test -e $BM/qemu-aarch64" 50 && pass "healed after a foreign flush" || fail "not healed after a flush"
expect_aarch64 "after a foreign flush"
"$BUILD/client/binfmtctl" disable arm64 >/dev/null && pass "binfmtctl disable arm64" || fail "binfmtctl disable arm64"
expect_exec_error "after binfmtctl disable arm64"
kill "$daemon_pid" "$bus_pid"
wait "$daemon_pid" "$bus_pid" 2>/dev/null || true
unset DBUS_SYSTEM_BUS_ADDRESS

# --- 2. The image, one-shot: tonistiigi/binfmt's command line ---------------------------
start=$(now_ms)
json=$(podman run --rm --privileged "$IMAGE" --install arm64 2>"$W/oneshot.err") &&
  pass "one-shot --install arm64 exits 0" || fail "one-shot --install arm64 failed: $(cat "$W/oneshot.err")"
echo "container: one-shot --install arm64: $(($(now_ms) - start)) ms from podman run to exit (entries usable)"
cat "$W/oneshot.err"
echo "$json"
check_json() {  # check_json DESCRIPTION JSON PYTHON-EXPRESSION (over j)
  if printf '%s' "$2" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($3) else 1)"; then
    pass "$1"
  else
    fail "$1: $2"
  fi
}
check_json "the status lists linux/arm64 as supported (its probe ran) and the host's own" "$json" \
  "'linux/arm64' in j['supported'] and 'linux/amd64' in j['supported'] and 'linux/riscv64' not in j['supported']"
check_json "the status lists qemu-aarch64 among the emulators" "$json" "j['emulators'] == ['qemu-aarch64']"
grep -q "flags: PF" "$BM/qemu-aarch64" && pass "the one-shot entry has the F flag" || fail "no F flag: $(cat "$BM/qemu-aarch64")"
expect_aarch64 "after the one-shot container exited"
again=$(podman run --rm --privileged "$IMAGE" --install linux/arm64 2>&1 >/dev/null) &&
  echo "$again" | grep -q "already registered" && pass "installing again is a no-op" ||
  fail "installing again: $again"
json=$(podman run --rm --privileged "$IMAGE" --uninstall qemu-aarch64 2>/dev/null) || fail "--uninstall qemu-aarch64"
check_json "--uninstall qemu-aarch64 removes it" "$json" "j['emulators'] == []"
expect_exec_error "after --uninstall"
json=$(podman run --rm --privileged "$IMAGE" --install all 2>/dev/null) || fail "--install all"
check_json "--install all registers the OCI platforms' emulators" "$json" \
  "all(p in j['supported'] for p in ['linux/arm64','linux/riscv64','linux/ppc64le','linux/s390x','linux/arm/v7'])"
json=$(podman run --rm --privileged "$IMAGE" -uninstall 'qemu-*' 2>/dev/null) || fail "--uninstall 'qemu-*'"
check_json "--uninstall 'qemu-*' removes them all" "$json" "j['emulators'] == []"
out=$(podman run --rm --privileged "$IMAGE" --install sparc99 2>&1) && fail "an unknown name was accepted" ||
  { echo "$out" | grep -q "installing: sparc99 ERROR: unknown architecture" && pass "an unknown name is a named error" || fail "unknown name: $out"; }
out=$(podman run --rm "$IMAGE" --version) && echo "$out" | grep -q "^binfmt/binfmtd-.* qemu/v" &&
  pass "--version: $out" || fail "--version: $out"

# --- 3. The image, daemon mode: binfmtd --no-bus, ownership on a host path --------------
mkdir -p "$W/config" /run/binfmtd-container
echo '{"architectures": ["arm64"]}' > "$W/config/binfmtd.json"
run_daemon() {
  podman run -d --name binfmtd --cap-drop=all --read-only --security-opt no-new-privileges \
    -v "$BM:/host/binfmt_misc" -v /run/binfmtd-container:/run/binfmtd -v "$W/config:/etc/binfmtd:ro" \
    "$IMAGE" daemon --binfmt-dir=/host/binfmt_misc >/dev/null
}
start=$(now_ms)
run_daemon
if wait_for "podman exec binfmtd binfmtd-container health" 100; then
  pass "daemon mode is ready (health), without privileges or capabilities"
  echo "container: daemon mode: $(($(now_ms) - start)) ms from podman run -d to ready (registered and verified)"
else
  fail "daemon mode is not ready: $(podman exec binfmtd binfmtd-container health 2>&1); $(podman logs binfmtd 2>&1)"
fi
expect_aarch64 "daemon mode"
echo -1 > "$BM/status"
wait_for "test -e $BM/qemu-aarch64" 50 && pass "daemon mode heals a flush" || fail "daemon mode did not heal a flush"
expect_aarch64 "daemon mode after a flush"
out=$(podman exec binfmtd binfmtctl status 2>&1) || true
echo "$out" | grep -q "binfmtd runs without D-Bus" && pass "binfmtctl in the container: runs without D-Bus" ||
  fail "binfmtctl in the container: $out"
before=$(cat "$BM/qemu-aarch64")
podman stop -t 5 binfmtd >/dev/null
expect_aarch64 "with the daemon container stopped (it never removes on exit)"
podman rm binfmtd >/dev/null
run_daemon
wait_for "podman exec binfmtd binfmtd-container health" 100 || fail "the restarted daemon is not ready"
podman logs binfmtd 2>&1 | grep -q "Reconciled: ok, 0 write(s)" &&
  pass "a restarted container finds its entries as its own and rewrites nothing" ||
  fail "the restarted container wrote: $(podman logs binfmtd 2>&1)"
[ "$(cat "$BM/qemu-aarch64")" = "$before" ] || fail "the entry changed across the restart"
echo '{"architectures": []}' > "$W/config/binfmtd.json"
wait_for "test ! -e $BM/qemu-aarch64" 50 &&
  pass "after the restart the entry is still its own: unconfigured, it is removed" ||
  fail "the restarted daemon did not remove its unconfigured entry"
podman rm -f binfmtd >/dev/null

# --- 4. Kubernetes: the DaemonSet's pod, with its ConfigMap and its probes -------------
# Debian's podman 4.3 has no DaemonSet kind, and in this sandbox (no cgroups) it cannot
# start pods ("pod ... cgroup is not set"): the pod template's container runs through
# podman run, its arguments generated from the manifest, and the manifest's own readiness
# and liveness commands are what decide.
node "$NPM_DIR/daemonset-to-pod.mjs" "$SRC/deploy/kubernetes/binfmtd.yaml" pod > "$W/pod.yaml"
node "$NPM_DIR/validate.mjs" "$W/pod.yaml" >/dev/null && pass "the generated Pod is valid" ||
  fail "the generated Pod is invalid: $(node "$NPM_DIR/validate.mjs" "$W/pod.yaml" 2>&1)"
spec=$(node "$NPM_DIR/daemonset-to-pod.mjs" "$SRC/deploy/kubernetes/binfmtd.yaml" run "$W/k8s")
field() { printf '%s' "$spec" | /usr/bin/python3 -c "import json,shlex,sys; print(shlex.join(json.load(sys.stdin)['$1']))"; }
name=$(printf '%s' "$spec" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['name'])")
start=$(now_ms)
if eval "podman run -d $(field run)" >"$W/k8s.log" 2>&1; then
  pass "the DaemonSet's container runs with the manifest's security context and volumes"
else
  fail "the DaemonSet's container does not start: $(cat "$W/k8s.log")"
fi
if wait_for "podman exec $name $(field readiness)" 150; then
  pass "the manifest's readiness probe passes"
  echo "container: Kubernetes pod: $(($(now_ms) - start)) ms from start to ready"
else
  fail "not ready: $(eval "podman exec $name $(field readiness)" 2>&1); $(podman logs "$name" 2>&1)"
fi
eval "podman exec $name $(field liveness)" >/dev/null && pass "the manifest's liveness probe passes" ||
  fail "liveness fails"
for e in qemu-aarch64 qemu-arm qemu-riscv64; do
  entry "$e" && pass "the ConfigMap's $e is registered" || fail "$e is not registered"
done
expect_aarch64 "with the Kubernetes pod"
# Readiness means something: an entry another program breaks is reported until healed,
# and a configuration error makes the pod unready (while every entry keeps working).
echo '{"architectures": ["arm64"' > "$W/k8s/binfmtd-config/binfmtd.json"
wait_for "! podman exec $name $(field readiness)" 50 && pass "a configuration error makes the pod unready" ||
  fail "a configuration error left the pod ready"
expect_aarch64 "with a broken ConfigMap"
podman rm -f "$name" >/dev/null

echo "container stage: $failures failure(s)"
[ "$failures" -eq 0 ]
