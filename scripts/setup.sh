#!/bin/sh
# Installs everything binfmtd needs to build, test and run its demo, from Debian's
# archive (with cockpit-ws, cockpit-bridge and chromium for the Cockpit page test, and its
# puppeteer-core from npm), and fetches the foreign test binaries (busybox-static for arm64,
# armhf, ppc64el, s390x). Idempotent:
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
  e2fsprogs libglib2.0-dev cockpit-bridge cockpit-ws chromium podman crun zstd"
# The Cockpit page's browser test (puppeteer-core) and the container stage's Kubernetes
# validator come from npm: node and npm from Debian unless the machine has them already
# (another packaging of node).
{ command -v node && command -v npm; } >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

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

# Foreign binaries to run under emulation: Debian's static busybox for each architecture
# the check tests use (riscv64 is not a bookworm architecture: the tests use the project's
# riscv64 probe instead). A private apt state per architecture leaves the machine's dpkg
# architectures and package lists untouched; a binary already fetched is kept.
CACHE=${BINFMTD_FOREIGN_BINARIES:-/var/cache/binfmtd-tests}
for arch in arm64 armhf ppc64el s390x; do
  [ -s "$CACHE/busybox-$arch" ] && continue
  mkdir -p "$CACHE/lists-$arch/partial" "$CACHE/debs"
  apt_arch="-q -o APT::Architecture=$arch -o APT::Architectures=$arch -o Dir::State::Lists=$CACHE/lists-$arch"
  # A failed index elsewhere (a mirror sync of -security) does not matter: the download
  # below fails by itself if main's list is missing.
  apt-get $apt_arch update || echo "setup.sh: some $arch package lists failed; trying anyway" >&2
  (cd "$CACHE/debs" && apt-get $apt_arch download busybox-static)
  rm -rf "$CACHE/extract"
  dpkg-deb -x "$CACHE"/debs/busybox-static_*_"$arch".deb "$CACHE/extract"
  cp "$CACHE/extract/bin/busybox" "$CACHE/busybox-$arch.new"
  mv "$CACHE/busybox-$arch.new" "$CACHE/busybox-$arch"
  rm -rf "$CACHE/extract" "$CACHE/lists-$arch"
done

# puppeteer-core for tests/cockpit, at the versions tests/cockpit/package-lock.json pins
# (npm ci checks every package's integrity hash), in $CACHE/node/node_modules; installed
# again only when the lock file changes.
NODE_DIR=$CACHE/node
NODE_SPEC=$(cd "$(dirname "$0")/../tests/cockpit" && pwd)
if ! cmp -s "$NODE_SPEC/package-lock.json" "$NODE_DIR/package-lock.json" ||
   [ ! -d "$NODE_DIR/node_modules/puppeteer-core" ]; then
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp "$NODE_SPEC/package.json" "$NODE_SPEC/package-lock.json" "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "Setup done: build dependencies installed, foreign test binaries in $CACHE (busybox-ARCH), puppeteer-core in $NODE_DIR."
