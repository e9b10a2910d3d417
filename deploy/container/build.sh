#!/bin/sh
# deploy/container/build.sh [BUILD_DIR]
#
# Builds the binfmtd container image from this tree with Debian's tools only (mmdebstrap,
# podman; no registry): the libraries binfmtd needs and the QEMU emulators of Debian's
# qemu-user-static, plus binfmtd, binfmtctl, binfmtd-container (the entry point) and the
# probe programs from BUILD_DIR (default: build, a finished meson build of this tree).
# The result goes into podman's local store as $IMAGE and into the OCI archive $ARCHIVE.
#
# Environment:
#   IMAGE      image name [localhost/binfmtd:latest]
#   ARCHIVE    OCI archive to write [BUILD_DIR/binfmtd-image.oci.tar]; "" for none
#   EMULATORS  "oci" (the emulators of every OCI platform but the host's own: aarch64,
#              arm, riscv64, ppc64, ppc64le, s390x, mips*, loongarch64), "all" (the whole
#              qemu-user-static package), or a comma-separated list of QEMU names [oci]
#   CACHE_DIR  where the Debian part is cached [/var/cache/binfmtd-container]
#   MIRROR     Debian mirror [the first one in the apt sources]
#
# The Debian part (mmdebstrap --variant=extract of the libraries and qemu-user-static) is
# cached, keyed by this script and the versions of those packages, as the VM image of
# tests/system is; binfmtd's own files are added fresh each time. Needs root (mmdebstrap
# and podman), and the packages mmdebstrap, podman, crun and zstd.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
IMAGE=${IMAGE:-localhost/binfmtd:latest}
ARCHIVE=${ARCHIVE-$BUILD/binfmtd-image.oci.tar}
EMULATORS=${EMULATORS:-oci}
CACHE=${CACHE_DIR:-/var/cache/binfmtd-container}
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb  *\([^ ]*\).*/\1/p' \
  /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null | head -n1)}

for tool in mmdebstrap podman zstd; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build.sh: $tool is missing: apt-get install mmdebstrap podman crun zstd" >&2
    exit 1
  }
done
[ -x "$BUILD/daemon/binfmtd" ] && [ -x "$BUILD/deploy/container/binfmtd-container" ] || {
  echo "build.sh: $BUILD is not a finished build of binfmtd: meson setup build && meson compile -C build" >&2
  exit 1
}

# What the image runs: binfmtd (libsdbus-c++, libsystemd), binfmtctl, and the emulators.
PACKAGES=libc6,libgcc-s1,libstdc++6,libsdbus-c++1,libsystemd0,qemu-user-static
case $(uname -m) in
  x86_64) HOST_QEMU="x86_64 i386" ;;
  aarch64) HOST_QEMU="aarch64 arm" ;;
  *) HOST_QEMU=$(uname -m) ;;
esac
if [ "$EMULATORS" = oci ]; then
  KEEP="aarch64 arm riscv64 ppc64 ppc64le s390x mips mipsel mips64 mips64el loongarch64 x86_64 i386"
  for h in $HOST_QEMU; do KEEP=$(echo " $KEEP " | sed "s/ $h / /"); done
elif [ "$EMULATORS" = all ]; then
  KEEP=""
else
  KEEP=$(echo "$EMULATORS" | tr ',' ' ')
fi

# Cache key: this script (it holds the recipe) and the package versions apt would take.
VERSIONS=$(apt-cache policy $(echo "$PACKAGES" | tr ',' ' ') 2>/dev/null | sed -n 's/^ *Candidate: //p' | tr '\n' ' ')
KEY=$( { cat "$0"; echo "$VERSIONS"; } | sha256sum | cut -c1-16)
BASE=$CACHE/debian-$KEY.tar.zst

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ ! -f "$BASE" ]; then
  echo "build.sh: Debian part not cached: mmdebstrap ($PACKAGES)"
  # extract: the packages and their dependencies, unpacked without maintainer scripts;
  # nothing here needs them (libraries, static emulators), and the image has no dpkg.
  mmdebstrap --quiet --variant=extract --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    bookworm "$W/debian" "$MIRROR"
  mkdir -p "$CACHE"
  # Without device nodes: the container engine makes them (and a user namespace cannot).
  tar -C "$W/debian" --exclude=./dev -cf - . | zstd -q -T0 -3 -o "$BASE.tmp" -f
  mv "$BASE.tmp" "$BASE"
  find "$CACHE" -maxdepth 1 -name 'debian-*.tar.zst' ! -name "debian-$KEY.tar.zst" -delete
  rm -rf "$W/debian"
fi
# DEBIAN_ONLY=1: only make sure the Debian part is cached (tests/container/run.sh does this
# as real root before it builds the image in its sandbox, where mmdebstrap cannot run).
[ -z "${DEBIAN_ONLY:-}" ] || exit 0

R=$W/rootfs
mkdir -p "$R"
zstd -q -dc "$BASE" | tar -C "$R" -xf -
# What none of the image's programs reads: documentation, locales, iconv modules,
# dpkg's and apt's bookkeeping of an extraction.
rm -rf "$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/locale" "$R/usr/share/lintian" \
  "$R/usr/lib/$(uname -m)-linux-gnu/gconv" "$R/var/cache/apt" "$R/var/lib/apt" "$R/etc/apt" \
  "$R/var/log/apt" "$R/dev"
mkdir -p "$R/dev" "$R/proc" "$R/sys"
if [ -n "$KEEP" ]; then
  for f in "$R"/usr/bin/qemu-*-static; do
    q=${f##*/qemu-}
    q=${q%-static}
    case " $KEEP " in
      *" $q "*) ;;
      *) rm -f "$f" "$R/usr/libexec/qemu-binfmt/$q-binfmt-P" ;;
    esac
  done
fi

# binfmtd's files, installed (stripped) as meson installs them (the same prefix and paths the build
# was configured with), of which the image keeps the programs and the probes.
meson install -C "$BUILD" --no-rebuild --quiet --strip --destdir "$W/install" >/dev/null
for d in sbin bin libexec/binfmtd; do
  find "$W/install" -path "*/$d" -type d | while read -r dir; do
    rel=${dir#"$W/install"}
    mkdir -p "$R$rel"
    cp -a "$dir/." "$R$rel/"
  done
done
BINDIR=$(find "$W/install" -path "*/bin/binfmtctl" -type f | sed "s|^$W/install||; s|/binfmtctl$||")
install -m 0755 "$BUILD/deploy/container/binfmtd-container" "$R$BINDIR/binfmtd-container"
mkdir -p "$R/etc/binfmtd/conf.d" "$R/run/binfmtd" "$R/tmp"
chmod 1777 "$R/tmp"
VERSION=$("$BUILD/daemon/binfmtd" --version | cut -d' ' -f2)

tar -C "$R" --numeric-owner --owner=0 --group=0 -cf "$W/rootfs.tar" .
echo "build.sh: importing $IMAGE"
podman import --quiet \
  --change "ENTRYPOINT [\"$BINDIR/binfmtd-container\"]" \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "LABEL org.opencontainers.image.title=binfmtd" \
  --change "LABEL org.opencontainers.image.version=$VERSION" \
  --change "LABEL org.opencontainers.image.description=binfmtd with Debian's qemu-user-static: one-shot (tonistiigi/binfmt's flags) or daemon" \
  "$W/rootfs.tar" "$IMAGE" >/dev/null
if [ -n "$ARCHIVE" ]; then
  rm -f "$ARCHIVE"
  podman save --quiet --format oci-archive -o "$ARCHIVE" "$IMAGE"
fi

# Sizes: as stored (uncompressed layer), and gzip'd as a registry would serve the layer.
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
GZ=$(gzip -6 -c "$W/rootfs.tar" | wc -c)
echo "build.sh: $IMAGE: $((SIZE / 1000000)) MB uncompressed, $((GZ / 1000000)) MB gzip'd layer (emulators: $EMULATORS)"
[ -z "$ARCHIVE" ] || echo "build.sh: OCI archive $ARCHIVE ($(($(wc -c <"$ARCHIVE") / 1000000)) MB)"
