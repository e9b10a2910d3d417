// binfmtctl's commands about binfmtd's state and configuration: status, list, show,
// enable, disable, reload, archs and plan. Each asks binfmtd through the client library,
// prints a table or JSON and returns the exit status (binfmtctl(1)).
#pragma once

#include "command_table.hpp"

namespace binfmtctl {

int runStatus(const Invocation& inv);
int runList(const Invocation& inv);
int runShow(const Invocation& inv);
int runEnable(const Invocation& inv);
int runDisable(const Invocation& inv);
int runReload(const Invocation& inv);
int runArchs(const Invocation& inv);
int runPlan(const Invocation& inv);

}  // namespace binfmtctl
