#!/bin/sh
# run.sh [DEB]: the system tests. Builds the binfmtd package (unless DEB is given),
# builds or restores the cached bookworm test image (image.sh), boots it twice under
# QEMU/TCG with systemd as PID 1 (a copy-on-write overlay holds the disk's writes, so
# the second boot is a real reboot of the same disk) and runs guest/test.sh inside.
# Every expected case must print `CASE <name>: PASS` on the serial console; otherwise
# the serial logs are printed and run.sh fails. Artefacts go to $BINFMTD_SYSTEM_OUT
# (build-system/ in the source tree). Run as root on Debian 12; no KVM needed.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$SRC/tests/system
OUT=${BINFMTD_SYSTEM_OUT:-$SRC/build-system}
FOREIGN=${BINFMTD_FOREIGN_BINARIES:-/var/cache/binfmtd-tests}/busybox-arm64
BOOT1_CASES="install analyze-verify enable-now init-script-under-systemd root-enable-arm64 root-chroot verify-under-unit
  polkit-denied polkit-rule-allows stop-keeps-entries dbus-activation systemd-binfmt-restart"
BOOT2_CASES="reboot-arm64 reboot-before-multi-user upgrade-keeps-entries
  remove-keeps-entries purge-removes-own"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
t0=$(date +%s)

if [ $# -ge 1 ]; then
  DEB=$1
else
  "$HERE/build-deb.sh" "$OUT"
  DEB=$(ls "$OUT"/binfmtd_*.deb)
fi
[ -s "$FOREIGN" ] || { echo "run.sh: $FOREIGN missing (scripts/setup.sh fetches it)" >&2; exit 1; }
t1=$(date +%s)

# The image holds the package's dependencies (the VM has no network): the first
# alternative of each Depends and Recommends item.
pkgs=$(dpkg-deb -f "$DEB" Depends Recommends | sed 's/^[A-Za-z]*: //' | tr -d ' ' | tr ',' '\n' |
  sed 's/|.*//; s/(.*//; s/:any$//' | sort -u | paste -sd, -)
IMG=$("$HERE/image.sh" "$pkgs")
t2=$(date +%s)

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/payload/upgrade" "$W/repack"
cp "$DEB" "$FOREIGN" "$HERE/guest/test.sh" "$W/payload/"
# The upgrade case needs a newer version: the same package with version +systemtest1.
dpkg-deb -R "$DEB" "$W/repack/pkg"
version=$(dpkg-deb -f "$DEB" Version)
sed -i "s/^Version: .*/Version: $version+systemtest1/" "$W/repack/pkg/DEBIAN/control"
dpkg-deb -b -Zgzip "$W/repack/pkg" "$W/payload/upgrade/binfmtd_$version+systemtest1_amd64.deb" >/dev/null
tar -C "$W/payload" -cf "$W/payload.tar" .
# Both boots write to this overlay; the cached image stays as built.
qemu-img create -q -f qcow2 -F raw -b "$IMG/rootfs.ext4" "$W/disk.qcow2"

boot() {
  log=$OUT/serial-boot$1.log
  start=$(date +%s)
  timeout "${VM_TIMEOUT:-480}" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
    -smp "$(nproc)" -m 1024 -nodefaults -no-user-config -display none -no-reboot -net none \
    -serial "file:$log" -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet" \
    -drive "file=$W/disk.qcow2,format=qcow2,if=virtio" \
    -drive "file=$W/payload.tar,format=raw,if=virtio,readonly=on" </dev/null ||
    echo "run.sh: qemu exited with status $? (boot $1; 124 = timeout)"
  echo "run.sh: boot $1 took $(($(date +%s) - start)) s"
}

# check LOG CASES...: every case passed; prints the missing and failed ones.
check() {
  log=$1
  shift
  ok=0
  for c in $*; do
    line=$(tr -d '\r' < "$log" | grep -a "^CASE $c: " | tail -n1)
    echo "${line:-CASE $c: MISSING (no result line)}"
    case "$line" in "CASE $c: PASS"*) ;; *) ok=1 ;; esac
  done
  return $ok
}

rc=0
boot 1
check "$OUT/serial-boot1.log" $BOOT1_CASES || rc=1
boot 2
check "$OUT/serial-boot2.log" $BOOT2_CASES || rc=1
t3=$(date +%s)
echo "run.sh: package $((t1 - t0)) s, image $((t2 - t1)) s, boots $((t3 - t2)) s, total $((t3 - t0)) s"
if [ $rc -ne 0 ]; then
  for n in 1 2; do
    echo "===== serial log of boot $n ($OUT/serial-boot$n.log)"
    tr -d '\r' < "$OUT/serial-boot$n.log" 2>/dev/null || true
  done
  echo "run.sh: system tests FAILED"
else
  echo "run.sh: system tests passed"
fi
exit $rc
