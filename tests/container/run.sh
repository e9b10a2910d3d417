#!/bin/sh
# tests/container/run.sh [BUILD_DIR]: the container stage of scripts/test.sh.
#  - the Kubernetes manifest (deploy/kubernetes) validated against the Kubernetes API
#    schema (kubernetes-models from npm, cached);
#  - the Debian part of the container image made and cached (deploy/container/build.sh);
#  - then, in a sandbox with a private binfmt_misc instance (scenario.sh): Debian's podman
#    and crun run an arm64 busybox image through binfmtd on a private bus, the image is
#    built and run in both its modes, and the DaemonSet's pod runs under podman kube play.
# Needs root and what scripts/setup.sh installs (podman, crun, mmdebstrap, zstd, node).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
CACHE=${CACHE_DIR:-/var/cache/binfmtd-container}
export CACHE_DIR=$CACHE
W=$(mktemp -d /tmp/binfmtd-container-XXXXXX)
trap 'rm -rf "$W"' EXIT

# 1. The manifest against the API schema: a real validator, not a reading by hand.
start=$(date +%s)
NPM=$CACHE/npm-$(sha256sum "$SRC/deploy/kubernetes/package.json" | cut -c1-12)
if [ ! -d "$NPM/node_modules/kubernetes-models" ]; then
  mkdir -p "$NPM"
  cp "$SRC/deploy/kubernetes/package.json" "$NPM/"
  (cd "$NPM" && npm install --no-audit --no-fund --silent)
fi
cp "$SRC/deploy/kubernetes/validate.mjs" "$SRC/tests/container/daemonset-to-pod.mjs" "$NPM/"
node "$NPM/validate.mjs" "$SRC/deploy/kubernetes/binfmtd.yaml"
# The validator must reject what the API would: a DaemonSet without containers.
sed 's/^      containers:/      containerz:/' "$SRC/deploy/kubernetes/binfmtd.yaml" > "$W/broken.yaml"
if node "$NPM/validate.mjs" "$W/broken.yaml" >/dev/null 2>&1; then
  echo "FAIL: the validator accepted a DaemonSet without containers" >&2
  exit 1
fi
echo "container: manifest validated in $(($(date +%s) - start)) s"

# 2. The Debian part of the image, as real root (mmdebstrap cannot make it in the sandbox).
start=$(date +%s)
DEBIAN_ONLY=1 "$SRC/deploy/container/build.sh" "$BUILD"
echo "container: Debian part ready in $(($(date +%s) - start)) s"

# 3. Everything else in the sandbox.
"$BUILD/tests/private-binfmt" --dir /proc/sys/fs/binfmt_misc --all-but-one -- \
  env NPM_DIR="$NPM" sh "$SRC/tests/container/scenario.sh" "$SRC" "$BUILD" "$W"
