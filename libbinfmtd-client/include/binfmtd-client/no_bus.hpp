// binfmtd-client: a binfmtd that runs without D-Bus (`binfmtd --no-bus`: containers,
// Kubernetes nodes, hosts and WSL distributions without a system bus). Nobody can call it,
// but it writes what it would serve on D-Bus into its status file (the contract's
// no_bus_status.hpp), which it holds locked while it runs. When binfmtd cannot be reached
// on the bus, the client looks for that file, and its Error says that binfmtd runs without
// D-Bus (ErrorKind::NoBusDaemon, error.hpp); a program may also read the file itself here.
// The status comes as the same records as over D-Bus (Manager, Handler), decoded leniently:
// a field the file lacks keeps its default.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binfmtd-client/records.hpp"

namespace binfmtd::client {

/// The status of a running `binfmtd --no-bus`.
struct NoBusDaemon {
  std::int64_t pid = 0;                 // in the daemon's PID namespace
  std::uint64_t started = 0;            // CLOCK_REALTIME, microseconds
  std::uint64_t updated = 0;            // rewritten at least every 10 s while its loop runs
  std::vector<std::string> configDirs;  // administrator's, runtime, vendor
  std::string stateDir;
  /// What the Manager object would say: version, binfmt_misc, configuration, last reconcile.
  Manager manager;
  /// Its handlers, owned and foreign, with the properties the file holds (no object paths,
  /// no magic or mask), in the order of the file.
  std::vector<Handler> handlers;
  /// The file as binfmtd wrote it (JSON), also with fields newer than this library.
  std::string document;

  /// The handler `name`, or null.
  const Handler* handler(const std::string& name) const;
  /// How many of its own handlers are registered and enabled.
  unsigned ownRegistered() const;
  /// Where the administrator edits its configuration: the first of configDirs, else
  /// /etc/binfmtd.
  std::string adminConfigDir() const;
  /// Its status file (STATE_DIR/no-bus.json).
  std::string statusFile() const;
  /// One phrase: "binfmtd runs without D-Bus (binfmtd --no-bus, pid 812): last reconcile
  /// ok, 2 handler(s) of its own registered" (and ", N configuration error(s)").
  std::string summary() const;
};

/// Where binfmtd's status file is looked for: $BINFMTD_STATE_DIR when set, else
/// /run/binfmtd (binfmtctl(1), ENVIRONMENT).
std::filesystem::path stateDirectory();

/// The bus-less binfmtd whose state directory is `stateDir`, when one runs (it holds the
/// lock on its status file); nullopt when none does (no file, or one left by a daemon
/// that died).
std::optional<NoBusDaemon> findNoBusDaemon(
    const std::filesystem::path& stateDir = stateDirectory());

/// The one decode of a status file's text; nullopt when it is not a JSON object.
std::optional<NoBusDaemon> decodeNoBusDaemon(std::string_view text);

}  // namespace binfmtd::client
