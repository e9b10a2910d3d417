#!/bin/sh
# Runs inside the test VM (under systemd, from ci-test.service, in /ci): installs the
# binfmtd package and checks it case by case. Each case prints one line
# `CASE <name>: PASS` or `CASE <name>: FAIL <why>` on the serial console; run.sh on the
# host requires every expected case to pass. The first boot ends by leaving a marker for
# the second boot of the same disk, which runs the reboot, upgrade and removal cases.
# Payload in /ci: binfmtd_*.deb, busybox-arm64 (Debian's static busybox for arm64).
exec 2>&1
export SYSTEMD_PAGER= SYSTEMD_COLORS=0 LC_ALL=C.UTF-8
BM=/proc/sys/fs/binfmt_misc
MARKER=/var/lib/binfmtd-test/boot1
DEB=$(ls /ci/binfmtd_*.deb)
ARM64=/ci/busybox-arm64
failed=0
WHY=""

# run NAME FUNCTION: one case; the function returns non-zero with WHY set on failure.
run() {
  WHY=""
  echo "--- case $1 (uptime $(cut -d' ' -f1 /proc/uptime))"
  if "$2"; then
    echo "CASE $1: PASS"
  else
    echo "CASE $1: FAIL ${WHY:-no reason given}"
    failed=1
  fi
}
fail() { WHY=$1; return 1; }
# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
  n=$(($1 * 10))
  shift
  while ! "$@" >/dev/null 2>&1; do
    n=$((n - 1))
    [ $n -gt 0 ] || return 1
    sleep 0.1
  done
}
arm64_runs() { [ "$("$ARM64" uname -m 2>/dev/null)" = aarch64 ]; }
arm64_fails() { ! "$ARM64" true 2>/dev/null; }
has_entry() { [ -f "$BM/$1" ]; }
no_entry() { [ ! -f "$BM/$1" ]; }
active() { [ "$(systemctl is-active "$1")" = active ]; }
inactive() { [ "$(systemctl is-active "$1")" != active ]; }
# A foreign entry nobody else touches: binfmtd and the package must leave it alone.
add_foreign() { has_entry keepme || echo ':keepme:M::KEEPME::/bin/cat:' > "$BM/register"; }
entries() { ls "$BM" | tr '\n' ' '; }
as_desk() { runuser -u desk -- "$@"; }
# monotonic USEC of a unit property
mono() { systemctl show -P "$2" "$1"; }

# --- first boot -------------------------------------------------------------------

case_install() {
  add_foreign || fail "cannot register the foreign test entry" || return 1
  echo "entries before: $(entries)"
  # The user's route; the VM has no network, so every dependency is in the image.
  apt-get install -y "$DEB" || fail "apt-get install ./binfmtd.deb failed" || return 1
  dpkg-query -W -f='${Status}\n' binfmtd | grep -q 'install ok installed' || fail "not installed" || return 1
  [ "$(systemctl is-enabled binfmtd)" = enabled ] || fail "unit not enabled by the package" || return 1
  active binfmtd || fail "unit not started by the package" || return 1
  for f in /usr/sbin/binfmtd /usr/bin/binfmtctl /lib/systemd/system/binfmtd.service \
           /usr/share/dbus-1/system.d/org.binfmtd.Binfmt1.conf \
           /usr/share/dbus-1/system-services/org.binfmtd.Binfmt1.service \
           /usr/share/polkit-1/actions/org.binfmtd.Binfmt1.policy /etc/binfmtd/binfmtd.json; do
    [ -f "$f" ] || fail "$f missing" || return 1
  done
  dpkg-query -W -f='${Conffiles}\n' binfmtd | grep -q /etc/binfmtd/binfmtd.json ||
    fail "/etc/binfmtd/binfmtd.json is not a conffile" || return 1
  pkaction --action-id org.binfmtd.manage --verbose || fail "polkit does not know org.binfmtd.manage" || return 1
  has_entry keepme || fail "installing removed a foreign entry" || return 1
}

case_analyze_verify() {
  # --man=no: the image leaves out man pages; build-deb.sh checks the package has them.
  out=$(systemd-analyze verify --man=no binfmtd.service 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 0 ] || fail "systemd-analyze verify exited $rc" || return 1
  ! echo "$out" | grep -q binfmtd || fail "systemd-analyze verify complains about binfmtd" || return 1
}

case_enable_now() {
  systemctl enable --now binfmtd || fail "systemctl enable --now failed" || return 1
  active binfmtd || fail "not active" || return 1
  systemctl status binfmtd --no-pager -n 0
  systemctl show -p Type -p Result -p NRestarts -p StatusText binfmtd
  [ "$(systemctl show -P Type binfmtd)" = notify ] || fail "not Type=notify" || return 1
  # Type=notify: active means READY=1 arrived; STATUS= carries the summary line.
  systemctl show -P StatusText binfmtd | grep -q 'handler(s) registered' ||
    fail "no STATUS= from sd_notify" || return 1
  journalctl -u binfmtd --no-pager -o short-monotonic | tail -n 8
  journalctl -u binfmtd --no-pager | grep -q 'Reconciled: ok' || fail "no 'Reconciled: ok' in the journal" || return 1
  journalctl -u binfmtd --no-pager | grep -q 'Started binfmtd' || fail "no 'Started' line in the journal" || return 1
  systemctl reload binfmtd || fail "systemctl reload failed" || return 1
  wait_for 10 sh -c 'journalctl -u binfmtd --no-pager | grep -q "Reconciling: SIGHUP"' ||
    fail "no 'Reconciling: SIGHUP' after systemctl reload" || return 1
  active binfmtd || fail "not active after reload" || return 1
}

case_root_enable_arm64() {
  arm64_fails || fail "arm64 already ran before binfmtctl enable" || return 1
  binfmtctl enable arm64 || fail "binfmtctl enable arm64 failed" || return 1
  "$ARM64" uname -m
  arm64_runs || fail "arm64 busybox does not run" || return 1
  cat "$BM/qemu-aarch64"
  grep -q '^:qemu-aarch64:' /run/binfmtd/owned || fail "qemu-aarch64 not in /run/binfmtd/owned" || return 1
  head -n 20 /etc/binfmtd/conf.d/*.json
  grep -qs 'arm64\|aarch64' /etc/binfmtd/conf.d/50-binfmtctl.json || fail "not persisted in /etc/binfmtd/conf.d" || return 1
}

case_root_chroot() {
  rm -rf /tmp/jail
  mkdir -p /tmp/jail/bin
  cp "$ARM64" /tmp/jail/bin/busybox
  out=$(chroot /tmp/jail /bin/busybox sh -c 'uname -m; find /' 2>&1)
  echo "$out"
  [ "$(echo "$out" | head -n1)" = aarch64 ] || fail "arm64 busybox does not run in a chroot holding only it" || return 1
}

# The daemon runs the arm64 probe through the entry, inside the hardened unit: the
# system call filter and the dropped MemoryDenyWriteExecute= must let QEMU run.
case_verify_under_unit() {
  out=$(busctl call org.binfmtd.Binfmt1 /org/binfmtd/Binfmt1 org.binfmtd.Binfmt1.Manager \
    Verify as 1 arm64 2>&1)
  echo "Verify arm64 -> $out"
  echo "$out" | grep -q '"qemu-aarch64" "passed"' ||
    fail "Verify arm64 under binfmtd.service did not pass: $out" || return 1
  binfmtctl status
  binfmtctl doctor || true  # printed for the log; the VM has other findings
  binfmtctl status | grep -q 'verification: .*passed' ||
    fail "binfmtctl status shows no passed verification" || return 1
}

case_polkit_denied() {
  out=$(as_desk binfmtctl --no-ask-password disable arm64 2>&1)
  rc=$?
  echo "desk: binfmtctl disable arm64 -> rc=$rc: $out"
  [ $rc -ne 0 ] || fail "an unprivileged user was allowed without a polkit rule" || return 1
  echo "$out" | grep -q 'Not authorized' || fail "refusal without the 'Not authorized' sentence" || return 1
  arm64_runs || fail "arm64 stopped running after a refused call" || return 1
}

case_polkit_rule_allows() {
  mkdir -p /etc/polkit-1/rules.d
  cat > /etc/polkit-1/rules.d/50-binfmtd-desk.rules <<'JS'
polkit.addRule(function(action, subject) {
    if (action.id == "org.binfmtd.manage" && subject.user == "desk")
        return polkit.Result.YES;
});
JS
  # polkitd rereads rules.d by itself (inotify); give it a moment.
  wait_for 10 as_desk binfmtctl --no-ask-password disable arm64 ||
    fail "desk still refused with a rule granting org.binfmtd.manage" || return 1
  arm64_fails || fail "arm64 still runs after desk disabled it" || return 1
  as_desk binfmtctl --no-ask-password enable arm64 || fail "desk: enable arm64 failed" || return 1
  arm64_runs || fail "arm64 does not run after desk enabled it" || return 1
  rm -f /etc/polkit-1/rules.d/50-binfmtd-desk.rules
}

case_stop_keeps_entries() {
  add_foreign
  systemctl stop binfmtd || fail "systemctl stop failed" || return 1
  inactive binfmtd || fail "still active after stop" || return 1
  echo "entries after stop: $(entries)"
  has_entry keepme || fail "stopping binfmtd removed a foreign entry" || return 1
  arm64_runs || fail "stopping binfmtd removed its arm64 entry" || return 1
}

case_dbus_activation() {
  inactive binfmtd || fail "binfmtd was not stopped" || return 1
  busctl call org.binfmtd.Binfmt1 /org/binfmtd/Binfmt1 org.freedesktop.DBus.Peer Ping ||
    fail "busctl call to org.binfmtd.Binfmt1 failed" || return 1
  wait_for 10 active binfmtd || fail "the call did not start binfmtd.service" || return 1
  busctl get-property org.binfmtd.Binfmt1 /org/binfmtd/Binfmt1 org.binfmtd.Binfmt1.Manager Version 2>/dev/null ||
    busctl introspect org.binfmtd.Binfmt1 /org/binfmtd/Binfmt1 | head -n 5
  journalctl -u binfmtd --no-pager -n 3
}

case_systemd_binfmt_restart() {
  arm64_runs || fail "arm64 did not run before" || return 1
  systemctl restart systemd-binfmt || fail "systemctl restart systemd-binfmt failed" || return 1
  t0=$(cut -d' ' -f1 /proc/uptime)
  wait_for 10 arm64_runs || fail "binfmtd's arm64 entry did not come back within 10 s" || return 1
  echo "arm64 back after the flush (uptime $t0 -> $(cut -d' ' -f1 /proc/uptime))"
  journalctl -u binfmtd --no-pager -n 4
}

# --- second boot ------------------------------------------------------------------

case_reboot_arm64() {
  echo "boot 1: $(cat $MARKER), boot 2: $(cat /proc/sys/kernel/random/boot_id)"
  [ "$(cat $MARKER)" != "$(cat /proc/sys/kernel/random/boot_id)" ] || fail "not a new boot" || return 1
  active binfmtd || fail "binfmtd not active after the reboot" || return 1
  arm64_runs || fail "arm64 does not run after the reboot" || return 1
  grep -q '^:qemu-aarch64:' /run/binfmtd/owned || fail "qemu-aarch64 not owned after the reboot" || return 1
}

case_reboot_before_multi_user() {
  b=$(mono binfmtd ActiveEnterTimestampMonotonic)
  m=$(mono multi-user.target ActiveEnterTimestampMonotonic)
  s=$(mono systemd-binfmt ActiveEnterTimestampMonotonic)
  echo "monotonic us: systemd-binfmt active $s, binfmtd ready $b, multi-user.target reached $m"
  journalctl -b -u binfmtd --no-pager -o short-monotonic | grep -E 'Reconciled|Started|qemu-aarch64'
  systemd-analyze critical-chain binfmtd.service --no-pager | tail -n +3 | head -n 6
  systemd-analyze blame --no-pager | head -n 5
  [ "${b:-0}" -gt 0 ] || fail "binfmtd never became active in this boot" || return 1
  # READY=1 follows the first reconcile, so at $b the entries were registered.
  [ "$b" -le "$m" ] || fail "binfmtd became ready after multi-user.target" || return 1
  [ "$s" -le "$b" ] || fail "binfmtd became ready before systemd-binfmt's flush" || return 1
}

case_upgrade_keeps_entries() {
  add_foreign
  echo '{ }' > /etc/binfmtd/binfmtd.json   # an administrator's change to the conffile
  before=$(systemctl show -P MainPID binfmtd)
  # dpkg from here on: the same maintainer scripts as apt runs, in a third of the time.
  dpkg -i /ci/upgrade/binfmtd_*.deb || fail "upgrading failed" || return 1
  dpkg-query -W -f='${Version}\n' binfmtd | grep -q systemtest1 || fail "not upgraded" || return 1
  active binfmtd || fail "binfmtd not active after the upgrade" || return 1
  [ "$(systemctl show -P MainPID binfmtd)" != "$before" ] || fail "binfmtd not restarted by the upgrade" || return 1
  has_entry keepme || fail "upgrading removed a foreign entry" || return 1
  arm64_runs || fail "arm64 stopped running after the upgrade" || return 1
  [ "$(cat /etc/binfmtd/binfmtd.json)" = '{ }' ] || fail "the upgrade replaced the changed conffile" || return 1
}

case_remove_keeps_entries() {
  dpkg --remove binfmtd || fail "dpkg --remove failed" || return 1
  inactive binfmtd || fail "binfmtd still running after removal" || return 1
  echo "entries after remove: $(entries)"
  has_entry keepme || fail "removal removed a foreign entry" || return 1
  has_entry qemu-riscv64 || fail "removal removed systemd-binfmt's entries" || return 1
  [ -f /etc/binfmtd/binfmtd.json ] || fail "removal deleted the conffile" || return 1
  dpkg-query -W -f='${Status}\n' binfmtd | grep -q 'config-files' || fail "not in state config-files" || return 1
}

case_purge_removes_own() {
  dpkg --purge binfmtd || fail "dpkg --purge failed" || return 1
  echo "entries after purge: $(entries)"
  no_entry qemu-aarch64 || fail "purge left binfmtd's qemu-aarch64" || return 1
  has_entry keepme || fail "purge removed a foreign entry" || return 1
  has_entry qemu-riscv64 || fail "purge removed systemd-binfmt's entries" || return 1
  [ ! -e /etc/binfmtd ] || fail "/etc/binfmtd left after purge" || return 1
  [ ! -e /run/binfmtd ] || fail "/run/binfmtd left after purge" || return 1
}

# The init script for hosts without systemd is shipped; under systemd, init-functions
# hands it over to the unit, so it reports the unit's state.
case_init_script_under_systemd() {
  [ -x /etc/init.d/binfmtd ] || fail "/etc/init.d/binfmtd is not installed" || return 1
  [ -f /etc/default/binfmtd ] || fail "/etc/default/binfmtd is not installed" || return 1
  active binfmtd || fail "binfmtd.service is not active" || return 1
  /etc/init.d/binfmtd status || fail "/etc/init.d/binfmtd status failed while the unit runs"
}

echo "--- $(uname -r), PID 1: $(cat /proc/1/comm), $(systemctl is-system-running)"
systemd-analyze time
if [ ! -f $MARKER ]; then
  run install case_install
  run analyze-verify case_analyze_verify
  run enable-now case_enable_now
  run init-script-under-systemd case_init_script_under_systemd
  run root-enable-arm64 case_root_enable_arm64
  run root-chroot case_root_chroot
  run verify-under-unit case_verify_under_unit
  run polkit-denied case_polkit_denied
  run polkit-rule-allows case_polkit_rule_allows
  run stop-keeps-entries case_stop_keeps_entries
  run dbus-activation case_dbus_activation
  run systemd-binfmt-restart case_systemd_binfmt_restart
  mkdir -p "$(dirname $MARKER)"
  cat /proc/sys/kernel/random/boot_id > $MARKER
else
  run reboot-arm64 case_reboot_arm64
  run reboot-before-multi-user case_reboot_before_multi_user
  run upgrade-keeps-entries case_upgrade_keeps_entries
  run remove-keeps-entries case_remove_keeps_entries
  run purge-removes-own case_purge_removes_own
fi
exit $failed
