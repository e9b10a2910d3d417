#include "event_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "log.hpp"

namespace binfmtd {

namespace {

void check(int r, const char* what) {
  if (r < 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(-r));
}

// A foreign tool registers its entries with one write each; waiting this long after the
// first one lets a burst finish before binfmtd looks (and it is far below the healing
// promise of one second).
constexpr std::uint64_t kKernelDebounceUsec = 20000;

// D-Bus messages handled per wakeup of the loop.
constexpr int kBusBatch = 64;

}  // namespace

EventLoop::EventLoop(Callbacks callbacks) : callbacks_(std::move(callbacks)) {
  check(sd_event_default(&event_), "sd_event_default");

  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    sd_event_source* s = nullptr;
    check(sd_event_add_signal(event_, &s, sig, &EventLoop::onSignal, this), "sd_event_add_signal");
    sources_.push_back(s);
  }

  check(sd_event_add_defer(event_, &deferred_, &EventLoop::onDeferred, this), "sd_event_add_defer");
  sd_event_source_set_enabled(deferred_, SD_EVENT_OFF);
  check(sd_event_add_time(event_, &checkTimer_, CLOCK_MONOTONIC, UINT64_MAX, 0,
                          &EventLoop::onCheckTimer, this),
        "sd_event_add_time");
  sd_event_source_set_enabled(checkTimer_, SD_EVENT_OFF);
  // sd-event's default accuracy (250 ms) would swallow the 20 ms debounce; 1 ms still
  // lets the kernel coalesce the periodic check with other wakeups.
  check(sd_event_source_set_time_accuracy(checkTimer_, 1000), "set_time_accuracy");
}

EventLoop::~EventLoop() {
  for (auto* s : sources_) sd_event_source_unref(s);
  sd_event_source_unref(checkTimer_);
  if (kernelInotify_ >= 0) ::close(kernelInotify_);
  if (mountinfo_ >= 0) ::close(mountinfo_);
  sd_event_source_unref(deferred_);
  sd_event_source_unref(busTime_);
  sd_event_source_unref(busIo_);
  sd_event_unref(event_);
}

void EventLoop::attachBus(sdbus::IConnection& bus) {
  if (bus_ != nullptr) throw std::logic_error("EventLoop::attachBus: a bus is attached already");
  bus_ = &bus;
  // sdbus-c++ 1.2 exposes its connection as poll data (fd, events, timeout) that must be
  // refreshed before every wait: the prepare callback does that.
  auto poll = bus_->getEventLoopPollData();
  check(sd_event_add_io(event_, &busIo_, poll.fd, poll.events, &EventLoop::onBusIo, this),
        "sd_event_add_io");
  check(sd_event_add_time(event_, &busTime_, CLOCK_MONOTONIC, UINT64_MAX, 0,
                          &EventLoop::onBusTime, this),
        "sd_event_add_time");
  check(sd_event_source_set_prepare(busIo_, &EventLoop::onBusPrepare), "set_prepare");
}

void EventLoop::watch(const std::filesystem::path& dir) {
  sd_event_source* s = nullptr;
  int r = sd_event_add_inotify(event_, &s, dir.c_str(),
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                   IN_DELETE | IN_ONLYDIR,
                               &EventLoop::onInotify, this);
  if (r < 0) {
    log::info("Not watching " + dir.string() + ": " + std::strerror(-r));
    return;
  }
  // Before the deferred reconcile (and D-Bus calls): every event already queued (a drop-in
  // written through a temporary file is three or four) is taken in first, so that one
  // change is one reconcile, while the reconcile still takes its turn with the bus.
  sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
  sources_.push_back(s);
}

void EventLoop::watchKernel(const std::filesystem::path& dir) {
  kernelDir_ = dir;
  kernelInotify_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (kernelInotify_ < 0) throw std::runtime_error(std::string("inotify_init1: ") + strerror(errno));
  sd_event_source* s = nullptr;
  check(sd_event_add_io(event_, &s, kernelInotify_, EPOLLIN, &EventLoop::onKernelWrite, this),
        "sd_event_add_io");
  // Kernel events go before D-Bus calls that are ready at the same time, so that
  // kernelGeneration() never misses one that the wait has already taken in.
  sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
  sources_.push_back(s);
  // The kernel flags /proc/self/mountinfo with POLLPRI whenever the mount table changes:
  // how an unmount (which on Linux >= 6.7 destroys every entry) and a remount are seen.
  mountinfo_ = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (mountinfo_ < 0) throw std::runtime_error(std::string("/proc/self/mountinfo: ") + strerror(errno));
  check(sd_event_add_io(event_, &s, mountinfo_, EPOLLPRI, &EventLoop::onMountChange, this),
        "sd_event_add_io");
  sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
  sources_.push_back(s);
  rewatchKernel();
}

void EventLoop::rewatchKernel() {
  // Writes to entries and to `register` and `status` show up as IN_MODIFY, removals as
  // IN_DELETE; reads (ours, every check) make no event. A new mount is a new directory:
  // adding the watch again moves it there (the old one ends with the old superblock).
  kernelWatched_ = inotify_add_watch(kernelInotify_, kernelDir_.c_str(),
                                     IN_MODIFY | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                                         IN_ONLYDIR) >= 0;
  if (!kernelWatched_)
    log::warning("Not watching " + kernelDir_.string() + ": " + std::strerror(errno) +
                 "; changes by other programs are found by the periodic check only");
}

std::uint64_t EventLoop::now() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

void EventLoop::checkAt(std::uint64_t when) {
  if (checkDue_ != 0 && checkDue_ <= when) return;
  checkDue_ = when;
  sd_event_source_set_time(checkTimer_, when);
  sd_event_source_set_enabled(checkTimer_, SD_EVENT_ONESHOT);
}

bool EventLoop::drain(int inotifyFd) {
  alignas(struct inotify_event) char buffer[4096];
  bool any = false;
  while (::read(inotifyFd, buffer, sizeof buffer) > 0) any = true;
  return any;
}

void EventLoop::kernelChanged() {
  ++kernelGeneration_;
  checkAt(now() + kKernelDebounceUsec);
}

std::uint64_t EventLoop::kernelGeneration() {
  if (kernelInotify_ < 0 || !kernelWatched_) return ++kernelGeneration_;  // blind: always changed
  // Both events are queued by the kernel within the write or mount itself.
  if (drain(kernelInotify_)) kernelChanged();
  struct pollfd mounts {mountinfo_, POLLPRI, 0};
  // Polling mountinfo consumes its event, so do here what onMountChange would.
  if (::poll(&mounts, 1, 0) > 0 && (mounts.revents & POLLPRI) != 0) {
    rewatchKernel();
    kernelChanged();
  }
  return kernelGeneration_;
}

int EventLoop::onKernelWrite(sd_event_source*, int fd, uint32_t, void* data) {
  auto* self = static_cast<EventLoop*>(data);
  if (drain(fd)) self->kernelChanged();
  return 0;
}

int EventLoop::onMountChange(sd_event_source*, int, uint32_t, void* data) {
  auto* self = static_cast<EventLoop*>(data);
  self->rewatchKernel();
  self->kernelChanged();
  return 0;
}

int EventLoop::onCheckTimer(sd_event_source*, uint64_t, void* data) {
  auto* self = static_cast<EventLoop*>(data);
  self->checkDue_ = 0;
  if (self->callbacks_.checkKernel) self->callbacks_.checkKernel();
  return 0;
}

int EventLoop::run() { return sd_event_loop(event_); }

void EventLoop::processBus() {
  // A bounded batch: under a flood of calls the bus never runs dry, and draining it would
  // starve the other sources (healing, configuration changes, signals). What is left
  // keeps the bus source ready, and sd-event takes it again after the others.
  for (int i = 0; i < kBusBatch && bus_->processPendingRequest(); ++i) {
  }
}

int EventLoop::onBusIo(sd_event_source*, int, uint32_t, void* self) {
  static_cast<EventLoop*>(self)->processBus();
  return 0;
}

int EventLoop::onBusTime(sd_event_source*, uint64_t, void* self) {
  static_cast<EventLoop*>(self)->processBus();
  return 0;
}

int EventLoop::onBusPrepare(sd_event_source*, void* data) {
  auto* self = static_cast<EventLoop*>(data);
  auto poll = self->bus_->getEventLoopPollData();
  sd_event_source_set_io_events(self->busIo_, poll.events);
  sd_event_source_set_time(self->busTime_, poll.timeout_usec);
  sd_event_source_set_enabled(self->busTime_, SD_EVENT_ONESHOT);
  return 0;
}

int EventLoop::onSignal(sd_event_source* s, const struct signalfd_siginfo* si, void* data) {
  auto* self = static_cast<EventLoop*>(data);
  if (si->ssi_signo == SIGHUP) {
    if (self->callbacks_.reload) self->callbacks_.reload();
    return 0;
  }
  log::info(std::string("Received ") + strsignal(static_cast<int>(si->ssi_signo)) +
            ", exiting");
  return sd_event_exit(sd_event_source_get_event(s), 0);
}

int EventLoop::onInotify(sd_event_source*, const struct inotify_event*, void* data) {
  // Editors and binfmtctl write several events per change; one reconcile per loop
  // iteration is enough, after every event of this batch has been seen.
  sd_event_source_set_enabled(static_cast<EventLoop*>(data)->deferred_, SD_EVENT_ONESHOT);
  return 0;
}

int EventLoop::onDeferred(sd_event_source*, void* data) {
  auto* self = static_cast<EventLoop*>(data);
  if (self->callbacks_.configChanged) self->callbacks_.configChanged();
  return 0;
}

}  // namespace binfmtd
