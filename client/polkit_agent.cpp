#include "polkit_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace binfmtctl {

namespace {
constexpr const char* kAgent = "/usr/bin/pkttyagent";
}

PolkitAgent::PolkitAgent() {
  if (isatty(STDIN_FILENO) == 0 || access(kAgent, X_OK) != 0) return;
  int notify[2];
  if (pipe2(notify, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // The agent closes --notify-fd once it has registered with polkit (or given up).
    const int fd = dup(notify[1]);  // without O_CLOEXEC, so that it survives exec
    const std::string fdArg = std::to_string(fd);
    execl(kAgent, kAgent, "--notify-fd", fdArg.c_str(), "--fallback", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(notify[1]);
  if (pid_ > 0) {
    struct pollfd p = {notify[0], POLLIN, 0};
    char c;
    while (poll(&p, 1, 10000) > 0 && read(notify[0], &c, 1) > 0) {
    }
  }
  close(notify[0]);
}

PolkitAgent::~PolkitAgent() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

}  // namespace binfmtctl
