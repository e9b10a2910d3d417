#include "service/authorization.hpp"

#include <fstream>

#include "errors.hpp"
#include "log.hpp"

namespace binfmtd::service {

Caller callerOf(const sdbus::Message& message) {
  Caller c;
  c.sender = message.getSender();
  c.uid = message.getCredsUid();
  c.pid = message.getCredsPid();
  std::ifstream comm("/proc/" + std::to_string(c.pid) + "/comm");
  std::getline(comm, c.command);
  return c;
}

void authorize(const Caller& caller, const std::string& action) {
  if (caller.uid == 0) return;
  log::notice("Refused " + action + " for uid " + std::to_string(caller.uid) + " (pid " +
                  std::to_string(caller.pid) + ", " + caller.command + "): not root",
              {{"CALLER_UID", std::to_string(caller.uid)},
               {"CALLER_PID", std::to_string(caller.pid)}});
  throw sdbus::Error(std::string(kErrorPrefix) + "AccessDenied",
                     "Changing binfmt_misc handlers requires root; run the command with sudo");
}

}  // namespace binfmtd::service
