#include "verify/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace binfmtd::verify {

namespace {

// What is kept of a child's stdout and stderr: a version line, an error message. The
// pipe holds 64 KiB; a child that writes more blocks and meets its timeout.
constexpr std::size_t kMaxOutput = 4096;

std::uint64_t monotonicNow() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kUsecPerSec +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

struct Pipe {
  int read = -1;
  int write = -1;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  void closeWrite() {
    if (write >= 0) ::close(write);
    write = -1;
  }
  void closeAll() {
    closeWrite();
    if (read >= 0) ::close(read);
    read = -1;
  }
  // What is in the pipe now; the child has exited, so nothing more is coming that
  // matters (a grandchild holding it open is not waited for).
  std::string drain() const {
    std::string out;
    char buffer[1024];
    while (read >= 0 && out.size() < kMaxOutput) {
      const ssize_t n = ::read(read, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    if (out.size() > kMaxOutput) out.resize(kMaxOutput);
    return out;
  }
};

}  // namespace

struct Spawner::Child {
  Spawner* owner = nullptr;
  Done done;
  pid_t pid = -1;
  std::uint64_t startedAt = 0;
  bool timedOut = false;
  int spawnError = 0;
  Pipe out, err;
  sd_event_source* exitSource = nullptr;
  sd_event_source* timer = nullptr;
  sd_event_source* failed = nullptr;  // defer source reporting a spawn error

  ~Child() {
    sd_event_source_unref(exitSource);
    sd_event_source_unref(timer);
    sd_event_source_unref(failed);
    out.closeAll();
    err.closeAll();
  }
};

Spawner::Spawner(sd_event* event, unsigned maxRunning)
    : event_(sd_event_ref(event)), maxRunning_(maxRunning == 0 ? 1 : maxRunning) {}

Spawner::~Spawner() {
  for (auto& [raw, child] : running_)
    if (child->pid > 0) ::kill(-child->pid, SIGKILL);
  running_.clear();
  sd_event_unref(event_);
}

void Spawner::run(Request request, Done done) {
  queue_.emplace_back(std::move(request), std::move(done));
  startQueued();
}

void Spawner::startQueued() {
  while (running_.size() < maxRunning_ && !queue_.empty()) {
    auto [request, done] = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(request), std::move(done));
  }
}

void Spawner::start(Request request, Done done) {
  auto child = std::make_unique<Child>();
  child->owner = this;
  child->done = std::move(done);
  Child* raw = child.get();
  running_.emplace(raw, std::move(child));

  int r = 0;
  if (!raw->err.open() || (request.captureStdout && !raw->out.open())) r = errno;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (request.captureStdout)
    posix_spawn_file_actions_adddup2(&actions, raw->out.write, 1);
  else
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, raw->err.write, 2);
  // Nothing of the daemon's (the bus socket, binfmt_misc, inotify) leaks into the child.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // The daemon blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP for sd-event; the mask and
  // ignored signals would otherwise be inherited, and QEMU relies on its signals.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  // A group of its own, so that the timeout kills whatever the child started too.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);

  std::vector<char*> argv;
  for (auto& a : request.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  raw->startedAt = monotonicNow();
  if (r == 0 && !request.argv.empty())
    r = posix_spawn(&raw->pid, argv[0], &actions, &attr, argv.data(), envp);
  else if (r == 0)
    r = EINVAL;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  raw->out.closeWrite();
  raw->err.closeWrite();
  ++started_;

  if (r == 0) {
    r = -sd_event_add_child(event_, &raw->exitSource, raw->pid, WEXITED, &Spawner::onExit, raw);
    if (r != 0) {
      // Cannot be reaped from the loop (SIGCHLD not blocked, out of memory): a child just
      // killed is reaped at once instead, and the run reported as not started.
      ::kill(-raw->pid, SIGKILL);
      ::waitpid(raw->pid, nullptr, 0);
    }
  }
  if (r != 0) {
    // glibc reports the execve(2) error here: ENOEXEC when no binfmt_misc entry took the
    // probe. Told from the loop, like every other end.
    raw->pid = -1;
    raw->spawnError = r;
    if (sd_event_add_defer(event_, &raw->failed, &Spawner::onSpawnFailed, raw) < 0)
      throw std::runtime_error("sd_event_add_defer failed");
    return;
  }
  if (sd_event_add_time_relative(event_, &raw->timer, CLOCK_MONOTONIC, request.timeout, 0,
                                 &Spawner::onTimeout, raw) < 0) {
    // Without a timer nothing would end a probe that hangs: it does not get to run.
    raw->timedOut = true;
    ::kill(-raw->pid, SIGKILL);
  }
}

int Spawner::onSpawnFailed(sd_event_source*, void* data) {
  auto* child = static_cast<Child*>(data);
  Outcome outcome;
  outcome.kind = Outcome::Kind::SpawnFailed;
  outcome.value = child->spawnError;
  outcome.elapsed = monotonicNow() - child->startedAt;
  child->owner->finish(child, std::move(outcome));
  return 0;
}

int Spawner::onTimeout(sd_event_source*, uint64_t, void* data) {
  auto* child = static_cast<Child*>(data);
  child->timedOut = true;
  ::kill(-child->pid, SIGKILL);  // its exit is reaped by onExit
  return 0;
}

int Spawner::onExit(sd_event_source*, const siginfo_t* si, void* data) {
  auto* child = static_cast<Child*>(data);
  Outcome outcome;
  outcome.elapsed = monotonicNow() - child->startedAt;
  if (child->timedOut) {
    outcome.kind = Outcome::Kind::TimedOut;
  } else if (si->si_code == CLD_EXITED) {
    outcome.kind = Outcome::Kind::Exited;
    outcome.value = si->si_status;
  } else {
    outcome.kind = Outcome::Kind::Signaled;
    outcome.value = si->si_status;
  }
  // sd-event reaps the child once this returns; its group may live on (a daemon it
  // started): nothing of a probe's should.
  ::kill(-child->pid, SIGKILL);
  child->owner->finish(child, std::move(outcome));
  return 0;
}

void Spawner::finish(Child* raw, Outcome outcome) {
  auto node = running_.extract(raw);
  std::unique_ptr<Child> child = std::move(node.mapped());
  outcome.stderrText = child->err.drain();
  Result result{std::move(outcome), child->out.drain()};
  Done done = std::move(child->done);
  // The child's sources are unreferenced here, while one of them is being dispatched:
  // sd-event defers freeing it (and reaping) until the dispatch returns.
  child.reset();
  startQueued();
  if (done) done(result);
}

}  // namespace binfmtd::verify
