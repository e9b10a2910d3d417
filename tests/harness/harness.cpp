#include "harness/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace harness {

namespace fs = std::filesystem;

bool inCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string(ci) != "false";
}

fs::path foreignBinaries() {
  const char* dir = std::getenv("BINFMTD_FOREIGN_BINARIES");
  return dir != nullptr && *dir != '\0' ? dir : "/var/cache/binfmtd-tests";
}

void writeKernelFile(const std::string& name, const std::string& text) {
  const std::string file = (Daemon::binfmtDir() / name).string();
  int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    int e = errno;
    if (fd >= 0) close(fd);
    throw std::runtime_error("writing '" + text + "' to " + file + " failed: " + std::strerror(e));
  }
  close(fd);
}

void registerEntry(const std::string& line) { writeKernelFile("register", line); }

bool waitFor(const std::function<bool()>& check, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return check();
}

namespace {

std::vector<char*> cStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result run(const std::vector<std::string>& argvIn, const RunOptions& options) {
  std::vector<std::string> argv = argvIn;
  if (!options.asUser.empty()) {
    argv.insert(argv.begin(), {"setpriv", "--reuid=" + options.asUser,
                               "--regid=" + options.asUser, "--clear-groups", "--"});
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), options.env.begin(), options.env.end());

  int out[2], err[2], status[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(status, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Nothing to read: a test run from a terminal must not let a program (binfmtctl's
    // polkit agent, for one) wait for input there.
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    int fail = 0;
    if (!options.chrootDir.empty() && (chroot(options.chrootDir.c_str()) != 0 || chdir("/") != 0))
      fail = errno;
    if (fail == 0) {
      auto cargv = cStrings(argv);
      auto cenv = cStrings(env);
      // execvpe() would retry an ENOEXEC file as a shell script; tests need the errno.
      if (argv[0].find('/') != std::string::npos) {
        execve(cargv[0], cargv.data(), cenv.data());
      } else {
        execvpe(cargv[0], cargv.data(), cenv.data());
      }
      fail = errno;
    }
    (void)!write(status[1], &fail, sizeof fail);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(status[1]);

  Result r;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  int open = 2;
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      r.err += "\n[harness: killed after timeout]";
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  int execErrno = 0;
  if (read(status[0], &execErrno, sizeof execErrno) == sizeof execErrno) r.execErrno = execErrno;
  close(status[0]);
  r.exitCode = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return r;
}

// --- TestBus ---------------------------------------------------------------------

TestBus::TestBus() {
  const fs::path socket = dir_.path / "system_bus_socket";
  const fs::path config = dir_.path / "bus.conf";
  std::string text = readFile(BUS_CONFIG_TEMPLATE);
  auto replace = [&](const std::string& key, const std::string& value) {
    text.replace(text.find(key), key.size(), value);
  };
  replace("@SOCKET@", socket.string());
  replace("@POLICY@", DBUS_POLICY);
  writeFile(config, text);
  int addr[2];
  if (pipe2(addr, 0) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    close(addr[0]);
    std::string printAddress = "--print-address=" + std::to_string(addr[1]);
    std::string configArg = "--config-file=" + config.string();
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);  // "Failed to set fd limit" noise
    execlp("dbus-daemon", "dbus-daemon", configArg.c_str(), "--nofork", printAddress.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  close(addr[1]);
  char buf[512];
  ssize_t n = read(addr[0], buf, sizeof buf - 1);
  close(addr[0]);
  if (n <= 0) throw std::runtime_error("dbus-daemon did not start (is dbus-daemon installed?)");
  address_.assign(buf, static_cast<std::size_t>(n));
  while (!address_.empty() && (address_.back() == '\n')) address_.pop_back();
  setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
}

TestBus::~TestBus() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

// --- Daemon ----------------------------------------------------------------------

Daemon::Daemon(fs::path root) : root_(std::move(root)), logFile_(root_ / "binfmtd.log") {
  fs::create_directories(root_);
}

Daemon::~Daemon() {
  stop();
  // meson keeps a test's output: the daemon's log is what explains a failure.
  std::cerr << "----- binfmtd log (" << logFile_.string() << ") -----\n"
            << log() << "----- end of binfmtd log -----\n";
}

fs::path Daemon::binfmtDir() {
  const char* dir = std::getenv("BINFMTD_TEST_BINFMT_DIR");
  if (dir == nullptr) throw std::runtime_error("BINFMTD_TEST_BINFMT_DIR is not set (run under private-binfmt)");
  return dir;
}

std::vector<std::string> Daemon::arguments() const {
  return {BINFMTD_BIN,
          "--binfmt-dir=" + binfmtDir().string(),
          "--config-dir=" + configDir().string(),
          "--runtime-config-dir=" + runtimeDir().string(),
          "--vendor-config-dir=" + vendorDir().string(),
          "--state-dir=" + runtimeDir().string(),
          "--probe-dir=" PROBE_DIR};
}

void Daemon::start(const std::vector<std::string>& extra) {
  const fs::path notify = root_ / "notify.sock";
  fs::remove(notify);
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa {};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, notify.c_str(), sizeof sa.sun_path - 1);
  if (bind(sock, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0)
    throw std::runtime_error("cannot bind notify socket");

  std::vector<std::string> argv = arguments();
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::string notifyEnv = "NOTIFY_SOCKET=" + notify.string();
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(logFile_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    putenv(notifyEnv.data());
    auto cargv = cStrings(argv);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  // READY=1 is sent after the first reconcile and the bus name: then tests may start.
  std::string received;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (received.find("READY=1") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    struct pollfd p = {sock, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      close(sock);
      throw std::runtime_error("binfmtd did not send READY=1; log:\n" + log());
    }
    char buf[1024];
    ssize_t n = recv(sock, buf, sizeof buf, 0);
    if (n > 0) received.append(buf, static_cast<std::size_t>(n)).append("\n");
  }
  close(sock);
}

void Daemon::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Daemon::log() const { return readFile(logFile_); }

// --- Polkit ----------------------------------------------------------------------

namespace {
constexpr const char* kPolkitd = "/usr/lib/polkit-1/polkitd";
constexpr const char* kPkaction = "/usr/bin/pkaction";
}  // namespace

bool Polkit::available() { return access(kPolkitd, X_OK) == 0 && access(kPkaction, X_OK) == 0; }

Polkit::Polkit(const std::vector<std::string>& rules) {
  // Only inside private-binfmt's mount namespace do the bind mounts stay private.
  if (std::getenv("BINFMTD_TEST_BINFMT_DIR") == nullptr)
    throw std::runtime_error("Polkit needs the private mount namespace of private-binfmt");
  const fs::path actions = dir_.path / "actions", rulesDir = dir_.path / "rules.d";
  const fs::path policy = fs::path(DBUS_POLICY).parent_path() / "org.binfmtd.Binfmt1.policy";
  writeFile(actions / policy.filename(), readFile(policy));
  fs::create_directories(rulesDir);
  for (std::size_t i = 0; i < rules.size(); ++i)
    writeFile(rulesDir / ("50-test-" + std::to_string(i) + ".rules"), rules[i]);
  // polkitd reads them as user polkitd.
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path))
    chmod(entry.path().c_str(), entry.is_directory() ? 0755 : 0644);
  for (const auto& [source, target] :
       {std::pair{actions, fs::path("/usr/share/polkit-1/actions")},
        std::pair{rulesDir, fs::path("/etc/polkit-1/rules.d")}}) {
    if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
      throw std::runtime_error("bind-mounting " + source.string() + " over " + target.string() +
                               " failed: " + std::strerror(errno));
    mounts_.push_back(target);
  }

  const fs::path logFile = dir_.path / "polkitd.log";
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(kPolkitd, kPolkitd, "--no-debug", static_cast<char*>(nullptr));
    _exit(127);
  }
  bool owned = waitFor([&] {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return true;  // exited: the check below fails
    }
    auto r = run({"busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                  "org.freedesktop.DBus", "NameHasOwner", "s", "org.freedesktop.PolicyKit1"});
    return r.out.find("true") != std::string::npos;
  });
  if (!owned || pid_ < 0) throw std::runtime_error("polkitd did not start; log:\n" + log());
}

Polkit::~Polkit() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  std::cerr << "----- polkitd log -----\n" << log() << "----- end of polkitd log -----\n";
}

std::string Polkit::log() const { return readFile(dir_.path / "polkitd.log"); }

Result ctl(const std::vector<std::string>& args, const RunOptions& options) {
  std::vector<std::string> argv{BINFMTCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, options);
}

std::vector<std::string> interfaceMembers(const std::string& xml, const std::string& prefix) {
  // Good enough for introspection data: <interface name="X"> ... </interface> blocks
  // with <method|property|signal name="Y">.
  std::vector<std::string> members;
  std::size_t pos = 0;
  while ((pos = xml.find("<interface name=\"", pos)) != std::string::npos) {
    pos += 17;
    std::string iface = xml.substr(pos, xml.find('"', pos) - pos);
    std::size_t end = xml.find("</interface>", pos);
    if (iface.rfind(prefix, 0) == 0) {
      for (const char* kind : {"method", "property", "signal"}) {
        std::string tag = std::string("<") + kind + " name=\"";
        for (std::size_t p = xml.find(tag, pos); p < end; p = xml.find(tag, p)) {
          p += tag.size();
          members.push_back(iface + "." + kind + ":" + xml.substr(p, xml.find('"', p) - p));
        }
      }
    }
    pos = end;
  }
  std::sort(members.begin(), members.end());
  return members;
}

}  // namespace harness
