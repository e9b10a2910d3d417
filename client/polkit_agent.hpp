// A polkit authentication agent on binfmtctl's terminal while a change is being
// authorized, so that polkit can ask for a password outside a desktop session: what
// systemctl and hostnamectl do. pkttyagent --fallback steps aside when the session has an
// agent of its own (a desktop's).
#pragma once

#include <sys/types.h>

namespace binfmtctl {

class PolkitAgent {
 public:
  /// Starts pkttyagent and waits until it is registered; does nothing when standard
  /// input is not a terminal or pkttyagent is not installed.
  PolkitAgent();
  ~PolkitAgent();
  PolkitAgent(const PolkitAgent&) = delete;
  PolkitAgent& operator=(const PolkitAgent&) = delete;

 private:
  pid_t pid_ = -1;
};

}  // namespace binfmtctl
