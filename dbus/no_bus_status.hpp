// The status file of a bus-less binfmtd (`binfmtd --no-bus`): STATE_DIR/no-bus.json, the
// part of the contract that needs no bus. Nobody can ask such a daemon anything, so it
// writes what it would answer on D-Bus into this file (daemon/no_bus_frontend.cpp) and
// keeps a lock on it while it runs: the client library (libbinfmtd-client, no_bus.hpp)
// decodes it, so that binfmtctl and desktop programs say that the daemon runs without
// D-Bus, and a container's health check reads whether it is ready. The lock (an open
// file description lock) works across PID namespaces, so a file left by a daemon that
// died is never mistaken for a running one. Nothing of the daemon or the client here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace binfmtd::nobus {

inline constexpr const char* kFileName = "no-bus.json";

/// The bus-less daemon rewrites the file at least this often (its "updated" field), so
/// that a reader can tell a daemon whose loop hangs from one that merely has no news.
inline constexpr std::uint64_t kHeartbeatUsec = 10'000'000;

/// Whether a process holds the lock on the status file `file`.
bool locked(const std::filesystem::path& file);

/// The document of the bus-less daemon whose state directory is `stateDir`, when one is
/// running (holds the lock); nullopt when none is (no file, or one left by a daemon that
/// died). A file being rewritten is read again.
std::optional<nlohmann::json> readRunning(const std::filesystem::path& stateDir);

/// Now, CLOCK_REALTIME in microseconds: the clock of "started" and "updated".
std::uint64_t realtimeUsec();

}  // namespace binfmtd::nobus
