#!/bin/sh
# build-deb.sh OUTDIR: builds binfmtd_<version>_amd64.deb (and cockpit-binfmtd_<version>_all.deb)
# from this source tree with
# `dpkg-buildpackage -us -uc -b` and runs lintian on it. The build happens in a fresh
# copy of the tree, OUTDIR/src, because dpkg-buildpackage writes its results next to
# the source directory, and the copy leaves out the developer's build dirs. With ccache
# installed, meson uses it (cache: $BINFMTD_CCACHE, /var/cache/binfmtd-ccache); the copy's
# path stays the same from run to run, so that the cache hits.
# Needs (Debian 12, root or not): dpkg-dev debhelper lintian and the Build-Depends.
set -eu
OUT=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$OUT/src
rm -rf "$W"
mkdir -p "$W"
export CCACHE_DIR=${BINFMTD_CCACHE:-/var/cache/binfmtd-ccache}
version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
mkdir "$W/binfmtd-$version"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
  --exclude=./debian/binfmtd --exclude=./debian/cockpit-binfmtd --exclude=./debian/.debhelper --exclude=./debian/tmp -cf - . |
  tar -C "$W/binfmtd-$version" -xf -
start=$(date +%s)
(cd "$W/binfmtd-$version" && DEB_BUILD_OPTIONS="noddebs ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$OUT/dpkg-buildpackage.log" 2>&1 || {
  tail -n 60 "$OUT/dpkg-buildpackage.log"
  echo "build-deb: dpkg-buildpackage failed (log: $OUT/dpkg-buildpackage.log)" >&2
  exit 1
}
echo "build-deb: dpkg-buildpackage took $(($(date +%s) - start)) s"
rm -f "$OUT"/binfmtd_*.deb "$OUT"/cockpit-binfmtd_*.deb
cp "$W"/binfmtd_*.deb "$W"/cockpit-binfmtd_*.deb "$OUT/"
rm -rf "$W"
deb=$(ls "$OUT"/binfmtd_*.deb)
echo "build-deb: $deb"
# Every man page the unit's Documentation= names is in the package (the test VM has
# no man pages, so systemd-analyze verify cannot check them there).
contents=$(dpkg-deb -c "$deb")
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/binfmtd.service)
for page in $(echo "$unit" | sed -n 's/^Documentation=//p' | tr ' ' '\n' | sed -n 's/^man:\(.*\)(\(.*\))$/\1.\2/p'); do
  echo "$contents" | grep -q "/usr/share/man/man${page##*.}/$page.gz\$" ||
    { echo "build-deb: binfmtd.service names $page, which the package lacks" >&2; exit 1; }
done
# lintian: an error fails; debian/binfmtd.lintian-overrides says why the probes are exempt.
lintian --fail-on error --info --display-info "$deb" "$OUT"/cockpit-binfmtd_*.deb 2>&1 | grep -v '^running with root' |
  tee "$OUT/lintian.log"
[ -z "$(grep '^E:' "$OUT/lintian.log")" ] || { echo "build-deb: lintian errors" >&2; exit 1; }
