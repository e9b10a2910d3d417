// binfmtctl doctor: the whole environment in one report. Local facts (local_facts.hpp)
// plus what binfmtd reports over D-Bus, the architectures' four stages (registered,
// enabled, interpreter present, actually executes), and the fix for the first problem.
#pragma once

#include "command_table.hpp"

namespace binfmtctl {

/// Runs doctor; connects to the system bus itself and still reports when it cannot.
/// Exit status: 0 all configured works, 1 a problem was found, 3 binfmtd not running.
int runDoctor(const Invocation& inv);

}  // namespace binfmtctl
