// Who may change things. Reads are open to all; mutating calls are checked here, in one
// place, so that polkit can be added without touching the methods.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <string>

namespace binfmtd::service {

struct Caller {
  uid_t uid = static_cast<uid_t>(-1);
  pid_t pid = 0;
  std::string sender;  // unique bus name
  std::string command; // /proc/PID/comm, for the log
};

/// The credentials of the caller of the message being processed, as the bus reports them.
Caller callerOf(const sdbus::Message& message);

/// Throws sdbus::Error org.binfmtd.Binfmt1.Error.AccessDenied unless the caller may
/// perform `action` (a polkit action id). Today: uid 0 only.
void authorize(const Caller& caller, const std::string& action);

}  // namespace binfmtd::service
