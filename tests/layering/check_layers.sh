#!/bin/bash
# The layering rules of docs/DESIGN (data flows down; nothing below includes what is above),
# checked on the #include lines of a source tree: check_layers.sh ROOT. Prints every
# violation as FILE:LINE: what it includes and why it may not, and exits 1 if there is any.
#   - binfmtctl (client/) reaches binfmtd only through libbinfmtd-client: it includes neither
#     the daemon's service, engine, config or verify layers, nor the kernel table (only the
#     pure model: the kernel entry format, the catalogue, util), nor generated D-Bus code,
#     nor the reader of a bus-less binfmtd's status file (the client library has it).
#   - libbinfmtd-client includes only itself, the contract (dbus/, with the status file of
#     binfmtd --no-bus) and the generated proxy.
#   - The daemon's core (kernel, catalog, config, engine, util, verify) includes no D-Bus
#     code: neither generated code nor sdbus-c++ nor the client library.
#   - The service includes the adaptor, never the proxy or the client library.
#   - The contract (dbus/*.hpp) includes nothing of the project but itself.
set -u
root=${1:?usage: check_layers.sh ROOT}
cd "$root" || exit 2
violations=0

# check DIR WHY PATTERN: every #include in DIR whose target matches the extended regular
# expression PATTERN is a violation.
check() {
    local dir=$1 why=$2 pattern=$3
    [ -d "$dir" ] || return 0
    while IFS= read -r hit; do
        [ -n "$hit" ] || continue
        echo "$hit: $why"
        violations=$((violations + 1))
    done < <(grep -rnE --include='*.cpp' --include='*.hpp' '^[[:space:]]*#[[:space:]]*include' "$dir" |
             awk -F: -v p="$pattern" '{ line = $0; sub(/^[^:]*:[^:]*:/, "", line);
                  target = line; sub(/^[^"<]*["<]/, "", target); sub(/[">].*$/, "", target);
                  if (target ~ p) print $1 ":" $2 ": includes " target }')
}

daemon_layers='(^|/)(daemon/|service/|engine/|config/|verify/)|(^|/)kernel/binfmt_fs\.hpp$'
generated='binfmt1-(adaptor|proxy)\.hpp$'
check client "binfmtctl reaches binfmtd only through libbinfmtd-client" \
    "$daemon_layers|$generated|(^|/)no_bus_status\\.hpp$"
check libbinfmtd-client "the client library includes only itself, the contract and the proxy" \
    '^(\.\./|daemon/|client/|kernel/|catalog/|config/|engine/|service/|util/|verify/|interop/)|^(error|unique_fd|build_config)\.hpp$|binfmt1-adaptor\.hpp$'
for layer in kernel catalog config engine util verify; do
    check "daemon/$layer" "the daemon's core holds no D-Bus code" \
        "$generated|^sdbus-c\\+\\+/|binfmtd-client/|(^|/)service/"
done
check daemon/service "the service uses the adaptor, not the client side" 'binfmt1-proxy\.hpp$|binfmtd-client/'
check dbus "the contract includes nothing of the project but itself" \
    '^(\.\./|daemon/|client/|kernel/|catalog/|config/|engine/|service/|util/|verify/|binfmtd-client/)'

if [ "$violations" -gt 0 ]; then
    echo "$violations layering violation(s); see tests/layering/check_layers.sh for the rules"
    exit 1
fi
echo "layering: no violations"
