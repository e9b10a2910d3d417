// binfmtctl's commands. Each talks to binfmtd over D-Bus only, prints a table or JSON,
// and returns the exit code.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <vector>

namespace binfmtctl {

struct Invocation {
  std::string command;
  std::vector<std::string> args;
  bool json = false;
  bool runtime = false;
  bool askPassword = true;  // changes may let polkit ask for a password (--no-ask-password)
};

/// Exit codes (binfmtctl(1)): 0 success; 1 failure; 2 usage; 3 binfmtd not reachable;
/// others from the error table in dbus/errors.hpp (4 access denied, 5 unknown name, ...).
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoDaemon = 3;

int runCommand(sdbus::IConnection& bus, const Invocation& inv);

/// Maps a D-Bus error from binfmtd (or the bus) to a sentence on stderr and an exit code.
int reportError(const sdbus::Error& e);

}  // namespace binfmtctl
