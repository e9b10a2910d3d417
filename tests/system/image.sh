#!/bin/sh
# image.sh PACKAGES: prints the directory of a bootable Debian bookworm test image
# (vmlinuz, initrd.gz, rootfs.ext4) with systemd, dbus, polkitd, a test user and the
# comma-separated PACKAGES preinstalled, building it when the cache has none for this
# recipe. Cache: $BINFMTD_VM_CACHE (/var/cache/binfmtd-testvm)/<key>, where the key hashes
# this script, the package list and the kernel version. The image is never booted
# directly: run.sh puts a copy-on-write overlay over rootfs.ext4.
# Needs (Debian 12, root): mmdebstrap busybox-static cpio kmod e2fsprogs, network on a
# cache miss. See /work/shared/VM-TESTING.md for the measurements behind the choices.
set -eu
EXTRA=$1
CACHE=${BINFMTD_VM_CACHE:-/var/cache/binfmtd-testvm}
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb  *\([^ ]*\).*/\1/p' \
  /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null | head -n1)}
# Debian's cloud kernel: small, with ext4 built in; binfmt_misc and virtio are modules.
KPKG=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
[ -n "$KPKG" ] || { echo "image.sh: no linux-image-cloud-amd64 in the apt lists (apt-get update?)" >&2; exit 1; }
KVER=${KPKG#linux-image-}
KEY=$({ cat "$0"; echo "$EXTRA $KVER"; } | sha256sum | cut -c1-16)
IMG=$CACHE/$KEY
if [ -f "$IMG/done" ]; then
  echo "$IMG"
  exit 0
fi

# Everything below talks on stderr; stdout gets the image directory only.
exec 3>&1 1>&2
echo "image.sh: building the test image $KEY ($KVER, +$EXTRA) from $MIRROR" >&2
mkdir -p "$CACHE"
# Images of older recipes go: one at a time (about 0.7 GB).
for old in "$CACHE"/????????????????; do
  if [ -f "$old/vmlinuz" ] || [ -f "$old/done" ]; then rm -rf "$old"; fi
done
mkdir -p "$IMG"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
(cd "$W" && apt-get -o APT::Sandbox::User=root download -q "$KPKG" && dpkg-deb -x ./"$KPKG"_*.deb kpkg)
cp "$W/kpkg/boot/vmlinuz-$KVER" "$IMG/vmlinuz"

R=$W/rootfs
mmdebstrap --quiet --variant=minbase \
  --include="systemd,systemd-sysv,dbus,udev,kmod,polkitd,libpam-systemd,$EXTRA" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$R" "$MIRROR"

# binfmt_misc, autofs4 and virtio are modules in Debian's kernels.
mkdir -p "$R/lib/modules"
cp -a "$W/kpkg/lib/modules/$KVER" "$R/lib/modules/"
depmod -b "$R" "$KVER"
echo binfmtd-test > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 binfmtd-test\n' > "$R/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$R/etc/fstab"
# The desktop user of the polkit cases.
chroot "$R" useradd --create-home --uid 1000 --shell /bin/sh desk
# Nothing but binfmtd registers arm64, so the arm64 cases show binfmtd's work; the other
# 28 qemu-user-static entries stay, and systemd-binfmt still runs at boot.
mkdir -p "$R/etc/binfmt.d"
ln -sf /dev/null "$R/etc/binfmt.d/qemu-aarch64.conf"
# The test runner owns the serial console; timers would only slow the VM down.
for u in serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
         e2scrub_all.timer fstrim.timer e2scrub_reap.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# The runner: waits for the boot to finish, unpacks the payload disk (/dev/vdb, a tar
# file), runs /ci/test.sh, prints the result marker on the serial console, powers off.
cat > "$R/usr/local/sbin/ci-test-runner" <<'EOS'
#!/bin/sh
exec </dev/null
echo "CI-RUNNER: started at uptime $(cut -d' ' -f1 /proc/uptime)"
state=$(timeout 120 systemctl is-system-running --wait)
echo "CI-RUNNER: system state after boot: $state (uptime $(cut -d' ' -f1 /proc/uptime))"
rc=99
rm -rf /ci
mkdir -p /ci
if tar -xf /dev/vdb -C /ci; then
  (cd /ci && timeout 600 ./test.sh)
  rc=$?
else
  echo "CI-RUNNER: no payload on /dev/vdb"
fi
echo "CI-RESULT rc=$rc"
sync
systemctl poweroff --no-block
EOS
chmod +x "$R/usr/local/sbin/ci-test-runner"
# Not Type=oneshot: a oneshot start job would keep is-system-running --wait waiting.
cat > "$R/etc/systemd/system/ci-test.service" <<'EOS'
[Unit]
Description=CI test runner
After=multi-user.target
ConditionPathExists=/dev/vdb

[Service]
Type=simple
ExecStart=/usr/local/sbin/ci-test-runner
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
EOS
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/ci-test.service "$R/etc/systemd/system/multi-user.target.wants/"
rm -rf "$R/var/cache/apt/archives/"*.deb

# A busybox initramfs: loads virtio (in this order: each needs the one before), mounts
# /dev/vda and hands over to systemd.
I=$W/initrd
mkdir -p "$I/bin" "$I/proc" "$I/sys" "$I/dev" "$I/newroot" "$I/mod"
cp /bin/busybox "$I/bin/busybox"
M=$W/kpkg/lib/modules/$KVER/kernel
for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev \
         virtio/virtio_pci_modern_dev virtio/virtio_pci; do
  cp "$M/drivers/$m.ko" "$I/mod/"
done
cp "$M/drivers/block/virtio_blk.ko" "$I/mod/"
cat > "$I/init" <<'EOS'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  $B insmod /mod/$m.ko
done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do $B usleep 50000; i=$((i+1)); done
$B mount -t ext4 -o rw /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; $B poweroff -f; }
$B umount /proc /sys
$B mount --move /dev /newroot/dev 2>/dev/null || $B umount /dev
exec $B switch_root /newroot /sbin/init "$@"
EOS
chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$IMG/initrd.gz"
mkfs.ext4 -q -F -L root -d "$R" "$IMG/rootfs.ext4" 3G
touch "$IMG/done"
echo "$IMG" >&3
