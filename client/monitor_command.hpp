// binfmtctl monitor: binfmtd's changes as they happen, one line per D-Bus signal
// (handlers added, removed or changed, manager properties, repairs, binfmtd starting
// and stopping), as text or --json lines, until SIGINT or SIGTERM.
#pragma once

#include "command_table.hpp"

namespace binfmtctl {

/// Runs until interrupted; returns 0 then, or the error's exit code.
int runMonitor(const Invocation& inv);

}  // namespace binfmtctl
