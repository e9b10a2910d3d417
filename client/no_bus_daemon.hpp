// A binfmtd that runs without D-Bus (`binfmtd --no-bus`: containers, hosts without a
// system bus) cannot be asked anything, but it says so in its status file: binfmtctl
// finds it there and tells the user plainly, instead of "binfmtd is not running".
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace binfmtctl {

/// The status of the bus-less binfmtd whose state directory is $BINFMTD_STATE_DIR (or
/// /run/binfmtd), when one runs; nullopt otherwise.
std::optional<nlohmann::json> findNoBusDaemon();

/// One line: "binfmtd runs without D-Bus (binfmtd --no-bus, pid 12): last reconcile ok,
/// 2 handler(s) registered".
std::string describeNoBusDaemon(const nlohmann::json& status);

/// Prints why binfmtctl cannot reach the daemon, its state in short, and what the user
/// can do instead. Returns kExitNoDaemon.
int reportNoBusDaemon(const nlohmann::json& status);

}  // namespace binfmtctl
