#!/bin/bash
# The tree keeps its layers (check_layers.sh), and the check is not vacuous: in a copy of
# the tree, each forbidden include it is meant to catch makes it fail.
set -u
here=$(dirname "$0")
src=$1
failures=0

if ! out=$("$here/check_layers.sh" "$src"); then
    echo "$out"
    echo "FAIL: the source tree breaks its layering"
    failures=$((failures + 1))
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree"
cp -a "$src/client" "$src/libbinfmtd-client" "$src/daemon" "$src/dbus" "$tmp/tree/"
# expect_caught FILE INCLUDE: with INCLUDE added to FILE, the check must fail.
expect_caught() {
    cp "$src/$1" "$tmp/tree/$1"
    printf '#include %s\n' "$2" >> "$tmp/tree/$1"
    local caught=0
    "$here/check_layers.sh" "$tmp/tree" > "$tmp/out" || caught=1
    cp "$src/$1" "$tmp/tree/$1"
    if [ "$caught" -eq 0 ]; then
        echo "FAIL: '#include $2' in $1 was not caught"
        failures=$((failures + 1))
    else
        echo "ok: '#include $2' in $1 is caught: $(head -1 "$tmp/out")"
    fi
}
expect_caught client/doctor_command.cpp '"config/config.hpp"'
expect_caught client/commands.cpp '"engine/engine.hpp"'
expect_caught client/main.cpp '"service/manager_object.hpp"'
expect_caught client/local_facts.cpp '"kernel/binfmt_fs.hpp"'
expect_caught client/commands.cpp '"binfmt1-proxy.hpp"'
expect_caught client/doctor_command.cpp '"no_bus_status.hpp"'
expect_caught client/main.cpp '"daemon/no_bus_frontend.hpp"'
expect_caught client/monitor_command.cpp '"../daemon/engine/plan.hpp"'
expect_caught libbinfmtd-client/src/client.cpp '"kernel/entry.hpp"'
expect_caught libbinfmtd-client/src/client.cpp '"binfmt1-adaptor.hpp"'
expect_caught daemon/engine/engine.cpp '"binfmt1-adaptor.hpp"'
expect_caught daemon/config/loader.cpp '<sdbus-c++/sdbus-c++.h>'
expect_caught daemon/service/manager_object.cpp '"binfmt1-proxy.hpp"'
expect_caught dbus/names.hpp '"kernel/entry.hpp"'

[ "$failures" -eq 0 ]
