// The daemon's one loop: sd-event drives the D-Bus connection, signals and inotify on
// the configuration directories. Nothing runs in signal handlers; everything is an
// event source on this loop.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-event.h>

#include <filesystem>
#include <functional>
#include <vector>

namespace binfmtd {

class EventLoop {
 public:
  struct Callbacks {
    std::function<void()> reload;    // SIGHUP
    std::function<void()> configChanged;  // inotify, coalesced per loop iteration
  };

  EventLoop(sdbus::IConnection& bus, Callbacks callbacks);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Watches a directory for added, changed, renamed and removed files. A directory
  /// that does not exist is skipped (logged).
  void watch(const std::filesystem::path& dir);

  /// Runs until SIGTERM or SIGINT. Returns the exit code.
  int run();

 private:
  static int onBusIo(sd_event_source*, int, uint32_t, void* self);
  static int onBusTime(sd_event_source*, uint64_t, void* self);
  static int onBusPrepare(sd_event_source*, void* self);
  static int onSignal(sd_event_source*, const struct signalfd_siginfo* si, void* self);
  static int onInotify(sd_event_source*, const struct inotify_event*, void* self);
  static int onDeferred(sd_event_source*, void* self);
  void processBus();

  sdbus::IConnection& bus_;
  Callbacks callbacks_;
  sd_event* event_ = nullptr;
  sd_event_source* busIo_ = nullptr;
  sd_event_source* busTime_ = nullptr;
  sd_event_source* deferred_ = nullptr;
  std::vector<sd_event_source*> sources_;
};

}  // namespace binfmtd
