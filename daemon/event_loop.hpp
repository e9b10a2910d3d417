// The daemon's one loop: sd-event drives the D-Bus connection (when there is one: with
// --no-bus there is none), signals, inotify on the configuration directories and on
// binfmt_misc, the mount table and the check timer.
// Nothing runs in signal handlers; everything is an event source on this loop.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

namespace binfmtd {

class EventLoop {
 public:
  struct Callbacks {
    std::function<void()> reload;    // SIGHUP
    std::function<void()> configChanged;  // inotify, coalesced per loop iteration
    /// The kernel table may have changed (a write to binfmt_misc, a mount change) or a
    /// check is due (checkAt); debounced, so a burst of writes gives one call.
    std::function<void()> checkKernel;
  };

  explicit EventLoop(Callbacks callbacks);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Serves a D-Bus connection from this loop from now on; at most once. Without it the
  /// loop runs without D-Bus.
  void attachBus(sdbus::IConnection& bus);

  /// Watches a directory for added, changed, renamed and removed files. A directory
  /// that does not exist is skipped (logged).
  void watch(const std::filesystem::path& dir);

  /// Follows binfmt_misc at `dir`: every write to it (any program's, ours too) and every
  /// change of the mount table leads to checkKernel. After a mount change the watch is
  /// moved to whatever is mounted at `dir` then. Call once binfmt_misc is mounted.
  void watchKernel(const std::filesystem::path& dir);

  /// Calls checkKernel at `when` (CLOCK_MONOTONIC, microseconds), unless a check is
  /// already due earlier.
  void checkAt(std::uint64_t when);
  static std::uint64_t now();

  /// A counter that moves whenever binfmt_misc may have changed: a write to it, a mount
  /// change, or (when it cannot be watched) every call. It first collects the events the
  /// kernel has queued but the loop has not dispatched yet, so any change made before the
  /// call counts. Lets readers skip re-reading an unchanged table.
  std::uint64_t kernelGeneration();

  /// The sd-event loop, for sources of other parts (the probe runner).
  sd_event* event() const { return event_; }

  /// Runs until SIGTERM or SIGINT. Returns the exit code.
  int run();

 private:
  static int onBusIo(sd_event_source*, int, uint32_t, void* self);
  static int onBusTime(sd_event_source*, uint64_t, void* self);
  static int onBusPrepare(sd_event_source*, void* self);
  static int onSignal(sd_event_source*, const struct signalfd_siginfo* si, void* self);
  static int onInotify(sd_event_source*, const struct inotify_event*, void* self);
  static int onDeferred(sd_event_source*, void* self);
  static int onKernelWrite(sd_event_source*, int fd, uint32_t, void* self);
  static int onMountChange(sd_event_source*, int, uint32_t, void* self);
  static int onCheckTimer(sd_event_source*, uint64_t, void* self);
  void processBus();
  void rewatchKernel();
  void kernelChanged();
  static bool drain(int inotifyFd);

  sdbus::IConnection* bus_ = nullptr;
  Callbacks callbacks_;
  sd_event* event_ = nullptr;
  sd_event_source* busIo_ = nullptr;
  sd_event_source* busTime_ = nullptr;
  sd_event_source* deferred_ = nullptr;
  sd_event_source* checkTimer_ = nullptr;
  std::uint64_t checkDue_ = 0;  // 0 = no check scheduled
  std::filesystem::path kernelDir_;
  int kernelInotify_ = -1;
  int mountinfo_ = -1;
  bool kernelWatched_ = false;
  std::uint64_t kernelGeneration_ = 0;
  std::vector<sd_event_source*> sources_;
};

}  // namespace binfmtd
