// Running short-lived programs (probes, `qemu-* --version`) from the daemon's sd-event
// loop without ever blocking it: posix_spawn, then the exit is reaped by an sd-event
// child source and a timer kills whatever outlives its timeout. The caller must have
// blocked SIGCHLD in every thread before any was created (sd_event_add_child needs it).
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "verify/verdict.hpp"

namespace binfmtd::verify {

class Spawner {
 public:
  struct Request {
    std::vector<std::string> argv;  // argv[0] is the file executed, as given
    std::uint64_t timeout = kProbeTimeout;
    bool captureStdout = false;     // otherwise stdout goes to /dev/null
  };
  struct Result {
    Outcome outcome;
    std::string stdoutText;  // the beginning of it, when captured
  };
  using Done = std::function<void(const Result&)>;

  /// At most `maxRunning` children at once; the others wait their turn (a Verify of every
  /// architecture must not start thirty emulators on a small machine).
  explicit Spawner(sd_event* event, unsigned maxRunning = 4);
  /// Kills (SIGKILL, whole process group) what still runs; no callback is called.
  ~Spawner();
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  /// Runs a program with an empty environment, stdin from /dev/null, no other open file
  /// descriptors, default signal dispositions and mask, in a process group of its own.
  /// `done` is called from the event loop when it has ended (never from within run()).
  void run(Request request, Done done);

  /// Children started since construction: the log counts them.
  unsigned started() const { return started_; }

 private:
  struct Child;
  void startQueued();
  void start(Request request, Done done);
  void finish(Child* child, Outcome outcome);
  static int onExit(sd_event_source*, const siginfo_t* si, void* data);
  static int onTimeout(sd_event_source*, uint64_t, void* data);
  static int onSpawnFailed(sd_event_source*, void* data);

  sd_event* event_;
  unsigned maxRunning_;
  unsigned started_ = 0;
  std::deque<std::pair<Request, Done>> queue_;
  std::map<Child*, std::unique_ptr<Child>> running_;
};

}  // namespace binfmtd::verify
