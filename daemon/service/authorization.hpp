// Who may change things. Reads are open to all; mutating calls are checked here, in one
// place: root always, anyone else as polkit decides (action org.binfmtd.manage), and
// only root when polkit is not running. polkit is asked without blocking the event loop,
// since an interactive check lasts as long as the user takes to type a password.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "log.hpp"

namespace binfmtd::service {

struct Caller {
  uid_t uid = static_cast<uid_t>(-1);
  pid_t pid = 0;
  std::string sender;        // unique bus name: the subject polkit is asked about
  std::string command;       // /proc/PID/comm, for the log
  bool interactive = false;  // the call allows interactive authorization (a password prompt)
};

/// The credentials of the caller of the message being processed, as the bus reports them,
/// and whether the message has the ALLOW_INTERACTIVE_AUTHORIZATION flag.
Caller callerOf(const sdbus::Message& message);

/// "uid 1000 (pid 42, binfmtctl)", for log messages.
std::string describe(const Caller& caller);

/// Logs a message about a caller's request, with CALLER_UID, CALLER_PID and CALLER_COMM.
void logRequest(log::Level level, const std::string& message, const Caller& caller);

class Authority {
 public:
  /// Called exactly once: with nullptr when the caller may go ahead, otherwise with the
  /// error to reply with (org.binfmtd.Binfmt1.Error.AccessDenied and a sentence).
  using Verdict = std::function<void(const sdbus::Error* refusal)>;

  explicit Authority(sdbus::IConnection& bus);

  /// Decides whether `caller` may perform the polkit `action`; `what` names the request
  /// in the log ("enable arm64"), where every refusal is recorded. Root gets its verdict
  /// before this returns; anyone else when polkit answers, from the event loop.
  void authorize(const Caller& caller, const std::string& action, const std::string& what,
                 Verdict verdict);

 private:
  std::unique_ptr<sdbus::IProxy> polkit_;
  std::map<std::string, unsigned> pending_;  // checks waiting for polkit, per sender
  unsigned pendingTotal_ = 0;
};

}  // namespace binfmtd::service
