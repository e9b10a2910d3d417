// binfmtd-bench: the timing-critical parts of tests/perf/bench.py, in C++ so that what is
// measured is the program under test and not Python. Every subcommand prints one JSON
// object on standard output; times are in microseconds (CLOCK_MONOTONIC).
//
//   binfmtd-bench exec [--log FILE] -- CMD ARGS...
//       Runs CMD once (posix_spawnp + wait4, as hyperfine does), stdout to /dev/null,
//       stderr to FILE (default /dev/null): {"us": T, "cpu_us": C, "status": S}, C being
//       the child's user + system CPU time.
//   binfmtd-bench ready [--log FILE] [--bus-name NAME] -- CMD ARGS...
//       Starts a daemon with NOTIFY_SOCKET set and times exec -> the READY=1 datagram;
//       then stops it with SIGTERM and waits until NAME has left the bus (not timed).
//   binfmtd-bench config-change --binfmt-dir DIR --dropin FILE --rounds N [--pause MS]
//       Writes a drop-in that adds one handler (atomically: temporary file + rename, as an
//       editor or binfmtctl does) and times rename -> the entry in DIR; removes the
//       drop-in and waits until the entry is gone (not timed): {"us": [...]}.
//   binfmtd-bench heal --binfmt-dir DIR NAME...
//       Writes -1 to DIR/status (a foreign flush) and times until every NAME is back.
//   binfmtd-bench dbus-latency --rounds N
//       Ping, ListHandlers and GetAll on the manager, interleaved, one connection:
//       {"ping": [...], "list": [...], "getall": [...]}.
//   binfmtd-bench dbus-load --clients K (--seconds S | --calls N) [--method list|ping|getall]
//       K threads with a connection each, synchronous calls in a loop:
//       {"calls": C, "seconds": T, "per_second": R}.
//   binfmtd-bench wait-name-gone [--bus-name NAME]
//       Waits until NAME (default org.binfmtd.Binfmt1) has no owner on the bus.
// The bus is DBUS_SYSTEM_BUS_ADDRESS, as for binfmtd and binfmtctl.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

constexpr const char* kBusName = "org.binfmtd.Binfmt1";
constexpr const char* kManagerPath = "/org/binfmtd/Binfmt1";
constexpr const char* kManagerInterface = "org.binfmtd.Binfmt1.Manager";

std::uint64_t nowNs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

double usSince(std::uint64_t startNs) { return static_cast<double>(nowNs() - startNs) / 1e3; }

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "binfmtd-bench: %s\n", why.c_str());
  std::exit(1);
}

void check(int r, const std::string& what) {
  if (r < 0) die(what + ": " + std::strerror(-r));
}

std::string jsonArray(const std::vector<double>& values) {
  std::string out = "[";
  char buffer[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, "%s%.1f", i == 0 ? "" : ", ", values[i]);
    out += buffer;
  }
  return out + "]";
}

// Command-line options after the subcommand: --key value pairs, then "--" and a command
// (or bare words).
struct Args {
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> rest;

  Args(int argc, char** argv, int from) {
    int i = from;
    for (; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--") {
        ++i;
        break;
      }
      if (a.rfind("--", 0) != 0) break;
      if (i + 1 >= argc) die("option " + a + " needs a value");
      options.emplace_back(a.substr(2), argv[++i]);
    }
    for (; i < argc; ++i) rest.emplace_back(argv[i]);
  }
  std::string get(const std::string& key, const std::string& fallback = "") const {
    for (const auto& [k, v] : options)
      if (k == key) return v;
    return fallback;
  }
  long number(const std::string& key, long fallback) const {
    const std::string v = get(key);
    return v.empty() ? fallback : std::stol(v);
  }
};

pid_t spawn(const std::vector<std::string>& command, const std::string& log) {
  if (command.empty()) die("no command given");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.empty() ? "/dev/null" : log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int r = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (r != 0) die("cannot run " + command[0] + ": " + std::strerror(r));
  return pid;
}

// Waits for the child; its CPU time (user + system, microseconds) goes to *cpuUs.
int waitStatus(pid_t pid, double* cpuUs = nullptr) {
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0)
    if (errno != EINTR) die(std::string("wait4: ") + std::strerror(errno));
  if (cpuUs != nullptr)
    *cpuUs = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cmdExec(const Args& args) {
  const std::uint64_t start = nowNs();
  const pid_t pid = spawn(args.rest, args.get("log"));
  double cpuUs = 0;
  const int status = waitStatus(pid, &cpuUs);
  const double us = usSince(start);
  std::printf("{\"us\": %.1f, \"cpu_us\": %.1f, \"status\": %d}\n", us, cpuUs, status);
  return 0;
}

sd_bus* openBus() {
  sd_bus* bus = nullptr;
  check(sd_bus_open_system(&bus), "cannot connect to the system bus");
  return bus;
}

bool nameHasOwner(sd_bus* bus, const char* name) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "NameHasOwner", &error, &reply, "s", name);
  sd_bus_error_free(&error);
  int has = 0;
  if (r >= 0) sd_bus_message_read(reply, "b", &has);
  sd_bus_message_unref(reply);
  return r >= 0 && has != 0;
}

// Waits (at most 5 s) until nobody owns NAME on the bus any more.
void waitNameGone(const std::string& name) {
  if (name.empty() || std::getenv("DBUS_SYSTEM_BUS_ADDRESS") == nullptr) return;
  sd_bus* bus = openBus();
  const std::uint64_t deadline = nowNs() + 5000000000u;
  while (nameHasOwner(bus, name.c_str()) && nowNs() < deadline) usleep(1000);
  sd_bus_flush_close_unref(bus);
}

int cmdReady(const Args& args) {
  char dir[] = "/tmp/binfmtd-bench-notify-XXXXXX";
  if (mkdtemp(dir) == nullptr) die("mkdtemp failed");
  const std::string socketPath = std::string(dir) + "/notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket failed");
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socketPath.c_str());
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) < 0)
    die("bind failed");
  setenv("NOTIFY_SOCKET", socketPath.c_str(), 1);

  const std::uint64_t start = nowNs();
  const pid_t pid = spawn(args.rest, args.get("log"));
  double us = -1;
  char buffer[4096];
  for (;;) {
    struct pollfd p {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) break;  // 10 s: the daemon did not get ready
    ssize_t n = recv(fd, buffer, sizeof buffer - 1, 0);
    if (n <= 0) continue;
    buffer[n] = '\0';
    const std::string message = buffer;
    if (message == "READY=1" || message.rfind("READY=1\n", 0) == 0 ||
        message.find("\nREADY=1") != std::string::npos) {
      us = usSince(start);
      break;
    }
  }
  kill(pid, SIGTERM);
  const int status = waitStatus(pid);
  close(fd);
  unlink(socketPath.c_str());
  rmdir(dir);
  waitNameGone(args.get("bus-name", kBusName));  // the next start must find it free
  if (us < 0) die("the daemon sent no READY=1 within 10 s (exit status " +
                  std::to_string(status) + ")");
  std::printf("{\"us\": %.1f, \"status\": %d}\n", us, status);
  return 0;
}

void writeAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("cannot write " + tmp + ": " + std::strerror(errno));
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    die("short write to " + tmp);
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) < 0) die("cannot rename to " + path);
}

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Waits until every path exists (present = true) or none does (present = false), woken
// by the kernel's inotify events on binfmt_misc (writes to `register` and entries) and,
// as a fallback, every millisecond. Returns false after the timeout.
class KernelWatch {
 public:
  explicit KernelWatch(const std::string& dir) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0 || inotify_add_watch(fd_, dir.c_str(), IN_MODIFY | IN_CREATE | IN_DELETE) < 0)
      die("cannot watch " + dir);
  }
  ~KernelWatch() { close(fd_); }
  void drain() {
    alignas(struct inotify_event) char buffer[4096];
    while (read(fd_, buffer, sizeof buffer) > 0) {
    }
  }
  bool waitFor(const std::vector<std::string>& paths, bool present, double timeoutUs) {
    std::set<std::string> pending(paths.begin(), paths.end());
    const std::uint64_t start = nowNs();
    for (;;) {
      for (auto it = pending.begin(); it != pending.end();)
        it = exists(*it) == present ? pending.erase(it) : std::next(it);
      if (pending.empty()) return true;
      if (usSince(start) > timeoutUs) return false;
      struct pollfd p {fd_, POLLIN, 0};
      poll(&p, 1, 1);
      drain();
    }
  }

 private:
  int fd_ = -1;
};

int cmdConfigChange(const Args& args) {
  const std::string dir = args.get("binfmt-dir");
  const std::string dropin = args.get("dropin");
  const long rounds = args.number("rounds", 50);
  const long pauseMs = args.number("pause", 50);
  if (dir.empty() || dropin.empty()) die("config-change needs --binfmt-dir and --dropin");
  KernelWatch watch(dir);
  std::vector<double> times;
  for (long i = 0; i < rounds; ++i) {
    const std::string name = "bench-change-" + std::to_string(i);
    const std::string entry = dir + "/" + name;
    const std::string text = "{\"handlers\": [{\"name\": \"" + name + "\", \"extension\": \"" +
                             name + "\", \"interpreter\": \"/bin/cat\"}]}\n";
    watch.drain();
    const std::uint64_t start = nowNs();
    writeAtomically(dropin, text);
    if (!watch.waitFor({entry}, true, 5e6)) die(name + " did not appear within 5 s");
    times.push_back(usSince(start));
    if (unlink(dropin.c_str()) < 0) die("cannot remove " + dropin);
    if (!watch.waitFor({entry}, false, 5e6)) die(name + " was not removed within 5 s");
    usleep(static_cast<useconds_t>(pauseMs * 1000));
  }
  std::printf("{\"us\": %s}\n", jsonArray(times).c_str());
  return 0;
}

int cmdHeal(const Args& args) {
  const std::string dir = args.get("binfmt-dir");
  if (dir.empty() || args.rest.empty()) die("heal needs --binfmt-dir and entry names");
  std::vector<std::string> paths;
  for (const auto& n : args.rest) paths.push_back(dir + "/" + n);
  KernelWatch watch(dir);
  int fd = open((dir + "/status").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open " + dir + "/status");
  watch.drain();
  const std::uint64_t start = nowNs();
  if (write(fd, "-1", 2) != 2) die("cannot flush " + dir);
  close(fd);
  if (!watch.waitFor(paths, true, 10e6)) die("the entries did not come back within 10 s");
  std::printf("{\"us\": %.1f}\n", usSince(start));
  return 0;
}

// One synchronous call; false when it failed.
bool call(sd_bus* bus, const std::string& method) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r;
  if (method == "ping") {
    r = sd_bus_call_method(bus, kBusName, kManagerPath, "org.freedesktop.DBus.Peer", "Ping",
                           &error, &reply, "");
  } else if (method == "list") {
    r = sd_bus_call_method(bus, kBusName, kManagerPath, kManagerInterface, "ListHandlers",
                           &error, &reply, "");
  } else if (method == "getall") {
    r = sd_bus_call_method(bus, kBusName, kManagerPath, "org.freedesktop.DBus.Properties",
                           "GetAll", &error, &reply, "s", kManagerInterface);
  } else {
    die("unknown method " + method);
  }
  if (r < 0) {
    std::fprintf(stderr, "binfmtd-bench: %s: %s\n", method.c_str(),
                 error.message != nullptr ? error.message : std::strerror(-r));
  }
  sd_bus_error_free(&error);
  sd_bus_message_unref(reply);
  return r >= 0;
}

int cmdDbusLatency(const Args& args) {
  const long rounds = args.number("rounds", 1000);
  sd_bus* bus = openBus();
  const std::vector<std::string> methods{"ping", "list", "getall"};
  for (int warm = 0; warm < 50; ++warm)
    for (const auto& m : methods) call(bus, m);
  std::vector<std::vector<double>> times(methods.size());
  for (long i = 0; i < rounds; ++i) {
    for (std::size_t m = 0; m < methods.size(); ++m) {
      const std::uint64_t start = nowNs();
      if (!call(bus, methods[m])) die("the call failed");
      times[m].push_back(usSince(start));
    }
  }
  sd_bus_flush_close_unref(bus);
  std::printf("{\"ping\": %s, \"list\": %s, \"getall\": %s}\n", jsonArray(times[0]).c_str(),
              jsonArray(times[1]).c_str(), jsonArray(times[2]).c_str());
  return 0;
}

int cmdDbusLoad(const Args& args) {
  const long clients = args.number("clients", 1);
  const double seconds = static_cast<double>(args.number("seconds", 0));
  const long totalCalls = args.number("calls", 0);
  const std::string method = args.get("method", "list");
  if ((seconds <= 0) == (totalCalls <= 0)) die("dbus-load needs --seconds or --calls");
  std::vector<sd_bus*> buses;
  for (long i = 0; i < clients; ++i) buses.push_back(openBus());
  for (auto* b : buses) call(b, "ping");  // connected and the daemon reached
  std::atomic<long> issued{0};
  std::atomic<long> done{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> go{false};
  const std::uint64_t durationNs = static_cast<std::uint64_t>(seconds * 1e9);
  std::uint64_t start = 0;
  std::vector<std::thread> threads;
  for (long i = 0; i < clients; ++i) {
    threads.emplace_back([&, bus = buses[static_cast<std::size_t>(i)]] {
      while (!go.load()) std::this_thread::yield();
      for (;;) {
        if (totalCalls > 0) {
          if (issued.fetch_add(1) >= totalCalls) break;
        } else if (nowNs() - start >= durationNs) {
          break;
        }
        if (!call(bus, method)) {
          failed = true;
          break;
        }
        ++done;
      }
    });
  }
  start = nowNs();
  go = true;
  for (auto& t : threads) t.join();
  const double elapsed = static_cast<double>(nowNs() - start) / 1e9;
  for (auto* b : buses) sd_bus_flush_close_unref(b);
  if (failed) die("calls failed");
  std::printf("{\"calls\": %ld, \"seconds\": %.3f, \"per_second\": %.1f}\n", done.load(), elapsed,
              static_cast<double>(done.load()) / elapsed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: binfmtd-bench exec|ready|config-change|heal|dbus-latency|dbus-load ...");
  signal(SIGPIPE, SIG_IGN);
  const std::string command = argv[1];
  const Args args(argc, argv, 2);
  if (command == "exec") return cmdExec(args);
  if (command == "ready") return cmdReady(args);
  if (command == "config-change") return cmdConfigChange(args);
  if (command == "heal") return cmdHeal(args);
  if (command == "dbus-latency") return cmdDbusLatency(args);
  if (command == "dbus-load") return cmdDbusLoad(args);
  if (command == "wait-name-gone") {
    waitNameGone(args.get("bus-name", kBusName));
    return 0;
  }
  die("unknown subcommand " + command);
}
