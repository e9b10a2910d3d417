#!/bin/sh
# Installs everything binfmtd needs to build, test and run its demo, from Debian's
# archive, and fetches the foreign test binary (busybox-static for arm64). Idempotent:
# it installs only what is missing. Run as root.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/setup.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

PACKAGES="meson ninja-build g++ pkg-config libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev
  nlohmann-json3-dev catch2 dbus-daemon systemd util-linux qemu-user-static scdoc polkitd
  clang-14 libclang-rt-14-dev bash-completion zsh fish man-db
  debhelper dpkg-dev lintian ccache qemu-system-x86 qemu-utils mmdebstrap busybox-static cpio kmod
  e2fsprogs"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "Installing:$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends $missing
fi

# An arm64 binary to run under emulation: Debian's static busybox. A private apt state
# for arm64 leaves the machine's dpkg architectures and package lists untouched.
CACHE=${BINFMTD_FOREIGN_BINARIES:-/var/cache/binfmtd-tests}
if [ ! -s "$CACHE/busybox-arm64" ]; then
  mkdir -p "$CACHE/lists-arm64/partial" "$CACHE/debs"
  apt_arm64="-q -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::Lists=$CACHE/lists-arm64"
  apt-get $apt_arm64 update
  (cd "$CACHE/debs" && apt-get $apt_arm64 download busybox-static)
  rm -rf "$CACHE/extract"
  dpkg-deb -x "$CACHE"/debs/busybox-static_*_arm64.deb "$CACHE/extract"
  cp "$CACHE/extract/bin/busybox" "$CACHE/busybox-arm64.new"
  mv "$CACHE/busybox-arm64.new" "$CACHE/busybox-arm64"
  rm -rf "$CACHE/extract" "$CACHE/lists-arm64"
fi
echo "Setup done: build dependencies installed, arm64 test binary in $CACHE/busybox-arm64."
